//! Password hashing, bounded: at most one Argon2 run per core at a time.
//!
//! Each run takes about 19 MiB and tens of milliseconds of one core. Without
//! a bound, a few hundred concurrent logins each start one (on tokio's
//! blocking pool of up to 512 threads) and the process's memory follows.
//! Here a request waits for a turn at most [`WAIT`], behind at most
//! [`WAITERS_PER_TURN`] others per turn; otherwise it is answered 503 with
//! `Retry-After` instead of queueing without end.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

/// The longest a request waits for a turn to hash.
pub const WAIT: Duration = Duration::from_secs(3);
/// Callers that may wait at once, per turn: about what the turns get
/// through in [`WAIT`] (a hash takes tens of milliseconds). One more is
/// told [`Busy`] at once instead of waiting to be told so later.
pub const WAITERS_PER_TURN: usize = 64;

/// The gate; clones share the same turns.
#[derive(Debug, Clone)]
pub struct HashGate {
    turns: Arc<Semaphore>,
    wait: Duration,
    max_waiting: usize,
    waiting: Arc<AtomicUsize>,
    runs: Arc<AtomicU64>,
}

/// No turn came within [`WAIT`]: the server is busy hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many password checks at once")]
pub struct Busy;

impl Default for HashGate {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self::new(cores, WAIT)
    }
}

impl HashGate {
    /// A gate letting `turns` hashes run at once, each caller waiting at
    /// most `wait` for one.
    pub fn new(turns: usize, wait: Duration) -> Self {
        let turns = turns.max(1);
        Self {
            turns: Arc::new(Semaphore::new(turns)),
            wait,
            max_waiting: turns * WAITERS_PER_TURN,
            waiting: Arc::default(),
            runs: Arc::default(),
        }
    }

    /// How many hashes or verifications this gate has let run.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Runs `work` (a hash or a verification) on the blocking pool when a
    /// turn is free.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy);
        }
        let turn = tokio::time::timeout(self.wait, self.turns.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let turn = turn.map_err(|_| Busy)?.map_err(|_| Busy)?;
        self.runs.fetch_add(1, Ordering::Relaxed);
        let joined = tokio::task::spawn_blocking(move || {
            let result = work();
            drop(turn);
            result
        })
        .await;
        match joined {
            Ok(result) => Ok(result),
            // A panic in the work is the request's panic: the stack's panic
            // layer answers 500.
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::{Busy, HashGate};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_turns_run_at_once() {
        let gate = HashGate::new(2, Duration::from_secs(30));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (gate, running, most) = (gate.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    gate.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2, "16 callers, 2 turns");
        assert_eq!(gate.runs(), 16);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_with_no_turn_in_time_is_told_busy() {
        let gate = HashGate::new(1, Duration::from_millis(50));
        let holder = gate.clone();
        let held = tokio::spawn(async move { holder.run(|| std::thread::sleep(Duration::from_millis(500))).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(gate.run(|| ()).await, Err(Busy));
        held.await.unwrap().unwrap();
        assert_eq!(gate.run(|| 7).await, Ok(7), "a turn is free again");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_beyond_the_waiting_room_are_told_busy_at_once() {
        let gate = HashGate::new(1, Duration::from_secs(30));
        let holder = gate.clone();
        let held = tokio::spawn(async move { holder.run(|| std::thread::sleep(Duration::from_millis(300))).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let waiters: Vec<_> = (0..super::WAITERS_PER_TURN)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move { gate.run(|| ()).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        assert_eq!(gate.run(|| ()).await, Err(Busy), "the waiting room is full");
        assert!(started.elapsed() < Duration::from_millis(100), "told at once");
        held.await.unwrap().unwrap();
        for waiter in waiters {
            assert_eq!(waiter.await.unwrap(), Ok(()), "the waiting room gets its turns");
        }
    }
}
