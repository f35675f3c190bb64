//! Fixed-window rate limits kept in the cache, so every instance sharing a
//! Redis counts together (with the memory cache, each process counts
//! alone).
//!
//! A limit is `N/period`; the window is the current period-aligned slice of
//! time, and the key names the window, so counters expire by themselves.
//! When the cache is down the limit is not enforced (logged as a warning):
//! an outage of an accelerator should not lock every user out.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::cache::Cache;
use crate::settings::Rate;

/// A named limit on a cache.
#[derive(Debug, Clone)]
pub struct Throttle {
    cache: Cache,
    name: &'static str,
    rate: Rate,
}

/// Seconds until the current window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Throttle {
    pub fn new(cache: Cache, name: &'static str, rate: Rate) -> Self {
        Self { cache, name, rate }
    }

    fn window(&self) -> (u64, u64) {
        let period = self.rate.period.as_secs().max(1);
        let now = now_secs();
        (now / period, period - now % period)
    }

    fn key(&self, subject: &str, window: u64) -> String {
        format!("throttle:{}:{subject}:{window}", self.name)
    }

    /// `Err` when `subject` has used up its allowance in this window.
    pub async fn check(&self, subject: &str) -> Result<(), RetryAfter> {
        let (window, left) = self.window();
        match self.cache.get(&self.key(subject, window)).await {
            Ok(Some(bytes)) => {
                let count: u64 = std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if count >= u64::from(self.rate.count) {
                    return Err(RetryAfter(left));
                }
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(err) => {
                tracing::warn!(throttle = self.name, error = %err, "rate limit not enforced: cache unavailable");
                Ok(())
            }
        }
    }

    /// Counts one event for `subject`; `Err` when that used up the allowance.
    pub async fn hit(&self, subject: &str) -> Result<(), RetryAfter> {
        let (window, left) = self.window();
        let ttl = std::time::Duration::from_secs(left + 1);
        match self.cache.incr(&self.key(subject, window), ttl).await {
            Ok(count) if count > u64::from(self.rate.count) => Err(RetryAfter(left)),
            Ok(_) => Ok(()),
            Err(err) => {
                tracing::warn!(throttle = self.name, error = %err, "rate limit not counted: cache unavailable");
                Ok(())
            }
        }
    }

    /// Forgets `subject`'s count in this window (after a successful login).
    pub async fn reset(&self, subject: &str) {
        let (window, _) = self.window();
        let _ = self.cache.delete(&self.key(subject, window)).await;
    }
}
