//! The middleware stack, in one place and one order.
//!
//! Reading order is request order: the first layer listed sees the request
//! first and the response last. A layer only touches responses made inside
//! it, which is why the request id and access log are outermost (every
//! response is logged, errors included) and the panic catcher sits inside
//! them (a panic still gets a request id and a log line).
//!
//! `/healthz` and `/readyz` are routed before the per-site layers (host
//! validation and everything after it), because load balancers probe them by
//! address; the site's own routes are the fallback service behind those
//! layers.

use std::any::Any;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

use super::observe::{observe, record_route};
use super::ops;
use super::problem::Problem;
use crate::core::Core;

/// Wraps the apps' routes in the whole stack.
pub fn build(core: &Core, app_routes: Router) -> Router {
    let site = app_routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(middleware::from_fn(record_route));

    let request_timeout = core.settings.server.request_timeout;
    ops::router(core.clone())
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(middleware::from_fn(record_route))
        .fallback_service(site)
        .layer(
            ServiceBuilder::new()
                // 1. request id, task-local scope, one access-log line
                .layer(middleware::from_fn(observe))
                // 2. a panic below becomes a 500 problem; the process lives on
                .layer(CatchPanicLayer::custom(panic_response))
                // 3. a request that takes too long is answered 503
                .layer(middleware::from_fn_with_state(request_timeout, timeout)),
        )
}

async fn not_found() -> Problem {
    Problem::not_found()
}

async fn method_not_allowed() -> Problem {
    Problem::method_not_allowed()
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic payload".to_owned());
    tracing::error!(panic.message = %message, "handler panicked");
    Problem::internal().into_response()
}

async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_ms = limit.as_millis() as u64, "request timed out");
            Problem::unavailable("The request took too long.").into_response()
        }
    }
}
