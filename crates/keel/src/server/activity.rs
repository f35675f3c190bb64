//! What a connection's clocks read: the socket and the service note what
//! happens on the connection ([`Activity`]), and the connection's task
//! (`server::connection`) turns that into its next deadline.
//!
//! The notes are atomics rather than a lock because they are written from
//! inside hyper's polling (the socket wrapper, the service) and read by the
//! task between polls, on the same task: they never contend, and a read
//! never has to wait for a write.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The clocks of a connection (from [`ServerSettings`](crate::settings::ServerSettings)).
#[derive(Debug, Clone, Copy)]
pub(super) struct Clocks {
    pub(super) header_read: Duration,
    pub(super) keepalive: Duration,
    /// How long a connection idle when the drain begins is kept open for
    /// one more request (chosen in `server`).
    pub(super) drain_grace: Duration,
}

/// What the socket and the service tell the connection's task.
pub(super) struct Activity {
    start: Instant,
    /// Requests in their handler.
    in_flight: AtomicU32,
    /// Responses made on this connection.
    served: AtomicU64,
    /// Milliseconds after `start` of the last write to the socket.
    last_write: AtomicU64,
    /// Milliseconds after `start` (plus one) of the first byte of the head
    /// being read; 0 while none is.
    head_started: AtomicU64,
    /// Milliseconds after `start` when the last response was sent.
    idle_since: AtomicU64,
    /// The server is draining: every response from now on closes the
    /// connection.
    draining: AtomicBool,
    /// Wakes the task when a head starts or a handler ends (its deadline
    /// changed: nearer, or back from none).
    pub(super) changed: Notify,
}

impl Activity {
    pub(super) fn new() -> Self {
        Self {
            start: Instant::now(),
            in_flight: AtomicU32::new(0),
            served: AtomicU64::new(0),
            last_write: AtomicU64::new(0),
            head_started: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            draining: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn bytes_read(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0 && self.head_started.load(Ordering::Relaxed) == 0 {
            self.head_started.store(self.now_ms() + 1, Ordering::Relaxed);
            self.changed.notify_one();
        }
    }

    pub(super) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(0, Ordering::Relaxed);
    }

    fn wrote(&self) {
        self.last_write.store(self.now_ms(), Ordering::Relaxed);
    }

    pub(super) fn response_ready(&self) {
        self.idle_since.store(self.now_ms(), Ordering::Relaxed);
        self.served.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        // The connection's clock starts again: wake its task to re-read it.
        self.changed.notify_one();
    }

    pub(super) fn begin_drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub(super) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// No request in its handler and none being read.
    pub(super) fn is_quiet(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) == 0 && self.head_started.load(Ordering::Relaxed) == 0
    }

    /// Whether any response was made on this connection.
    pub(super) fn has_served(&self) -> bool {
        self.served.load(Ordering::Relaxed) > 0
    }

    /// When the connection must be closed unless something happens first;
    /// `None` while a request is in flight.
    pub(super) fn deadline(&self, clocks: Clocks) -> Option<Instant> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let head = self.head_started.load(Ordering::Relaxed);
        let after_ms = if head > 0 {
            head - 1 + as_ms(clocks.header_read)
        } else if self.served.load(Ordering::Relaxed) == 0 {
            as_ms(clocks.header_read)
        } else {
            let last = self
                .idle_since
                .load(Ordering::Relaxed)
                .max(self.last_write.load(Ordering::Relaxed));
            last + as_ms(clocks.keepalive)
        };
        Some(self.start + Duration::from_millis(after_ms))
    }
}

fn as_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX / 4)
}

/// The socket, noting when the first byte of a request head arrives and
/// when anything is written.
pub(super) struct WatchedSocket {
    pub(super) tcp: TcpStream,
    pub(super) activity: Arc<Activity>,
}

impl AsyncRead for WatchedSocket {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        result
    }
}

impl AsyncWrite for WatchedSocket {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.tcp).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}
