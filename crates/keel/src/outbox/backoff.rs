//! When a failed message is tried again: exponential backoff with full
//! jitter (a uniform pick between zero and `base × 2^(attempt-1)`, capped),
//! so receivers coming back from an outage are not hit by every instance's
//! retries at the same moment.

use std::time::Duration;

use rand::Rng;

/// The retry schedule of the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's delay.
    pub base: Duration,
    /// No delay is longer than this.
    pub cap: Duration,
}

impl Default for Backoff {
    /// 30 s doubling to 1 h: with the default eight attempts a message
    /// rides out roughly an hour of receiver downtime before it is dead.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(30),
            cap: Duration::from_secs(3600),
        }
    }
}

impl Backoff {
    /// The ceiling of the delay after the `attempt`-th failure (from 1).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        self.base.saturating_mul(1u32 << doublings).min(self.cap)
    }

    /// The delay after the `attempt`-th failure: uniform in
    /// `0..=ceiling(attempt)`.
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = u64::try_from(self.ceiling(attempt).as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rng.gen_range(0..=ceiling))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_per_attempt_up_to_the_cap() {
        let backoff = Backoff::default();
        let ceilings: Vec<u64> = (1..=9).map(|a| backoff.ceiling(a).as_secs()).collect();
        assert_eq!(ceilings, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff.ceiling(u32::MAX), backoff.cap, "no overflow on huge attempts");
        assert_eq!(backoff.ceiling(0), backoff.base);
    }

    #[test]
    fn delays_are_jittered_within_the_ceiling() {
        let backoff = Backoff::default();
        let mut rng = rand::thread_rng();
        for attempt in 1..=10 {
            let delays: Vec<Duration> = (0..200).map(|_| backoff.delay(attempt, &mut rng)).collect();
            assert!(
                delays.iter().all(|d| *d <= backoff.ceiling(attempt)),
                "attempt {attempt}"
            );
            let first = delays[0];
            assert!(delays.iter().any(|d| *d != first), "attempt {attempt} is randomized");
        }
    }
}
