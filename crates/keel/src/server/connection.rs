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
//! response head is ready (`server::activity`), and the connection's task
//! sleeps until the nearest deadline. A response body that keeps moving (a large download,
//! a CSV export) keeps the connection; one that a client stopped reading
//! for the keep-alive timeout does not.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tower::ServiceExt;

use super::activity::{Activity, Clocks, WatchedSocket};

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
