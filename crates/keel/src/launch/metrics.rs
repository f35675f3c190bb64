//! Prometheus metrics: the recorder, the request layer, and `/metrics` on
//! the separate `KEEL_METRICS_BIND` listener (never the public one).
//!
//! Metrics are recorded through the `metrics` facade wherever they happen
//! (the cache, the database, the outbox worker, an app's submissions) and
//! rendered by `metrics-exporter-prometheus`. The recorder is installed
//! once per process, by the first server with a metrics listener; without
//! one every `metrics::` call is a no-op and the request layer is not
//! added. Readings that are states rather than events (pool size, circuit,
//! outbox depth, process memory) are taken when `/metrics` is scraped.
//!
//! Request labels are the route template (`/api/forms/{id}`), never the
//! raw path, and a method outside the usual ones is `other`, so a scan of
//! random paths and methods adds no series.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::{header, Method};
use metrics::{Counter, Gauge, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::core::Core;
use crate::http::observe::RouteName;
use crate::telemetry::process;

/// Latency buckets, in seconds: 1 ms to 10 s.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// How often recorded samples are folded into the histograms, so memory
/// stays bounded between scrapes.
const UPKEEP: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first call.
pub(super) fn recorder() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            // An embedding program installed its own: `/metrics` then
            // shows only what is read at scrape time.
            tracing::warn!("another metrics recorder is installed; /metrics holds only Keel's process figures");
        }
        describe();
        metrics::gauge!("keel_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "keel_http_requests_total",
        "HTTP requests answered, by route template, method and status."
    );
    describe_histogram!(
        "keel_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer, by route template and method."
    );
    describe_gauge!("keel_http_requests_in_flight", "Requests being answered now.");
    describe_counter!(
        "keel_http_requests_shed_total",
        "Requests answered 503 at once over KEEL_MAX_CONCURRENT_REQUESTS."
    );
    describe_gauge!(
        "keel_db_pool_connections",
        "Database connections open, by state (idle, in_use)."
    );
    describe_gauge!("keel_db_pool_max_connections", "The database pool's limit.");
    describe_histogram!(
        "keel_db_pool_acquire_seconds",
        Unit::Seconds,
        "Wait for a connection to begin a transaction (SQLite: with the wait for the write turn)."
    );
    describe_counter!(
        "keel_cache_requests_total",
        "Cache reads, by result (hit, miss, error, skipped while the circuit is open)."
    );
    describe_gauge!("keel_cache_circuit_open", "1 while the Redis circuit breaker is open.");
    describe_gauge!(
        "keel_outbox_pending_messages",
        "Emails and webhooks waiting for delivery."
    );
    describe_gauge!(
        "keel_outbox_oldest_pending_age_seconds",
        "Age of the oldest message waiting for delivery (0 when none)."
    );
    describe_counter!(
        "keel_outbox_deliveries_total",
        "Delivery attempts by kind and outcome (delivered, retried, dead)."
    );
    describe_counter!(
        "keel_error_reports_total",
        "Error and broken-link reports, by outcome (sent, suppressed, failed, dropped)."
    );
    describe_gauge!("keel_build_info", "Keel's version, as a label; always 1.");
}

