//! One client connection: hyper's HTTP/1.1 on a socket, watched so that a
//! slow or idle client cannot hold it forever, and closed without losing a
//! request when the server drains.
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
//! response head is ready (`server::activity`), and the connection's task
//! sleeps until the nearest deadline. A response body that keeps moving (a
//! large download, a CSV export) keeps the connection; one that a client
//! stopped reading for the keep-alive timeout does not.
//!
//! ## When the server drains
//!
//! A proxy that pools keep-alive connections (nginx's `upstream { keepalive
//! N; }`) may pick an idle one and write a request on it at the very moment
//! the drain begins. Closing idle connections at once, as hyper's
//! `graceful_shutdown` does, would cut that request: the proxy answers 502
//! and, for a POST, must not retry. So, from the moment the drain begins:
//!
//! - every response made on the connection carries `Connection: close`
//!   (the service adds it; hyper then closes the connection once the
//!   response is written), also for requests already in flight, so the
//!   proxy never puts a leaving connection back into its pool;
//! - a connection that is idle is kept open for the drain grace
//!   ([`Clocks::drain_grace`], chosen in `server`); a request that arrives
//!   in it is answered normally, with `Connection: close`;
//! - when the grace ends, a connection still quiet (nothing in flight,
//!   nothing being read) is closed: at once if it never served anything,
//!   else by hyper's graceful shutdown, which also lets a response body
//!   still being written finish first. One with a request arriving or
//!   running is left to close after its response.
//!
//! Its usual clocks keep running throughout, and the server's drain
//! timeout bounds the whole.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use http::header::{HeaderValue, CONNECTION};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tower::ServiceExt;

use super::activity::{Activity, Clocks, WatchedSocket};
use super::body::Tracked;

/// Notes the end of a handler: its response head is ready, or the
/// request was dropped (the client went away).
struct HandlerGuard(Arc<Activity>);

impl Drop for HandlerGuard {
    fn drop(&mut self) {
        self.0.response_ready();
    }
}

/// Serves one accepted connection until it ends, its clock runs out, or
/// `stop` turns true (then it drains as the module doc describes).
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
        let (request, read) = {
            let (parts, body) = request.into_parts();
            let (body, read) = Tracked::new(body);
            (http::Request::from_parts(parts, Body::new(body)), read)
        };
        service_activity.request_started();
        let guard = HandlerGuard(service_activity.clone());
        let router = router.clone();
        async move {
            let mut response = router.oneshot(request).await;
            if let Ok(response) = &mut response {
                // Read when the response is ready, not when the request
                // came: a request in flight when the drain began says so
                // too. A body left unread closes the connection (see `body`).
                if guard.0.is_draining() || !read.load(std::sync::atomic::Ordering::Relaxed) {
                    response
                        .headers_mut()
                        .insert(CONNECTION, HeaderValue::from_static("close"));
                }
            }
            drop(guard);
            response
        }
    });
    let mut conn = pin!(http.serve_connection(TokioIo::new(socket), service));
    let mut stopping = false;
    // When the drain grace ends; `None` before the drain and after it ends.
    let mut grace_end = None;
    if *stop.borrow() {
        stopping = true;
        activity.begin_drain();
        grace_end = Some(Instant::now() + clocks.drain_grace);
    }
    loop {
        let deadline = activity.deadline(clocks);
        tokio::select! {
            // The connection first: bytes already on the socket are read
            // (and noted) before the grace's end looks at what arrived.
            biased;
            _ = conn.as_mut() => return,
            () = sleep_until(deadline) => {
                if activity.deadline(clocks).is_some_and(|d| d <= Instant::now()) {
                    return; // dropping the connection closes the socket
                }
            }
            () = sleep_until(grace_end) => {
                grace_end = None;
                if activity.is_quiet() {
                    if !activity.has_served() {
                        return;
                    }
                    conn.as_mut().graceful_shutdown();
                }
            }
            () = activity.changed.notified() => {}
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    activity.begin_drain();
                    grace_end = Some(Instant::now() + clocks.drain_grace);
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
