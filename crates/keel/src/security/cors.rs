//! CORS for the API (django-cors-headers' behaviour), so a single-page
//! frontend on another origin can call it with its session cookie.
//!
//! Origins match exactly (scheme, host and port). An allowed origin gets
//! `Access-Control-Allow-Origin` naming it (never `*` with credentials: the
//! settings refuse that combination at load), credentials when configured,
//! and `Vary: Origin`; a foreign origin gets no CORS header at all, so the
//! browser withholds the response. Preflights are answered here, before
//! host-specific work, with the allowed methods and headers (including
//! `X-CSRFToken`) and a max age.
//!
//! Routes under [`PUBLIC_PREFIX`] are the public, embeddable endpoints:
//! they carry no cookies, so their preflights are answered for any origin
//! without credentials, and their handlers decide `Access-Control-Allow-
//! Origin` themselves (per form); this layer leaves their responses alone.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};

/// Methods a cross-origin caller may use.
const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
/// Request headers a cross-origin caller may send.
const ALLOW_HEADERS: &str = "accept, content-type, x-csrftoken, x-requested-with, x-request-id";
/// Response headers a cross-origin caller may read.
const EXPOSE_HEADERS: &str = "x-request-id, retry-after";
/// How long a browser may cache a preflight answer, in seconds.
const MAX_AGE: &str = "86400";

#[derive(Debug, Clone, Default)]
pub struct CorsPolicy {
    origins: HashSet<String>,
    /// `*` was configured (allowed only without credentials).
    any: bool,
    credentials: bool,
}

impl CorsPolicy {
    pub fn new(origins: &[String], credentials: bool) -> Self {
        Self {
            origins: origins
                .iter()
                .filter(|o| o.as_str() != "*")
                .map(|o| o.trim_end_matches('/').to_owned())
                .collect(),
            any: origins.iter().any(|o| o == "*"),
            credentials,
        }
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, if allowed.
    fn allow_origin(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        if self.any && !self.credentials {
            return Some(HeaderValue::from_static("*"));
        }
        let text = origin.to_str().ok()?;
        self.origins.contains(text).then(|| origin.clone())
    }

    /// Adds the CORS headers of an actual (non-preflight) response.
    pub fn decorate(&self, origin: Option<&HeaderValue>, response: &mut Response) {
        let headers = response.headers_mut();
        headers.append(header::VARY, HeaderValue::from_static("origin"));
        let Some(allowed) = origin.and_then(|o| self.allow_origin(o)) else {
            return;
        };
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        if self.credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }

    /// The answer to a preflight from `origin`.
    fn preflight(&self, origin: &HeaderValue) -> Response {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::VARY,
            HeaderValue::from_static("origin, access-control-request-method, access-control-request-headers"),
        );
        let Some(allowed) = self.allow_origin(origin) else {
            return response;
        };
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        if self.credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
        response
    }
}

/// Routes under this prefix are public and set their own CORS headers.
pub const PUBLIC_PREFIX: &str = "/api/public/";

/// The answer to a preflight for a public endpoint: any origin, no
/// credentials, only what a submission needs.
fn public_preflight(origin: &HeaderValue) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, x-request-id"),
    );
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
    headers.insert(header::VARY, HeaderValue::from_static("origin"));
    response
}

/// Whether a request is a CORS preflight.
pub fn is_preflight(request: &Request) -> bool {
    request.method() == Method::OPTIONS
        && request.headers().contains_key(header::ORIGIN)
        && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// Middleware: answers preflights and decorates responses.
pub async fn cors(State(policy): State<Arc<CorsPolicy>>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    if request.uri().path().starts_with(PUBLIC_PREFIX) {
        return match origin {
            Some(origin) if is_preflight(&request) => public_preflight(&origin),
            _ => next.run(request).await,
        };
    }
    if is_preflight(&request) {
        if let Some(origin) = &origin {
            return policy.preflight(origin);
        }
    }
    let mut response = next.run(request).await;
    // A handler with its own CORS policy (public endpoints) has set it.
    if !response.headers().contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        policy.decorate(origin.as_ref(), &mut response);
    }
    response
}