/// The handles of one route on one worker thread: registering a labelled
/// metric costs a key built and hashed and a look-up in the recorder's
/// registry, too much for every request, so each thread keeps the handles
/// it has used (bounded by routes × methods × statuses, as the series are).
#[derive(Default)]
struct RouteHandles {
    durations: Vec<(&'static str, Histogram)>,
    requests: Vec<(&'static str, u16, Counter)>,
}

thread_local! {
    static HANDLES: RefCell<HashMap<String, RouteHandles>> = RefCell::new(HashMap::new());
    static IN_FLIGHT: Gauge = metrics::gauge!("keel_http_requests_in_flight");
}

/// One request in the in-flight gauge, taken out when dropped (also when
/// the request is abandoned: a client gone, the drain timed out).
struct InFlight(Gauge);

impl InFlight {
    fn enter() -> Self {
        let gauge = IN_FLIGHT.with(Gauge::clone);
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// Request layer: in-flight gauge, count and latency by route template.
pub(super) async fn measure(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let in_flight = InFlight::enter();
    let response = next.run(request).await;
    drop(in_flight);
    let route = response
        .extensions()
        .get::<RouteName>()
        .map_or("unmatched", |r| r.0.as_str());
    let status = response.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    HANDLES.with(|handles| {
        let mut handles = handles.borrow_mut();
        if !handles.contains_key(route) {
            handles.insert(route.to_owned(), RouteHandles::default());
        }
        let entry = handles.get_mut(route).expect("inserted above");
        match entry.durations.iter().find(|(m, _)| *m == method) {
            Some((_, histogram)) => histogram.record(elapsed),
            None => {
                let histogram =
                    metrics::histogram!("keel_http_request_duration_seconds", "route" => route.to_owned(), "method" => method);
                histogram.record(elapsed);
                entry.durations.push((method, histogram));
            }
        }
        match entry.requests.iter().find(|(m, s, _)| *m == method && *s == status) {
            Some((_, _, counter)) => counter.increment(1),
            None => {
                let counter = metrics::counter!("keel_http_requests_total",
                    "route" => route.to_owned(), "method" => method, "status" => status.to_string());
                counter.increment(1);
                entry.requests.push((method, status, counter));
            }
        }
    });
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The `/metrics` router of the metrics listener.
pub(super) fn router(core: Core) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(core)
}

/// Folds recorded samples into the histograms every few seconds, for as
/// long as the server runs.
pub(super) async fn upkeep() {
    let mut tick = tokio::time::interval(UPKEEP);
    loop {
        tick.tick().await;
        recorder().run_upkeep();
    }
}

async fn scrape(State(core): State<Core>) -> Response {
    read_states(&core).await;
    recorder().run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        format!("{}\n{}", recorder().render().trim_end(), process_text()),
    )
        .into_response()
}

/// The readings that are states, taken now.
async fn read_states(core: &Core) {
    let pool = core.db.pool_stats();
    metrics::gauge!("keel_db_pool_connections", "state" => "idle").set(pool.idle as f64);
    metrics::gauge!("keel_db_pool_connections", "state" => "in_use").set(pool.size.saturating_sub(pool.idle) as f64);
    metrics::gauge!("keel_db_pool_max_connections").set(f64::from(pool.max));
    if let Some(open) = core.cache.circuit_open() {
        metrics::gauge!("keel_cache_circuit_open").set(if open { 1.0 } else { 0.0 });
    }
    // A database that does not answer within a second leaves the last
    // readings in place rather than holding the scrape.
    let backlog = tokio::time::timeout(Duration::from_secs(1), crate::outbox::store::backlog(&core.db)).await;
    if let Ok(Ok(backlog)) = backlog {
        metrics::gauge!("keel_outbox_pending_messages").set(backlog.pending as f64);
        let age_ms = backlog
            .oldest_created_at
            .map_or(0, |at| crate::outbox::now_ms().saturating_sub(at).max(0));
        metrics::gauge!("keel_outbox_oldest_pending_age_seconds").set(age_ms as f64 / 1000.0);
    }
}

/// The process's figures in the exposition format, written here rather
/// than through the recorder: CPU time is a counter of fractional seconds.
fn process_text() -> String {
    use std::fmt::Write;
    let stats = process::read();
    let rows: [(&str, &str, &str, Option<f64>); 6] = [
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory in bytes.",
            stats.resident_bytes.map(|v| v as f64),
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory in bytes.",
            stats.virtual_bytes.map(|v| v as f64),
        ),
        (
            "process_open_fds",
            "gauge",
            "Open file descriptors.",
            stats.open_fds.map(|v| v as f64),
        ),
        (
            "process_max_fds",
            "gauge",
            "The limit of open file descriptors.",
            stats.max_fds.map(|v| v as f64),
        ),
        (
            "process_cpu_seconds_total",
            "counter",
            "User and system CPU time in seconds.",
            stats.cpu_seconds,
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process as unix seconds.",
            stats.start_time_seconds,
        ),
    ];
    let mut text = String::new();
    for (name, kind, help, value) in rows {
        if let Some(value) = value {
            let _ = write!(text, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n\n");
        }
    }
    text
}
