//! Answering a download of a stored file, once the caller has decided the
//! user may have it.
//!
//! Media is never executed and never shown inline: every answer is an
//! attachment with a sanitised name, `X-Content-Type-Options: nosniff` and
//! a CSP that sandboxes anything a browser might still render; markup types
//! ([`sniff::ACTIVE`]) go out as `application/octet-stream`. Single byte
//! ranges get 206 (several, or a malformed `Range`, get the whole file, as
//! RFC 9110 allows), a range past the end 416. Behind nginx
//! (`KEEL_MEDIA_ACCEL_REDIRECT`), Keel only authorizes: it answers with
//! `X-Accel-Redirect: <location><key>` and the same headers, and nginx
//! sends the bytes (ranges included) from its internal location.

use std::ops::Range;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};

use super::filename::content_disposition;
use super::sniff::{self, OCTET_STREAM};
use super::{MediaStore, ObjectKey, StorageError};
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
        &content_disposition(download.name),
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

/// What a `Range` header asks of a body of `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ranged {
    Whole,
    Part(Range<u64>),
    Unsatisfiable,
}

fn parse_range(value: &str, len: u64) -> Ranged {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ranged::Whole;
    };
    if spec.contains(',') {
        return Ranged::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ranged::Whole;
    };
    let number = |s: &str| s.trim().parse::<u64>().ok();
    match (first.trim().is_empty(), number(first), number(last)) {
        // bytes=-N: the last N bytes.
        (true, _, Some(0)) => Ranged::Unsatisfiable,
        (true, _, Some(_)) if len == 0 => Ranged::Unsatisfiable,
        (true, _, Some(n)) => Ranged::Part(len - n.min(len)..len),
        (false, Some(start), _) if start >= len => Ranged::Unsatisfiable,
        // bytes=A-: from A to the end.
        (false, Some(start), None) if last.trim().is_empty() => Ranged::Part(start..len),
        (false, Some(start), Some(end)) if end >= start => Ranged::Part(start..(end + 1).min(len)),
        _ => Ranged::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        let cases = [
            ("bytes=0-3", Ranged::Part(0..4), "a closed range"),
            ("bytes=5-", Ranged::Part(5..10), "an open range"),
            ("bytes=-3", Ranged::Part(7..10), "a suffix"),
            ("bytes=-30", Ranged::Part(0..10), "a suffix longer than the file"),
            ("bytes=8-100", Ranged::Part(8..10), "an end past the file is clamped"),
            ("bytes=10-", Ranged::Unsatisfiable, "a start at the end"),
            ("bytes=-0", Ranged::Unsatisfiable, "an empty suffix"),
            ("bytes=4-2", Ranged::Whole, "a reversed range is ignored"),
            ("bytes=0-1,4-5", Ranged::Whole, "several ranges get the whole file"),
            ("items=0-1", Ranged::Whole, "another unit"),
            ("bytes=x-y", Ranged::Whole, "garbage"),
        ];
        for (value, expected, why) in cases {
            assert_eq!(parse_range(value, 10), expected, "{why}");
        }
        assert_eq!(
            parse_range("bytes=0-", 0),
            Ranged::Unsatisfiable,
            "any range of an empty file"
        );
    }
}
