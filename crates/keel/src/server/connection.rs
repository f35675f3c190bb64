//! One client connection: hyper's HTTP/1.1 on a socket, watched so that a
//! slow or idle client cannot hold it forever.
//!
//! A connection is in one of three states, and each has its own clock:
//!
//! | state | clock | on expiry |
//! |---|---|---|
//! | waiting for a first request (nothing read yet) | `KEEL_HEADER_READ_TIMEOUT` from accept | closed |
//! | reading a request head (some bytes read, no request yet) | `KEEL_HEADER_READ_TIMEOUT` from the first byte | closed |
//! | idle between requests (keep-alive), or a response body the client stopped reading | `KEEL_KEEPALIVE_TIMEOUT` from the last response head or the last byte written | closed |
//! | a request in its handler | none here: `KEEL_REQUEST_TIMEOUT` answers 503 | — |
//!
//! hyper's own header timer cannot tell a slow head from an idle
//! keep-alive connection (it restarts for every head), so the clocks live
//! here: the socket wrapper notes the first byte of a head and every
//! write, the service wrapper notes when a handler starts and when its
//! response head is ready, and the connection's task sleeps until the
//! nearest deadline. A response body that keeps moving (a large download,
//! a CSV export) keeps the connection; one that a client stopped reading
//! for the keep-alive timeout does not.

use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use tower::ServiceExt;

/// The clocks of a connection (from [`ServerSettings`](crate::settings::ServerSettings)).
#[derive(Debug, Clone, Copy)]
pub(super) struct Clocks {
    pub(super) header_read: Duration,
    pub(super) keepalive: Duration,
}

/// What the socket and the service tell the connection's task.
struct Activity {
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
    /// Wakes the task when a head starts or a handler ends (its deadline
    /// changed: nearer, or back from none).
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            in_flight: AtomicU32::new(0),
            served: AtomicU64::new(0),
            last_write: AtomicU64::new(0),
            head_started: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
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

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(0, Ordering::Relaxed);
    }

    fn wrote(&self) {
        self.last_write.store(self.now_ms(), Ordering::Relaxed);
    }

    fn response_ready(&self) {
        self.idle_since.store(self.now_ms(), Ordering::Relaxed);
        self.served.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        // The connection's clock starts again: wake its task to re-read it.
        self.changed.notify_one();
    }

    /// When the connection must be closed unless something happens first;
    /// `None` while a request is in flight.
    fn deadline(&self, clocks: Clocks) -> Option<Instant> {
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

/// The socket, noting when the first byte of a request head arrives.
struct WatchedSocket {
    tcp: TcpStream,
    activity: Arc<Activity>,
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

/// Notes the end of a handler: its response head is ready, or the
/// request was dropped (the client went away).
struct HandlerGuard(Arc<Activity>);

impl Drop for HandlerGuard {
    fn drop(&mut self) {
        self.0.response_ready();
    }
}

/// Serves one accepted connection until it ends, its clock runs out, or
/// `stop` turns true (then in-flight requests finish and it closes).
pub(super) async fn serve_connection(
    http: Arc<hyper::server::conn::http1::Builder>,
    tcp: TcpStream,
    peer: SocketAddr,
    router: Router,
    clocks: Clocks,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let socket = WatchedSocket {
        tcp,
        activity: activity.clone(),
    };
    let service_activity = activity.clone();
    let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        service_activity.request_started();
        let guard = HandlerGuard(service_activity.clone());
        let router = router.clone();
        async move {
            let response = router.oneshot(request.map(Body::new)).await;
            drop(guard);
            response
        }
    });
    let mut conn = pin!(http.serve_connection(TokioIo::new(socket), service));
    let mut stopping = *stop.borrow();
    if stopping {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        let deadline = activity.deadline(clocks);
        tokio::select! {
            _ = conn.as_mut() => return,
            () = sleep_until(deadline) => {
                if activity.deadline(clocks).is_some_and(|d| d <= Instant::now()) {
                    return; // dropping the connection closes the socket
                }
            }
            () = activity.changed.notified() => {}
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
