//! The gate every report passes: at most one per fingerprint per interval,
//! the next one counting those held back, so an outage cannot flood the
//! inbox or the outbox.
//!
//! Memory is bounded: at most [`MAX_FINGERPRINTS`] are remembered; when
//! the table is full, entries whose interval has passed are forgotten, and
//! if none has, the new report is held back and counted as overflow.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Fingerprints remembered at once.
pub const MAX_FINGERPRINTS: usize = 1024;

/// What to do with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send it, saying how many like it were held back since the last one.
    Send { suppressed: u64 },
    /// Hold it back (counted for the next one).
    Suppress,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    sent_at: Instant,
    suppressed: u64,
}

#[derive(Debug)]
pub struct Gate {
    interval: Duration,
    slots: HashMap<u64, Slot>,
    /// Reports held back because the table was full.
    pub overflow: u64,
}

impl Gate {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            slots: HashMap::new(),
            overflow: 0,
        }
    }

    /// Decides for one report of `fingerprint` at `now`.
    pub fn admit(&mut self, fingerprint: u64, now: Instant) -> Decision {
        if let Some(slot) = self.slots.get_mut(&fingerprint) {
            if now.saturating_duration_since(slot.sent_at) < self.interval {
                slot.suppressed += 1;
                return Decision::Suppress;
            }
            let suppressed = slot.suppressed;
            *slot = Slot {
                sent_at: now,
                suppressed: 0,
            };
            return Decision::Send { suppressed };
        }
        if self.slots.len() >= MAX_FINGERPRINTS {
            let interval = self.interval;
            self.slots
                .retain(|_, slot| now.saturating_duration_since(slot.sent_at) < interval);
            if self.slots.len() >= MAX_FINGERPRINTS {
                self.overflow += 1;
                return Decision::Suppress;
            }
        }
        self.slots.insert(
            fingerprint,
            Slot {
                sent_at: now,
                suppressed: 0,
            },
        );
        Decision::Send { suppressed: 0 }
    }

    /// A report that was let through could not be sent: the next one of
    /// its fingerprint goes out, counting this one and those before it.
    pub fn failed(&mut self, fingerprint: u64, suppressed: u64) {
        // Kept as a slot whose interval has passed, so the count is carried.
        match Instant::now().checked_sub(self.interval) {
            Some(past) => {
                let slot = Slot {
                    sent_at: past,
                    suppressed: suppressed + 1,
                };
                self.slots.insert(fingerprint, slot);
            }
            None => {
                self.slots.remove(&fingerprint);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN_MINUTES: Duration = Duration::from_secs(600);

    #[test]
    fn one_report_per_interval_and_the_next_counts_the_rest() {
        let mut gate = Gate::new(TEN_MINUTES);
        let start = Instant::now();
        assert_eq!(gate.admit(7, start), Decision::Send { suppressed: 0 });
        for minute in 1..10 {
            let at = start + Duration::from_secs(minute * 60);
            assert_eq!(gate.admit(7, at), Decision::Suppress, "minute {minute}");
        }
        assert_eq!(
            gate.admit(8, start),
            Decision::Send { suppressed: 0 },
            "another fingerprint is apart"
        );
        assert_eq!(gate.admit(7, start + TEN_MINUTES), Decision::Send { suppressed: 9 });
        assert_eq!(
            gate.admit(7, start + TEN_MINUTES),
            Decision::Suppress,
            "a new interval began"
        );
    }

    #[test]
    fn the_table_is_bounded() {
        let mut gate = Gate::new(TEN_MINUTES);
        let start = Instant::now();
        for fingerprint in 0..MAX_FINGERPRINTS as u64 {
            assert_eq!(gate.admit(fingerprint, start), Decision::Send { suppressed: 0 });
        }
        assert_eq!(gate.admit(u64::MAX, start), Decision::Suppress, "full: held back");
        assert_eq!(gate.overflow, 1);
        assert_eq!(
            gate.admit(u64::MAX, start + TEN_MINUTES),
            Decision::Send { suppressed: 0 },
            "once the old intervals pass, room is made"
        );
        assert!(gate.slots.len() <= MAX_FINGERPRINTS);
    }

    #[test]
    fn a_failed_send_is_carried_to_the_next_report() {
        let mut gate = Gate::new(TEN_MINUTES);
        let start = Instant::now();
        assert_eq!(gate.admit(3, start), Decision::Send { suppressed: 0 });
        gate.failed(3, 0);
        assert_eq!(gate.admit(3, Instant::now()), Decision::Send { suppressed: 1 });
    }
}
