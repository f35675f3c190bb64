//! HTTPS: whether a request came over https, and the redirect of plain-http
//! requests (`KEEL_SECURE_SSL_REDIRECT`).
//!
//! Keel does not terminate TLS; a proxy does. A proxied request counts as
//! https only when `KEEL_SECURE_PROXY_SSL_HEADER` is configured and the
//! request carries exactly that header and value. Without that setting no
//! header can make a request count as https, so a client cannot spoof it.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};

use super::hosts::RequestHost;
use super::policy::Policy;

/// Whether the request came over https, per the trusted proxy header.
pub fn is_secure(headers: &HeaderMap, policy: &Policy) -> bool {
    match &policy.proxy_ssl_header {
        Some((name, value)) => {
            let mut values = headers.get_all(name).iter();
            // Exactly one header with exactly the configured value.
            matches!((values.next(), values.next()), (Some(v), None) if v.as_bytes().eq_ignore_ascii_case(value.as_bytes()))
        }
        None => false,
    }
}

/// Middleware: plain-http requests of any method get 301 to the same host,
/// path and query on https, and are not processed.
pub async fn redirect_to_https(State(policy): State<Policy>, request: Request, next: Next) -> Response {
    if !policy.ssl_redirect || is_secure(request.headers(), &policy) {
        return next.run(request).await;
    }
    let Some(host) = request.extensions().get::<RequestHost>() else {
        return next.run(request).await;
    };
    // The port of a plain-http address means nothing on https.
    let target = format!(
        "https://{}{}",
        host.name,
        request.uri().path_and_query().map_or("/", |pq| pq.as_str())
    );
    match HeaderValue::from_str(&target) {
        Ok(location) => (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, location)]).into_response(),
        Err(_) => crate::http::Problem::bad_request("The request target cannot be redirected.").into_response(),
    }
}
