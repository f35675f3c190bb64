//! The server loop. The caller owns the listener and the shutdown signal
//! (so tests bind port 0 and stop the server by a channel, and `serve` binds
//! the configured address and stops on SIGTERM), and this module owns the
//! drain:
//!
//! 1. the shutdown signal fires: `/readyz` turns 503 at once;
//! 2. the listener is closed, so new connections are refused;
//! 3. in-flight requests finish, and every response from now on carries
//!    `Connection: close`; an idle keep-alive connection is kept open for
//!    the drain grace, answers the one request that may still arrive on it
//!    (with `Connection: close`), and is closed when the grace ends;
//! 4. after `drain_timeout` whatever is still running is abandoned.
//!
//! Why idle connections are not closed at once: a proxy's pooled
//! connection may already carry a request we have not read yet, and
//! closing under it turns that request into a 502 the proxy may not retry
//! (`server::connection` has the details).
//!
//! The drain grace is [`DRAIN_GRACE`] (2 s), or half of
//! `KEEL_SHUTDOWN_TIMEOUT` when that is shorter. A fixed bound rather than
//! `KEEL_KEEPALIVE_TIMEOUT` (75 s) or the whole drain timeout (30 s):
//! every idle pooled connection would hold every rolling restart that long
//! and end it as `TimedOut`. Two seconds is long enough for a busy proxy
//! to use each connection of its pool once more, and so retire it cleanly
//! on its `Connection: close`; a quiet pool is rarely written to, so the
//! close at the end of the grace rarely meets a request (that race cannot
//! be removed on our side, only made rare). Half of the drain timeout
//! leaves a request that arrives at the end of the grace the other half to
//! finish in, and a zero drain timeout closes idle connections at once, as
//! before. A connection's own keep-alive clock still applies: one whose
//! `KEEL_KEEPALIVE_TIMEOUT` ends within the grace is closed then.
//!
//! Each connection is served by `server::connection` (its clocks: header
//! read and keep-alive timeouts, and the drain grace). At most
//! `KEEL_MAX_CONNECTIONS` are open at once; one more is answered 503 at
//! once and closed, never queued.

mod activity;
mod body;
mod connection;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::core::Lifecycle;
use crate::settings::ServerSettings;
use activity::Clocks;
use connection::serve_connection;

/// How a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every in-flight request finished.
    Clean,
    /// The drain timeout passed with requests still running.
    TimedOut,
}

/// What a connection over `KEEL_MAX_CONNECTIONS` is told before it is
/// closed: a complete answer, written without waiting.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\n\
content-type: text/plain\r\ncontent-length: 20\r\nconnection: close\r\n\r\nServer is too busy.\n";

/// The longest an idle connection is kept open once the drain begins (see
/// the module doc for the choice).
pub const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// Serves `router` on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    lifecycle: Lifecycle,
    shutdown: impl Future<Output = ()> + Send,
    settings: &ServerSettings,
) -> std::io::Result<Drained> {
    let max_connections = settings.max_connections();
    let permits = Arc::new(Semaphore::new(max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    // No hyper timer: the connection clocks are ours (`server::connection`).
    // With one, hyper's own 30 s header timeout would also cut idle
    // keep-alive connections, below `KEEL_KEEPALIVE_TIMEOUT`.
    http.max_header_size(settings.max_header_bytes)
        .max_buf_size(settings.max_header_bytes.max(8192) + 16 * 1024);
    let http = Arc::new(http);
    let clocks = Clocks {
        header_read: settings.header_read_timeout,
        keepalive: settings.keepalive_timeout,
        drain_grace: DRAIN_GRACE.min(settings.shutdown_timeout / 2),
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let refusals = Refusals::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(&err).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            refusals.refuse(&tcp, max_connections);
            continue;
        };
        // Small JSON answers must not wait for Nagle's algorithm.
        let _ = tcp.set_nodelay(true);
        let (http, router, stop) = (http.clone(), router.clone(), stop_rx.clone());
        connections.spawn(async move {
            serve_connection(http, tcp, peer, router, clocks, stop).await;
            drop(permit);
        });
    }
    drop(listener);
    lifecycle.begin_shutdown();
    let drain_timeout = settings.shutdown_timeout;
    tracing::info!(
        drain_timeout_s = drain_timeout.as_secs(),
        drain_grace_ms = u64::try_from(clocks.drain_grace.as_millis()).unwrap_or(u64::MAX),
        "shutting down: refusing new connections, draining"
    );
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(drain_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_ok() {
        tracing::info!("drained");
        Ok(Drained::Clean)
    } else {
        connections.abort_all();
        tracing::warn!("drain timed out; abandoning requests still running");
        Ok(Drained::TimedOut)
    }
}

/// An accept error: a client that gave up is nothing; running out of file
/// descriptors is waited out briefly rather than spun on.
async fn accept_failed(err: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(err.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::warn!(error = %err, "accept failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Connections refused over the cap, logged at most once a second.
#[derive(Default)]
struct Refusals {
    count: AtomicU64,
    last_logged_s: AtomicU64,
}

impl Refusals {
    fn refuse(&self, tcp: &TcpStream, cap: usize) {
        let _ = tcp.try_write(OVER_CAPACITY);
        let count = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if self.last_logged_s.swap(now, Ordering::Relaxed) != now {
            tracing::warn!(
                connections.max = cap,
                connections.refused_total = count,
                "connection refused: KEEL_MAX_CONNECTIONS reached"
            );
        }
    }
}

/// Completes on SIGTERM or SIGINT.
pub async fn termination_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("received SIGINT"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}
