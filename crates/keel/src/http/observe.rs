//! The outermost layer: a request id for every request and one access-log
//! line for every response.
//!
//! The id comes from the incoming `x-request-id` only when the peer is a
//! trusted proxy (a client could otherwise reuse another request's id and
//! muddle the logs and problem reports) and the value is short and
//! printable (so a hostile value cannot forge log lines or bloat them);
//! otherwise a new one is made. Who is trusted is judged above this floor
//! (`security::client_ip`) and handed in as [`TrustedPeers`]. It is echoed in the response header, held in
//! a task-local for the duration of the request (so a [`Problem`] anywhere
//! below can carry it without plumbing), and logged on the access line.
//!
//! [`Problem`]: super::problem::Problem

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;

/// The header that carries the request id both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// A client's id longer than this is replaced.
const MAX_CLIENT_ID_LEN: usize = 64;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, when called inside one.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The route a response was produced by, set by the router's route layer
/// (outer layers cannot see `MatchedPath` in the request: routing happens
/// inside them).
#[derive(Clone, Debug)]
pub struct RouteName(pub String);

/// Route layer: copies the matched route into the response for the log.
pub async fn record_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    if let Some(route) = &route {
        super::incident::note_route(route);
    }
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteName(route));
    }
    response
}

fn acceptable_client_id(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let ok = !text.is_empty()
        && text.len() <= MAX_CLIENT_ID_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:+/=".contains(&b));
    ok.then(|| text.to_owned())
}

/// Which peers may pass on a request id: the trusted proxies.
#[derive(Clone)]
pub struct TrustedPeers(pub Arc<dyn Fn(IpAddr) -> bool + Send + Sync>);

impl TrustedPeers {
    /// Whether the request came straight from a trusted peer (a request
    /// without a known peer, as in router-level tests, is not).
    fn sent(&self, request: &Request) -> bool {
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|peer| (self.0)(peer.0.ip()))
    }
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Middleware: request id, task-local scope, access log.
pub async fn observe(State(trusted): State<TrustedPeers>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let forwarded = trusted.sent(&request).then(|| request.headers().get(REQUEST_ID_HEADER));
    let id = forwarded
        .flatten()
        .and_then(acceptable_client_id)
        .unwrap_or_else(new_request_id);
    let header = HeaderValue::from_str(&id).expect("request ids are checked or generated as header-safe ASCII");
    request.headers_mut().insert(REQUEST_ID_HEADER, header.clone());
    let method = request.method().clone();
    let version = request.version();

    let mut response = REQUEST_ID.scope(id.clone(), next.run(request)).await;

    response.headers_mut().insert(REQUEST_ID_HEADER, header);
    let status = response.status().as_u16();
    let route = response
        .extensions()
        .get::<RouteName>()
        .map_or("<unmatched>", |r| r.0.as_str());
    let duration_ms = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
    if status >= 500 {
        tracing::warn!(target: "keel::access", method = %method, route, status, version = ?version, duration_ms, request_id = %id, "request");
    } else {
        tracing::info!(target: "keel::access", method = %method, route, status, version = ?version, duration_ms, request_id = %id, "request");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_request_ids_must_be_short_and_printable() {
        let cases: &[(&[u8], bool, &str)] = &[
            (b"abc-123", true, "a plain id is kept"),
            (b"", false, "empty is replaced"),
            (b"has space", false, "spaces could split log fields"),
            (b"line\rbreak", false, "control characters could forge log lines"),
            (&[b'a'; 65], false, "too long"),
            ("caf\u{e9}".as_bytes(), false, "non-ASCII"),
            (b"a\"b", false, "quotes could break JSON-ish log readers"),
        ];
        for (raw, ok, why) in cases {
            let header = HeaderValue::from_bytes(raw);
            let accepted = header.ok().and_then(|h| acceptable_client_id(&h)).is_some();
            assert_eq!(accepted, *ok, "{why}");
        }
    }
}
