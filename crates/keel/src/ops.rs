//! Operational endpoints: `/healthz` (the process is alive; no I/O) and
//! `/readyz` (the database answers; 503 from the moment a shutdown begins,
//! so a load balancer stops sending; 200 with `"cache": "degraded"` while
//! only the cache is down). They answer on any Host and
//! over plain http, because load balancers probe by address, and they
//! reveal nothing but up or down.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use crate::core::Core;
use crate::http::openapi::{InternalError, Unavailable};
use crate::http::problem::ProblemBody;

/// A dependency slower than this counts as down for readiness.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// What a not-ready answer suggests to the prober.
const RETRY_AFTER_SECS: &str = "5";

/// `GET /healthz`'s body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(value_type = String, pattern = "^ok$")]
    status: &'static str,
}

/// What readiness answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadinessStatus {
    Ok,
    /// The database answers; the cache does not (requests go to the database).
    Degraded,
    Unavailable,
    ShuttingDown,
}

/// One dependency's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProbeState {
    Ok,
    /// The cache only: down, and skipped until it is back.
    Degraded,
    Down,
}

/// The dependencies `readyz` probes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessChecks {
    database: ProbeState,
    cache: ProbeState,
}

/// `GET /readyz`'s body; `checks` is absent while shutting down.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    status: ReadinessStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    checks: Option<ReadinessChecks>,
}

/// The routes, with the core as state.
pub fn router(core: Core) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(core)
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "Liveness",
    description = "The process is alive. No I/O; answers on any Host and over plain http.",
    responses(
        (status = 200, description = "Alive.", body = Health),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable),
    )
)]
async fn healthz() -> Response {
    no_store(Json(Health { status: "ok" }).into_response())
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

async fn probe<E>(future: impl std::future::Future<Output = Result<(), E>>) -> ProbeState {
    match tokio::time::timeout(PROBE_TIMEOUT, future).await {
        Ok(Ok(())) => ProbeState::Ok,
        _ => ProbeState::Down,
    }
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    summary = "Readiness",
    description = "The database answers. 503 while it does not, and from the moment a shutdown begins, so a load balancer stops sending. \
        The cache is an accelerator: while only it is down the answer is 200 with `status` and `checks.cache` set to `degraded`.",
    responses(
        (status = 200, description = "Ready.", body = Readiness),
        (status = 500, response = InternalError),
        (status = 503, description = "Not ready: a dependency is down or the server is shutting down \
            (a Readiness body), or the probe itself timed out (a Problem).",
            headers(("Retry-After" = u64, description = "Seconds to wait before probing again.")),
            content(
                (Readiness = "application/json"),
                (ProblemBody = "application/problem+json"),
            )
        ),
    )
)]
async fn readyz(State(core): State<Core>) -> Response {
    if core.lifecycle.is_shutting_down() {
        return not_ready(Readiness {
            status: ReadinessStatus::ShuttingDown,
            checks: None,
        });
    }
    let (database, cache) = tokio::join!(probe(core.db.ping()), probe(core.cache.ping()));
    // The cache is an accelerator and the database the truth: with only the
    // cache down the instance still serves (from the database, with rate
    // limits counted locally), so it stays in the load balancer. Taking every
    // instance out for a cache outage would turn a slowdown into downtime.
    let cache = match cache {
        ProbeState::Ok => ProbeState::Ok,
        _ => ProbeState::Degraded,
    };
    let status = match (database, cache) {
        (ProbeState::Ok, ProbeState::Ok) => ReadinessStatus::Ok,
        (ProbeState::Ok, _) => ReadinessStatus::Degraded,
        _ => ReadinessStatus::Unavailable,
    };
    let body = Readiness {
        status,
        checks: Some(ReadinessChecks { database, cache }),
    };
    if database == ProbeState::Ok {
        no_store(Json(body).into_response())
    } else {
        not_ready(body)
    }
}

fn not_ready(body: Readiness) -> Response {
    let mut response = no_store((StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response());
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static(RETRY_AFTER_SECS));
    response
}
