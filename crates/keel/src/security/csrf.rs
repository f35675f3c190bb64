//! CSRF protection as Django does it, for a single-page frontend.
//!
//! `GET /api/csrf` hands out a masked token and sets the `csrftoken` cookie
//! holding the secret. Every unsafe request (anything but GET, HEAD,
//! OPTIONS, TRACE) then needs:
//!
//! 1. an `Origin` equal to the request's own origin or listed in
//!    `KEEL_CSRF_TRUSTED_ORIGINS` (`null` never passes); on https with no
//!    Origin, a `Referer` that passes the same test;
//! 2. the `csrftoken` cookie, and an `X-CSRFToken` header whose token
//!    unmasks to the cookie's secret.
//!
//! A failure is a 403 problem naming the reason. Exemptions are explicit:
//! an app lists the route patterns it protects otherwise (the public form
//! submission carries a signed token instead), and `keel check` lists them.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::header::{self, HeaderMap, HeaderValue};
use http::Method;

use super::cookies;
use super::csrf_token;
use super::hosts::RequestHost;
use super::https::is_secure;
use super::policy::Policy;
use crate::http::Problem;

/// The cookie that holds the secret.
pub const COOKIE_NAME: &str = "csrftoken";
/// The header that carries the token.
pub const HEADER_NAME: &str = "x-csrftoken";
/// The cookie lives a year, as Django's does; the secret rotates at login.
const COOKIE_AGE_SECS: i64 = 31_449_600;

fn reject(reason: &str) -> Response {
    tracing::warn!(csrf.reason = reason, "CSRF check failed");
    Problem::forbidden("csrf-failed", format!("CSRF verification failed: {reason}")).into_response()
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// The request's own origin, `scheme://host[:port]`.
fn own_origin(request: &Request, policy: &Policy) -> Option<String> {
    let host = request.extensions().get::<RequestHost>()?;
    let scheme = if is_secure(request.headers(), policy) {
        "https"
    } else {
        "http"
    };
    Some(format!("{scheme}://{}", host.authority()))
}

fn trusted(origin: &str, own: Option<&str>, policy: &Policy) -> bool {
    let origin = origin.to_ascii_lowercase();
    own.is_some_and(|own| own == origin)
        || policy
            .csrf_trusted_origins
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&origin))
}

/// The origin check: `Err(reason)` when it fails.
fn check_origin(request: &Request, policy: &Policy) -> Result<(), String> {
    let own = own_origin(request, policy);
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin
            .to_str()
            .map_err(|_| "the Origin header is malformed".to_owned())?;
        if origin == "null" {
            return Err("Origin \"null\" is never trusted".to_owned());
        }
        if !trusted(origin, own.as_deref(), policy) {
            return Err(format!("Origin {origin} does not match any trusted origin"));
        }
        return Ok(());
    }
    if !is_secure(headers, policy) {
        return Ok(());
    }
    let referer = headers
        .get(header::REFERER)
        .ok_or("the request has no Referer (required on https without Origin)")?;
    let referer = referer
        .to_str()
        .ok()
        .and_then(|r| url::Url::parse(r).ok())
        .ok_or("the Referer is malformed")?;
    if referer.scheme() != "https" {
        return Err("the Referer is not https".to_owned());
    }
    let referer_origin = referer.origin().ascii_serialization();
    if !trusted(&referer_origin, own.as_deref(), policy) {
        return Err(format!(
            "Referer origin {referer_origin} does not match any trusted origin"
        ));
    }
    Ok(())
}

fn check_token(headers: &HeaderMap) -> Result<(), &'static str> {
    let secret = cookies::get(headers, COOKIE_NAME).ok_or("the CSRF cookie is not set; fetch GET /api/csrf first")?;
    let token = headers
        .get(HEADER_NAME)
        .ok_or("the X-CSRFToken header is missing")?
        .to_str()
        .map_err(|_| "the X-CSRFToken header is malformed")?;
    if csrf_token::matches(token, secret) {
        Ok(())
    } else {
        Err("the CSRF token is incorrect")
    }
}

/// Middleware: refuses unsafe requests that fail the origin or token check.
pub async fn protect(State(policy): State<Policy>, request: Request, next: Next) -> Response {
    if !is_unsafe(request.method()) || policy.csrf_exempt.iter().any(|p| p.matches(request.uri().path())) {
        return next.run(request).await;
    }
    if let Err(reason) = check_origin(&request, &policy) {
        return reject(&reason);
    }
    if let Err(reason) = check_token(request.headers()) {
        return reject(reason);
    }
    next.run(request).await
}

/// A `Set-Cookie` for a new CSRF secret, and the secret.
pub fn new_cookie(policy: &Policy) -> (String, HeaderValue) {
    let secret = csrf_token::new_secret();
    let cookie = cookies::set(COOKIE_NAME, &secret, COOKIE_AGE_SECS, policy.csrf_cookie_secure, false);
    (secret, cookie)
}

/// `GET /api/csrf`'s body.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CsrfToken {
    /// The masked token to send as `X-CSRFToken`; a new mask each call.
    #[serde(rename = "csrfToken")]
    pub csrf_token: String,
}

/// `GET /api/csrf`: a fresh masked token for the cookie's secret (a new
/// secret and cookie when there is none or it is malformed).
#[utoipa::path(
    get,
    path = "/api/csrf",
    tag = "security",
    summary = "A CSRF token",
    description = "A fresh masked token for unsafe requests (send it as `X-CSRFToken`), and the `csrftoken` cookie holding its secret (a new one when there is none).",
    responses(
        (status = 200, description = "The token; `Set-Cookie` sets `csrftoken`.", body = CsrfToken,
            headers(("Set-Cookie" = String, description = "`csrftoken=…`, the secret the token unmasks to."))),
        crate::http::openapi::SiteErrors,
    )
)]
pub async fn get_csrf(axum::Extension(policy): axum::Extension<Policy>, headers: HeaderMap) -> Response {
    let existing = cookies::get(&headers, COOKIE_NAME).filter(|s| csrf_token::is_secret(s));
    let (secret, cookie) = match existing {
        Some(secret) => (
            secret.to_owned(),
            cookies::set(COOKIE_NAME, secret, COOKIE_AGE_SECS, policy.csrf_cookie_secure, false),
        ),
        None => new_cookie(&policy),
    };
    let mut response = Json(CsrfToken {
        csrf_token: csrf_token::mask(&secret),
    })
    .into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

#[cfg(test)]
mod tests {
    use crate::security::policy::RoutePattern;

    #[test]
    fn route_patterns_match_one_segment_per_parameter() {
        let p = RoutePattern("/api/public/forms/{slug}/responses");
        assert!(p.matches("/api/public/forms/abc123/responses"));
        assert!(
            !p.matches("/api/public/forms//responses"),
            "an empty segment is not a parameter"
        );
        assert!(!p.matches("/api/public/forms/a/b/responses"));
        assert!(!p.matches("/api/public/forms/abc123/responses/x"));
        assert!(!p.matches("/api/forms/abc123/responses"));
    }
}
