//! The log writer: lines go into a shared buffer and a background thread
//! writes the buffer out every [`FLUSH_EVERY`], or as soon as it holds
//! 64 KiB.
//!
//! A request therefore never waits on a terminal, a pipe or a disk, and
//! logging a line wakes no thread (a channel per line, as
//! `tracing-appender` has, costs a context switch per line under load).
//! It is not lossy: when the sink stalls and the buffer reaches
//! 8 MiB, writers wait for the flush rather than drop lines. Lines
//! still buffered are written when the [`BatchGuard`] drops, so at most the
//! last [`FLUSH_EVERY`] of lines is lost if the process is killed outright.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// The longest a line waits in the buffer.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// A buffer this full is flushed at once.
const FLUSH_AT: usize = 64 * 1024;
/// A buffer this full makes writers wait for the flush (the sink stalled).
const WAIT_AT: usize = 8 * 1024 * 1024;

struct State {
    buffer: Vec<u8>,
    closing: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the flusher (buffer full, or closing).
    full: Condvar,
    /// Wakes writers waiting for room.
    drained: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves a byte buffer, still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A cheap handle that tracing's formatter writes whole lines to.
#[derive(Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// Stops the flusher and writes what is left; drop it last.
pub struct BatchGuard {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
}

/// Starts the flusher thread writing to `sink`.
pub fn batch<W: Write + Send + 'static>(sink: W) -> (BatchWriter, BatchGuard) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            buffer: Vec::with_capacity(FLUSH_AT),
            closing: false,
        }),
        full: Condvar::new(),
        drained: Condvar::new(),
    });
    let flusher = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("keel-log".to_owned())
            .spawn(move || flush_loop(&shared, sink))
            .ok()
    };
    (BatchWriter { shared: shared.clone() }, BatchGuard { shared, flusher })
}

fn flush_loop<W: Write>(shared: &Shared, mut sink: W) {
    let mut out = Vec::with_capacity(FLUSH_AT);
    loop {
        let closing = {
            let mut state = shared.lock();
            if state.buffer.len() < FLUSH_AT && !state.closing {
                state = shared
                    .full
                    .wait_timeout(state, FLUSH_EVERY)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            std::mem::swap(&mut state.buffer, &mut out);
            state.closing
        };
        shared.drained.notify_all();
        if !out.is_empty() {
            // Nowhere to report a failing log sink but the sink itself.
            let _ = sink.write_all(&out).and_then(|()| sink.flush());
            out.clear();
        }
        if closing && shared.lock().buffer.is_empty() {
            return;
        }
    }
}

impl Write for BatchWriter {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut state = self.shared.lock();
        while state.buffer.len() >= WAIT_AT && !state.closing {
            self.shared.full.notify_one();
            state = self.shared.drained.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        state.buffer.extend_from_slice(line);
        if state.buffer.len() >= FLUSH_AT {
            self.shared.full.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchWriter {
    type Writer = BatchWriter;

    fn make_writer(&'a self) -> BatchWriter {
        self.clone()
    }
}

impl Drop for BatchGuard {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.full.notify_one();
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test can read while the flusher owns a clone.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn contents(sink: &Sink) -> String {
        String::from_utf8(sink.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn lines_arrive_within_the_flush_interval_in_order() {
        let sink = Sink::default();
        let (mut writer, _guard) = batch(sink.clone());
        writer.write_all(b"one\n").unwrap();
        writer.write_all(b"two\n").unwrap();
        let deadline = std::time::Instant::now() + FLUSH_EVERY * 20;
        while contents(&sink) != "one\ntwo\n" {
            assert!(std::time::Instant::now() < deadline, "got {:?}", contents(&sink));
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn dropping_the_guard_writes_every_buffered_line() {
        let sink = Sink::default();
        let (writer, guard) = batch(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..5_000 {
                        writer.write_all(format!("{t}:{i}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(guard);
        let text = contents(&sink);
        assert_eq!(text.lines().count(), 20_000, "nothing lost, nothing doubled");
        for t in 0..4 {
            let mine: Vec<usize> = text
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("{t}:")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(mine, (0..5_000).collect::<Vec<_>>(), "thread {t}'s lines in order");
        }
    }

    #[test]
    fn a_stalled_sink_makes_writers_wait_instead_of_dropping() {
        /// Blocks every write until the test opens the gate.
        struct Stalled(Arc<(Mutex<bool>, Condvar)>, Sink);
        impl Write for Stalled {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                let (open, cond) = &*self.0;
                let mut open = open.lock().unwrap();
                while !*open {
                    open = cond.wait(open).unwrap();
                }
                self.1.write(bytes)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let sink = Sink::default();
        let (writer, guard) = batch(Stalled(gate.clone(), sink.clone()));
        let line = vec![b'x'; 1023];
        let total = 2 * WAIT_AT / 1024 + 100;
        let producer = {
            let mut writer = writer.clone();
            let line = line.clone();
            std::thread::spawn(move || {
                for _ in 0..total {
                    writer.write_all(&line).unwrap();
                    writer.write_all(b"\n").unwrap();
                }
            })
        };
        std::thread::sleep(Duration::from_millis(300));
        assert!(!producer.is_finished(), "the writer waits while the sink is stalled");
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        producer.join().unwrap();
        drop(guard);
        assert_eq!(contents(&sink).lines().count(), total, "every line arrived");
    }
}
