//! Security headers on every response, errors and static files included.
//!
//! The set is data: a table of header and value, added when the response
//! does not already carry the header (a handler that needs another value,
//! such as the public form endpoints' `cross-origin` resource policy, sets
//! its own). The Content-Security-Policy depends on what the response is:
//! HTML that Keel serves gets a strict policy with no inline script; every
//! other response (the API) gets `default-src 'none'`. HSTS is sent only on
//! https, as browsers ignore it on http and it would mislead on a plain
//! development server. `/api/` responses default to `Cache-Control:
//! no-store`: they may carry personal data, and shared caches must never
//! keep them.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::{self, HeaderName};
use http::HeaderValue;

use super::https::is_secure;
use super::policy::Policy;

/// The headers every response carries.
pub const ALWAYS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    (
        "permissions-policy",
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()",
    ),
];

/// The policy of HTML pages Keel serves: its own scripts and styles only.
pub const HTML_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// The policy of everything else: nothing may load, nothing may frame.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"))
}

/// Middleware: adds the security headers to the response.
pub async fn security_headers(State(policy): State<Policy>, request: Request, next: Next) -> Response {
    let secure = is_secure(request.headers(), &policy);
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let csp = if is_html(&response) { HTML_CSP } else { API_CSP };
    let headers = response.headers_mut();
    for (name, value) in ALWAYS {
        headers
            .entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    }
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(csp));
    if api {
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    if secure {
        if let Some(hsts) = &policy.hsts {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
        }
    }
    response
}
