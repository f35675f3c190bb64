//! Answering a GET or HEAD for an asset: content negotiation, conditional
//! requests (RFC 9110 §13) and single byte ranges.
//!
//! Order: choose the representation by `Accept-Encoding`; `If-None-Match`
//! (or, without it, `If-Modified-Since`) may end in 304; then `Range`, which
//! always applies to the identity body (ranges of a compressed body would
//! make clients splice bytes of different encodings). Several ranges, or a
//! malformed `Range`, are answered with the whole file, as RFC 9110 allows.

use std::ops::Range;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderMap, HeaderValue};
use http::StatusCode;

use super::asset::{Asset, Representation};
use crate::http::range::{parse_range, Ranged};
use crate::http::Problem;

/// How many headers a static response ends up with, about.
const RESPONSE_HEADERS: usize = 24;

/// The response to a GET (or, with `head`, a HEAD) of `asset`.
pub(crate) fn respond(asset: &Asset, head: bool, headers: &HeaderMap) -> Response {
    let chosen = negotiate(asset, headers.get(header::ACCEPT_ENCODING));
    if not_modified(asset, headers) {
        return build(asset, chosen, StatusCode::NOT_MODIFIED, Body::empty());
    }
    let len = asset.identity.body.len() as u64;
    let range = headers
        .get(header::RANGE)
        .filter(|_| if_range_holds(asset, headers))
        .and_then(|value| value.to_str().ok())
        .map_or(Ranged::Whole, |value| parse_range(value, len));
    match range {
        Ranged::Whole => {
            let body = if head {
                Body::empty()
            } else {
                Body::from(chosen.body.clone())
            };
            let mut response = build(asset, chosen, StatusCode::OK, body);
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, chosen.length.clone());
            response
        }
        Ranged::Part(part) => partial(asset, part, len, head),
        Ranged::Unsatisfiable => {
            let mut response = Problem::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range-not-satisfiable",
                "The requested range is not inside the file.",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_RANGE, content_range(&format!("*/{len}")));
            response
        }
    }
}

fn partial(asset: &Asset, part: Range<u64>, len: u64, head: bool) -> Response {
    let identity = &asset.identity;
    let body = if head {
        Body::empty()
    } else {
        // Both ends are within the body: parse_range clamps them to `len`.
        Body::from(identity.body.slice(part.start as usize..part.end as usize))
    };
    let mut response = build(asset, identity, StatusCode::PARTIAL_CONTENT, body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(part.end - part.start));
    let range = format!("{}-{}/{len}", part.start, part.end - 1);
    headers.insert(header::CONTENT_RANGE, content_range(&range));
    response
}

fn content_range(range: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("bytes {range}")).unwrap_or(HeaderValue::from_static("bytes */0"))
}

/// A response of `status` with the headers every answer for `asset` has.
fn build(asset: &Asset, chosen: &Representation, status: StatusCode, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    // Room for these and the outer layers' (security headers, request id,
    // CORS), so the map is allocated once instead of grown three times.
    *response.headers_mut() = HeaderMap::with_capacity(RESPONSE_HEADERS);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, asset.content_type.clone());
    headers.insert(header::ETAG, chosen.etag.clone());
    headers.insert(header::CACHE_CONTROL, asset.cache_control.clone());
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some((_, modified)) = &asset.last_modified {
        headers.insert(header::LAST_MODIFIED, modified.clone());
    }
    if asset.has_variants() {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if let Some(encoding) = &chosen.encoding {
        headers.insert(header::CONTENT_ENCODING, encoding.clone());
    }
    response
}

/// The best representation the client accepts: the highest `q`, brotli
/// before gzip on a tie, identity when neither is acceptable.
fn negotiate<'a>(asset: &'a Asset, accept: Option<&HeaderValue>) -> &'a Representation {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()).filter(|_| asset.has_variants()) else {
        return &asset.identity;
    };
    let q_br = asset.br.as_ref().map_or(0.0, |_| quality(accept, "br"));
    let q_gzip = asset
        .gzip
        .as_ref()
        .map_or(0.0, |_| quality(accept, "gzip").max(quality(accept, "x-gzip")));
    match (&asset.br, &asset.gzip) {
        (Some(br), _) if q_br > 0.0 && q_br >= q_gzip => br,
        (_, Some(gzip)) if q_gzip > 0.0 => gzip,
        _ => &asset.identity,
    }
}

/// The `q` that `Accept-Encoding` gives `coding` (0 when absent and no
/// `*`; 1 when listed without `q`; a malformed `q` counts as 0).
fn quality(accept: &str, coding: &str) -> f32 {
    let mut wildcard = 0.0;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let q = parts
            .find_map(|p| {
                let (key, value) = p.split_once('=')?;
                key.trim().eq_ignore_ascii_case("q").then(|| value.trim())
            })
            .map_or(1.0, |q| {
                q.parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)).unwrap_or(0.0)
            });
        if name.eq_ignore_ascii_case(coding) {
            return q;
        }
        if name == "*" {
            wildcard = q;
        }
    }
    wildcard
}

/// `If-None-Match` (any representation's ETag, weak comparison), else
/// `If-Modified-Since`.
fn not_modified(asset: &Asset, headers: &HeaderMap) -> bool {
    if let Some(value) = headers.get(header::IF_NONE_MATCH) {
        let Ok(text) = value.to_str() else {
            return false;
        };
        return text.trim() == "*"
            || text.split(',').any(|tag| {
                let tag = tag.trim().trim_start_matches("W/");
                asset.representations().any(|r| r.etag.as_bytes() == tag.as_bytes())
            });
    }
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    match (since, &asset.last_modified) {
        (Some(since), Some((modified, _))) => since
            .duration_since(std::time::UNIX_EPOCH)
            .is_ok_and(|since| *modified <= since.as_secs()),
        _ => false,
    }
}

/// Whether `If-Range` (absent, the identity's strong ETag, or the exact
/// modification date) lets the `Range` apply.
fn if_range_holds(asset: &Asset, headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::IF_RANGE) else {
        return true;
    };
    if value.as_bytes().starts_with(b"\"") {
        return value == asset.identity.etag;
    }
    let date = value.to_str().ok().and_then(|v| httpdate::parse_http_date(v).ok());
    match (date, &asset.last_modified) {
        (Some(date), Some((modified, _))) => date
            .duration_since(std::time::UNIX_EPOCH)
            .is_ok_and(|date| date.as_secs() == *modified),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_values_follow_the_header() {
        let cases = [
            ("gzip, br", "br", 1.0),
            ("gzip;q=0.5, br;q=0", "br", 0.0),
            ("gzip;q=0.5", "gzip", 0.5),
            ("*;q=0.3", "br", 0.3),
            ("identity", "gzip", 0.0),
            ("GZIP;Q=0.7", "gzip", 0.7),
            ("gzip;q=2", "gzip", 0.0),
        ];
        for (accept, coding, q) in cases {
            assert_eq!(quality(accept, coding), q, "{accept} for {coding}");
        }
    }
}
