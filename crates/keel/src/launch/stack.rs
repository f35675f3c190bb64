//! The middleware stack, in one place and one order.
//!
//! Reading order is request order: the first layer listed sees the request
//! first and the response last. A layer only touches responses made inside
//! it, which is why the request id and access log are outermost (every
//! response is logged, errors included) and the security headers come next
//! (every response carries them, a 400 for a bad Host or a 500 from a panic
//! too).
//!
//! `/healthz` and `/readyz` are routed after the process-wide layers but
//! before the per-site ones (host validation onwards), because load
//! balancers probe them by address and over plain http; the site's own
//! routes are the fallback service behind those layers.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use tokio::sync::Semaphore;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

use crate::core::Core;
use crate::http::error_pages::html_errors;
use crate::http::extract::{is_multipart, BodyDeadline};
use crate::http::incident;
use crate::http::observe::{observe, record_route, TrustedPeers};
use crate::http::problem::Problem;
use crate::ops;
use crate::reports::Reporter;
use crate::security::{client_ip, cors, csrf, headers, hosts, https, Policy};

/// Wraps the core's and the apps' routes in the whole stack.
pub(super) fn build(core: &Core, policy: &Policy, app_routes: Router, reporter: Reporter) -> Router {
    let body_limit = usize::try_from(core.settings.limits.max_body_bytes).unwrap_or(usize::MAX);
    let site = Router::new()
        .route("/api/csrf", axum::routing::get(csrf::get_csrf))
        .merge(crate::accounts::http::router(core, policy))
        .merge(app_routes)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // 11. CSRF on unsafe methods (403), only for routes that exist and
        // have the method, so a 404 stays 404 and a 405 stays 405; sessions
        // load lazily in extractors
        .route_layer(middleware::from_fn_with_state(policy.clone(), csrf::protect))
        .route_layer(middleware::from_fn(record_route));
    // 10. static files: nested after the route layers, so no session or
    // CSRF work, and inside the layers below (host validation, https)
    let in_flight = Arc::new(Semaphore::new(core.settings.server.max_concurrent_requests));
    let site = crate::staticfiles::mount(site, &core.settings).layer(
        ServiceBuilder::new()
            // 4b. load shedding: over KEEL_MAX_CONCURRENT_REQUESTS, 503 at
            // once (health checks are routed before this, never shed)
            .layer(middleware::from_fn_with_state(in_flight, shed_load))
            // 4c. compressible answers gzip- or brotli-encoded, as accepted
            .layer(super::compress::layer())
            // 5. Host must be single, well-formed and allowed (400)
            .layer(middleware::from_fn_with_state(
                policy.allowed_hosts.clone(),
                hosts::validate_host,
            ))
            // 6. plain http is answered 301 to https, not processed
            .layer(middleware::from_fn_with_state(policy.clone(), https::redirect_to_https))
            // TRACE is never answered (cross-site tracing)
            .layer(middleware::from_fn(refuse_trace))
            // 7. CORS: preflights answered here; allowed origins decorated
            .layer(middleware::from_fn_with_state(policy.cors.clone(), cors::cors))
            // 9. body size limit for extractors (413); upload routes set their own
            .layer(DefaultBodyLimit::max(body_limit))
            // services for extractors
            .layer(Extension(core.clone()))
            .layer(Extension(policy.clone())),
    );

    let timeouts = Timeouts {
        request: core.settings.server.request_timeout,
        upload: core.settings.server.upload_timeout,
        body_read: core.settings.server.body_read_timeout,
    };
    let debug_pages = policy.debug_pages;
    let measured = core.settings.server.metrics_bind.is_some();
    let reports = (reporter, super::report::IgnorableLinks::new(&core.settings));
    let proxies = policy.clone();
    let trusted = TrustedPeers(std::sync::Arc::new(move |peer| {
        client_ip::is_trusted_proxy(peer, &proxies.trusted_proxies)
    }));
    ops::router(core.clone())
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(middleware::from_fn(record_route))
        .fallback_service(site)
        .layer(
            ServiceBuilder::new()
                // 1. request id (a trusted proxy's, or a new one), task-local
                // scope, one access-log line
                .layer(middleware::from_fn_with_state(trusted, observe))
                // 1b. request count and latency by route template (when
                // KEEL_METRICS_BIND is set)
                .option_layer(measured.then(|| middleware::from_fn(super::metrics::measure)))
                // 1c. what failed inside is reported to the admins (5xx) or
                // the managers (a broken link's 404)
                .layer(middleware::from_fn_with_state(reports, super::report::report))
                // 2. security headers on every response below
                .layer(middleware::from_fn_with_state(
                    policy.clone(),
                    headers::security_headers,
                ))
                // 2b. problems become HTML pages for browsers outside /api/
                .layer(middleware::from_fn(html_errors))
                // 3. a panic below becomes a 500 problem; the process lives on
                .layer(CatchPanicLayer::custom(move |panic| panic_response(panic, debug_pages)))
                // 4. a request that takes too long is answered 503
                .layer(middleware::from_fn_with_state(timeouts, timeout)),
        )
}

async fn refuse_trace(request: Request, next: Next) -> Response {
    if request.method() == http::Method::TRACE {
        return Problem::method_not_allowed().into_response();
    }
    next.run(request).await
}

async fn not_found() -> Problem {
    Problem::not_found()
}

async fn method_not_allowed() -> Problem {
    Problem::method_not_allowed()
}

fn panic_response(panic: Box<dyn Any + Send + 'static>, debug_pages: bool) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic payload".to_owned());
    tracing::error!(panic.message = %message, "handler panicked");
    incident::record(incident::Incident {
        kind: "panic".to_owned(),
        location: super::report::take_panic_location().unwrap_or_else(|| "unknown".to_owned()),
        causes: vec![incident::shorten(&message)],
    });
    let mut problem = Problem::internal();
    if debug_pages {
        problem.detail = format!("Handler panicked: {message} (shown because KEEL_DEBUG is on in dev)");
    }
    problem.into_response()
}

/// Answers 503 at once when `KEEL_MAX_CONCURRENT_REQUESTS` are running: a
/// request is never queued without bound behind others.
async fn shed_load(State(in_flight): State<Arc<Semaphore>>, request: Request, next: Next) -> Response {
    let Ok(_permit) = in_flight.try_acquire() else {
        metrics::counter!("keel_http_requests_shed_total").increment(1);
        return Problem::overloaded("The server is too busy; try again shortly.").into_response();
    };
    next.run(request).await
}

#[derive(Debug, Clone, Copy)]
struct Timeouts {
    request: Duration,
    upload: Duration,
    body_read: Duration,
}

/// `KEEL_REQUEST_TIMEOUT`, or `KEEL_UPLOAD_TIMEOUT` for a multipart body:
/// a large upload on a slow link must not be cut at the request timeout.
/// Other bodies must arrive within `KEEL_BODY_READ_TIMEOUT`.
async fn timeout(State(limits): State<Timeouts>, mut request: Request, next: Next) -> Response {
    let multipart = is_multipart(&request);
    let limit = if multipart {
        limits.upload
    } else {
        let deadline = tokio::time::Instant::now() + limits.body_read;
        request.extensions_mut().insert(BodyDeadline(deadline));
        limits.request
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_ms = limit.as_millis() as u64, "request timed out");
            let why = format!(
                "no response within {} s (KEEL_{}_TIMEOUT)",
                limit.as_secs(),
                if multipart { "UPLOAD" } else { "REQUEST" }
            );
            incident::record_at("timeout", std::panic::Location::caller(), vec![why]);
            Problem::unavailable("The request took too long.").into_response()
        }
    }
}
