//! The circuit breaker in front of Redis: the cache is an accelerator, so an
//! outage must cost one failed call, not one per request.
//!
//! - **Closed** (normal): every call goes to Redis.
//! - **Open**: the first failure (refused, timed out, broken) opens it, with
//!   one warning. Calls then fail at once with [`CacheError::Skipped`]
//!   (callers treat that as a miss and go to the database) and one probe a
//!   second pings Redis in the background.
//! - It closes when a probe succeeds and the minimum open time has passed,
//!   with one log line. The minimum grows (1 s, 2 s, 4 s … 30 s) when the
//!   cache trips again soon after it came back, so a flapping Redis is not
//!   retried on every request.
//!
//! Deletes that failed while Redis was away are remembered (up to
//! [`MAX_MISSED_DELETES`]) and replayed before the breaker closes, so an
//! entry invalidated during the outage is not served once Redis is back.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::redis_backend::RedisCache;
use super::CacheError;

/// How often the background probe pings Redis while the breaker is open.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// The shortest time the breaker stays open; doubled per recent trip.
const MIN_OPEN: Duration = Duration::from_secs(1);
const MAX_OPEN: Duration = Duration::from_secs(30);
/// A trip this long after the last recovery starts the growth over.
const CALM_AFTER: Duration = Duration::from_secs(60);
/// Keys whose delete failed during an outage, replayed on recovery.
pub(super) const MAX_MISSED_DELETES: usize = 10_000;

#[derive(Default)]
struct State {
    /// Trips in a row, each within `CALM_AFTER` of the last recovery.
    trips: u32,
    opened_at: Option<Instant>,
    closed_at: Option<Instant>,
    missed_deletes: HashSet<String>,
    missed_overflow: bool,
}

/// Redis behind the breaker.
pub(super) struct GuardedRedis {
    redis: RedisCache,
    open: AtomicBool,
    state: Mutex<State>,
}

impl GuardedRedis {
    pub(super) fn new(redis: RedisCache) -> Arc<Self> {
        Arc::new(Self {
            redis,
            open: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        })
    }

    pub(super) fn redis(&self) -> &RedisCache {
        &self.redis
    }

    pub(super) fn is_open(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain data behind.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `op` unless the breaker is open; a failure opens it.
    pub(super) async fn call<T>(
        self: &Arc<Self>,
        op: impl std::future::Future<Output = Result<T, CacheError>>,
    ) -> Result<T, CacheError> {
        if self.is_open() {
            return Err(CacheError::Skipped);
        }
        let result = op.await;
        if let Err(CacheError::Unavailable(reason)) = &result {
            self.trip(reason);
        }
        result
    }

    /// Remembers a key whose delete could not reach Redis.
    pub(super) fn missed_delete(&self, key: String) {
        let mut state = self.state();
        if state.missed_deletes.len() < MAX_MISSED_DELETES {
            state.missed_deletes.insert(key);
        } else {
            state.missed_overflow = true;
        }
    }

    fn trip(self: &Arc<Self>, reason: &str) {
        if self.open.swap(true, Ordering::AcqRel) {
            return;
        }
        let min_open = {
            let mut state = self.state();
            let recent = state.closed_at.is_some_and(|at| at.elapsed() < CALM_AFTER);
            state.trips = if recent { state.trips.saturating_add(1) } else { 0 };
            state.opened_at = Some(Instant::now());
            MIN_OPEN.saturating_mul(1 << state.trips.min(5)).min(MAX_OPEN)
        };
        tracing::warn!(
            error = %reason,
            retry_after_ms = min_open.as_millis() as u64,
            "cache unavailable: skipping it (requests go to the database) until it answers again"
        );
        let guarded = self.clone();
        tokio::spawn(async move { guarded.probe_until_back(min_open).await });
    }

    async fn probe_until_back(self: Arc<Self>, min_open: Duration) {
        let opened = Instant::now();
        loop {
            tokio::time::sleep(PROBE_INTERVAL).await;
            if opened.elapsed() < min_open || self.redis.ping().await.is_err() {
                continue;
            }
            if self.replay_missed_deletes().await {
                break;
            }
        }
        let mut state = self.state();
        state.closed_at = Some(Instant::now());
        let down_ms = state.opened_at.map_or(0, |at| at.elapsed().as_millis() as u64);
        drop(state);
        self.open.store(false, Ordering::Release);
        tracing::warn!(down_ms, "cache is back: using it again");
    }

    /// Deletes what could not be deleted during the outage; `false` when
    /// Redis failed again on the way.
    async fn replay_missed_deletes(&self) -> bool {
        let (keys, overflow) = {
            let mut state = self.state();
            (
                std::mem::take(&mut state.missed_deletes),
                std::mem::take(&mut state.missed_overflow),
            )
        };
        if overflow {
            tracing::warn!(
                keys.max = MAX_MISSED_DELETES,
                "more cache deletes failed during the outage than were kept; \
                 some cached entries may be stale until they expire"
            );
        }
        for (i, key) in keys.iter().enumerate() {
            if self.redis.delete(key).await.is_err() {
                for key in keys.into_iter().skip(i) {
                    self.missed_delete(key);
                }
                return false;
            }
        }
        true
    }
}
