//! The headers of the endpoints other sites embed (the public form and its
//! submissions): CORS for the form's `embed_origins` only, without
//! credentials, and a cross-origin resource policy that lets them load.

use axum::http::{header, HeaderValue};
use axum::response::Response;

/// Adds the embedding headers to `response` for a request from
/// `request_origin` to a form embeddable on `origins`.
pub(super) fn allow_embedding(response: &mut Response, origins: &[String], request_origin: Option<&HeaderValue>) {
    let headers = response.headers_mut();
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = request_origin {
        let allowed = origin
            .to_str()
            .is_ok_and(|o| origins.iter().any(|allowed| allowed == o));
        if allowed {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        }
    }
}
