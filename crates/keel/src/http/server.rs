//! The server loop. The caller owns the listener and the shutdown signal
//! (so tests bind port 0 and stop the server by a channel, and `serve` binds
//! the configured address and stops on SIGTERM), and this module owns the
//! drain:
//!
//! 1. the shutdown signal fires: `/readyz` turns 503 at once;
//! 2. the listener is closed, so new connections are refused;
//! 3. in-flight requests finish; idle keep-alive connections are closed;
//! 4. after `drain_timeout` whatever is still running is abandoned.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::time::Duration;

use axum::serve::ListenerExt;
use axum::Router;
use tokio::net::TcpListener;

use crate::core::Lifecycle;

/// How a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every in-flight request finished.
    Clean,
    /// The drain timeout passed with requests still running.
    TimedOut,
}

/// Serves `router` on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    lifecycle: Lifecycle,
    shutdown: impl Future<Output = ()> + Send,
    drain_timeout: Duration,
) -> std::io::Result<Drained> {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let listener = listener.tap_io(|tcp| {
        // Small JSON answers must not wait for Nagle's algorithm.
        let _ = tcp.set_nodelay(true);
    });
    let server = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            let _ = stop_rx.await;
        });
    let mut running = tokio::spawn(server.into_future());

    tokio::select! {
        // The server stopped by itself: only an error does that.
        result = &mut running => return result.map_err(std::io::Error::other)?.map(|()| Drained::Clean),
        () = shutdown => {}
    }
    lifecycle.begin_shutdown();
    tracing::info!(
        drain_timeout_s = drain_timeout.as_secs(),
        "shutting down: refusing new connections, draining"
    );
    let _ = stop_tx.send(());
    match tokio::time::timeout(drain_timeout, &mut running).await {
        Ok(result) => {
            result.map_err(std::io::Error::other)??;
            tracing::info!("drained");
            Ok(Drained::Clean)
        }
        Err(_) => {
            running.abort();
            tracing::warn!("drain timed out; abandoning requests still running");
            Ok(Drained::TimedOut)
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
