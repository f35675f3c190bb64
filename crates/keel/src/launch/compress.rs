//! Response compression: gzip or brotli, as the client's `Accept-Encoding`
//! asks, with `Vary: Accept-Encoding`, for text and JSON bodies above a
//! kilobyte (streamed ones, such as the CSV export, too). Never for what is
//! already compressed (images, archives, a static file's precompressed
//! sibling, which carries its own `Content-Encoding`), for ranges, or for
//! tiny bodies, where the framing costs more than it saves. zstd is left
//! out: it would bring a C library into the build for little over brotli.
//!
//! CSRF tokens are masked anew on every response, so a compressed page
//! does not leak them through its length (BREACH).

use http::header::{CONTENT_RANGE, CONTENT_TYPE};
use http::StatusCode;
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;

/// Bodies smaller than this are sent as they are.
const MIN_BYTES: u16 = 1024;

/// Types worth compressing.
const COMPRESSIBLE: &[&str] = &[
    "application/json",
    "application/problem+json",
    "application/javascript",
    "application/xml",
    "text/",
];

/// Compressible, whole (not a range) answers.
#[derive(Debug, Clone, Copy)]
pub(super) struct Compressible;

impl Predicate for Compressible {
    fn should_compress<B: hyper::body::Body>(&self, response: &http::Response<B>) -> bool {
        let kind = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        response.status() != StatusCode::PARTIAL_CONTENT
            && !response.headers().contains_key(CONTENT_RANGE)
            && COMPRESSIBLE.iter().any(|prefix| kind.starts_with(prefix))
    }
}

/// The layer, for the site's routes.
pub(super) fn layer() -> CompressionLayer<tower_http::compression::predicate::And<SizeAbove, Compressible>> {
    CompressionLayer::new()
        .gzip(true)
        .br(true)
        .compress_when(SizeAbove::new(MIN_BYTES).and(Compressible))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, kind: &str, range: bool) -> http::Response<String> {
        let mut builder = http::Response::builder().status(status).header(CONTENT_TYPE, kind);
        if range {
            builder = builder.header(CONTENT_RANGE, "bytes 0-9/100");
        }
        builder.body(String::new()).unwrap()
    }

    #[test]
    fn text_and_json_are_compressed_ranges_and_binary_types_are_not() {
        for kind in [
            "application/json",
            "application/problem+json",
            "text/csv; charset=utf-8",
            "text/html",
        ] {
            assert!(Compressible.should_compress(&response(200, kind, false)), "{kind}");
        }
        for kind in [
            "image/png",
            "application/zip",
            "application/octet-stream",
            "application/pdf",
            "",
        ] {
            assert!(!Compressible.should_compress(&response(200, kind, false)), "{kind}");
        }
        assert!(
            !Compressible.should_compress(&response(206, "text/csv", true)),
            "a range"
        );
        assert!(
            !Compressible.should_compress(&response(200, "text/plain", true)),
            "a Content-Range"
        );
    }
}
