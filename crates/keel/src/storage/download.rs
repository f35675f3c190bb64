//! Answering a download of a stored file, once the caller has decided the
//! user may have it.
//!
//! Media is never executed and never shown inline: every answer is an
//! attachment with a sanitised name ending in an extension of its stored
//! type (names stored before that rule get it here),
//! `X-Content-Type-Options: nosniff` and a CSP that sandboxes anything a
//! browser might still render; markup types
//! ([`sniff::ACTIVE`]) go out as `application/octet-stream`. Single byte
//! ranges get 206 (several, or a malformed `Range`, get the whole file, as
//! RFC 9110 allows), a range past the end 416. Behind nginx
//! (`KEEL_MEDIA_ACCEL_REDIRECT`), Keel only authorizes: it answers with
//! `X-Accel-Redirect: <location><key>` and the same headers, and nginx
//! sends the bytes (ranges included) from its internal location.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};

use super::filename::{content_disposition, for_type};
use super::sniff::{self, OCTET_STREAM};
use super::{MediaStore, ObjectKey, StorageError};
use crate::http::range::{parse_range, Ranged};
use crate::http::Problem;

/// The policy of every download: no script, no plugin, no loads.
pub const SANDBOX_CSP: &str = "sandbox; default-src 'none'";

/// A file the caller has authorized for this request.
#[derive(Debug, Clone, Copy)]
pub struct Download<'a> {
    pub key: &'a ObjectKey,
    /// The sanitised original name.
    pub name: &'a str,
    /// The sniffed type, as stored.
    pub content_type: &'a str,
}

/// Answers a GET or HEAD for `download`. `accel` is the internal nginx
/// location (`KEEL_MEDIA_ACCEL_REDIRECT`), if downloads go through it.
pub async fn respond(
    store: &MediaStore,
    download: Download<'_>,
    method: &Method,
    headers: &HeaderMap,
    accel: Option<&str>,
) -> Result<Response, StorageError> {
    let mut response = match accel {
        Some(location) => accel_redirect(location, download.key),
        None => match stream(store, download.key, method == Method::HEAD, headers).await? {
            Ok(response) => response,
            Err(unsatisfiable) => return Ok(unsatisfiable),
        },
    };
    decorate(&mut response, download);
    Ok(response)
}

fn accel_redirect(location: &str, key: &ObjectKey) -> Response {
    let mut response = StatusCode::OK.into_response();
    let target = format!("{location}{key}");
    // Keys are ASCII by construction; a bad location was refused by settings.
    if let Ok(value) = HeaderValue::from_str(&target) {
        response.headers_mut().insert("x-accel-redirect", value);
    }
    response
}

/// The bytes, or `Err` with the 416 answer.
async fn stream(
    store: &MediaStore,
    key: &ObjectKey,
    head: bool,
    headers: &HeaderMap,
) -> Result<Result<Response, Response>, StorageError> {
    let size = store.head(key).await?.size;
    let asked = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map_or(Ranged::Whole, |v| parse_range(v, size));
    let (status, range) = match asked {
        Ranged::Whole => (StatusCode::OK, 0..size),
        Ranged::Part(range) => (StatusCode::PARTIAL_CONTENT, range),
        Ranged::Unsatisfiable => {
            let mut response = Problem::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range-not-satisfiable",
                "The requested range is not inside the file.",
            )
            .into_response();
            insert(&mut response, header::CONTENT_RANGE, &format!("bytes */{size}"));
            return Ok(Err(response));
        }
    };
    let body = if head || range.is_empty() {
        Body::empty()
    } else {
        let part = (status == StatusCode::PARTIAL_CONTENT).then(|| range.clone());
        Body::from_stream(store.get(key, part).await?.stream)
    };
    let mut response = (status, body).into_response();
    insert(
        &mut response,
        header::CONTENT_LENGTH,
        &(range.end - range.start).to_string(),
    );
    insert(&mut response, header::ACCEPT_RANGES, "bytes");
    if status == StatusCode::PARTIAL_CONTENT {
        let value = format!("bytes {}-{}/{size}", range.start, range.end - 1);
        insert(&mut response, header::CONTENT_RANGE, &value);
    }
    Ok(Ok(response))
}

fn decorate(response: &mut Response, download: Download<'_>) {
    let kind = download.content_type;
    let served = if kind.is_empty() || sniff::is_active(kind) {
        OCTET_STREAM
    } else {
        kind
    };
    insert(response, header::CONTENT_TYPE, served);
    insert(
        response,
        header::CONTENT_DISPOSITION,
        &content_disposition(&for_type(download.name, kind)),
    );
    insert(response, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    insert(response, header::CONTENT_SECURITY_POLICY, SANDBOX_CSP);
    insert(response, header::CACHE_CONTROL, "private, no-store");
}

fn insert(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}
