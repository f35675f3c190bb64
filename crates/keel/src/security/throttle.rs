//! Fixed-window rate limits kept in the cache, so every instance sharing a
//! Redis counts together (with the memory cache, each process counts
//! alone).
//!
//! A limit is `N/period`; the window is the current period-aligned slice of
//! time, and the key names the window, so counters expire by themselves.
//!
//! An attempt is counted *before* the work it guards, atomically
//! ([`Throttle::hit`]): a burst of concurrent attempts cannot all read "under
//! the limit" and then all go ahead, and an attempt over the limit costs
//! nothing (no password hash). When the cache is down the counting falls
//! back to this process's own counters, so an outage neither locks users
//! out nor lifts the limits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cache::Cache;
use crate::settings::Rate;

/// Subjects counted in this process while the cache is down, at most.
const FALLBACK_CAPACITY: u64 = 100_000;

/// A named limit on a cache.
#[derive(Clone)]
pub struct Throttle {
    cache: Cache,
    name: &'static str,
    rate: Rate,
    /// This process's counters, used while the cache is unavailable.
    fallback: moka::sync::Cache<String, Arc<AtomicU64>>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("name", &self.name)
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

/// Seconds until the current window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Throttle {
    pub fn new(cache: Cache, name: &'static str, rate: Rate) -> Self {
        let fallback = moka::sync::Cache::builder()
            .max_capacity(FALLBACK_CAPACITY)
            .time_to_live(rate.period.max(Duration::from_secs(1)))
            .build();
        Self {
            cache,
            name,
            rate,
            fallback,
        }
    }

    fn window(&self) -> (u64, u64) {
        let period = self.rate.period.as_secs().max(1);
        let now = now_secs();
        (now / period, period - now % period)
    }

    fn key(&self, subject: &str, window: u64) -> String {
        format!("throttle:{}:{subject}:{window}", self.name)
    }

    /// Counts one attempt by `subject`, then judges it: `Err` when this
    /// attempt is over the allowance of the current window (the caller
    /// must refuse it before doing the work).
    pub async fn hit(&self, subject: &str) -> Result<(), RetryAfter> {
        let (window, left) = self.window();
        let key = self.key(subject, window);
        let ttl = Duration::from_secs(left + 1);
        let count = match self.cache.incr(&key, ttl).await {
            Ok(count) => count,
            Err(err) => {
                if !err.is_outage() {
                    tracing::warn!(throttle = self.name, error = %err, "rate limit counted locally");
                }
                let counter = self.fallback.get_with(key, || Arc::new(AtomicU64::new(0)));
                counter.fetch_add(1, Ordering::AcqRel) + 1
            }
        };
        if count > u64::from(self.rate.count) {
            return Err(RetryAfter(left));
        }
        Ok(())
    }

    /// Takes back one attempt counted by [`hit`](Self::hit) (a login that
    /// turned out to be right does not count against its address).
    pub async fn undo(&self, subject: &str) {
        let (window, _) = self.window();
        let key = self.key(subject, window);
        if self.cache.decr(&key).await.is_err() {
            if let Some(counter) = self.fallback.get(&key) {
                let _ = counter.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
            }
        }
    }

    /// Forgets `subject`'s count in this window (after a successful login).
    pub async fn reset(&self, subject: &str) {
        let (window, _) = self.window();
        let key = self.key(subject, window);
        self.fallback.invalidate(&key);
        let _ = self.cache.delete(&key).await;
    }
}
