//! Content types by file extension, and which of them are worth
//! compressing. A table rather than a MIME database: the set of types a
//! site ships as static files is small, and a guess of
//! `application/octet-stream` for the rest is safe (with `nosniff`, the
//! browser will not execute it).

/// Extension (lower case) and content type.
const TYPES: &[(&str, &str)] = &[
    ("css", "text/css; charset=utf-8"),
    ("js", "text/javascript; charset=utf-8"),
    ("mjs", "text/javascript; charset=utf-8"),
    ("json", "application/json"),
    ("map", "application/json"),
    ("webmanifest", "application/manifest+json"),
    ("html", "text/html; charset=utf-8"),
    ("htm", "text/html; charset=utf-8"),
    ("txt", "text/plain; charset=utf-8"),
    ("csv", "text/csv; charset=utf-8"),
    ("xml", "application/xml"),
    ("svg", "image/svg+xml"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
    ("ico", "image/x-icon"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("ttf", "font/ttf"),
    ("otf", "font/otf"),
    ("wasm", "application/wasm"),
    ("pdf", "application/pdf"),
];

/// Types that are already compressed (images, woff, pdf) gain nothing.
const COMPRESSIBLE: &[&str] = &[
    "application/json",
    "application/manifest+json",
    "application/xml",
    "application/wasm",
    "image/svg+xml",
    "image/x-icon",
    "font/ttf",
    "font/otf",
];

/// The fallback for unknown extensions.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// The content type of `path`, by its extension.
pub fn content_type(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let Some((_, ext)) = name.rsplit_once('.') else {
        return OCTET_STREAM;
    };
    TYPES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(ext))
        .map_or(OCTET_STREAM, |(_, ct)| ct)
}

/// Whether files of `content_type` are worth a `.gz` and `.br` sibling.
pub fn compressible(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.starts_with("text/") || COMPRESSIBLE.contains(&essence)
}

/// Whether `path` is a stylesheet (whose references are rewritten).
pub fn is_css(path: &str) -> bool {
    content_type(path).starts_with("text/css")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_follow_the_extension_case_insensitively() {
        let cases = [
            ("keel/keel.css", "text/css; charset=utf-8"),
            ("app.min.JS", "text/javascript; charset=utf-8"),
            ("img/mark.svg", "image/svg+xml"),
            ("font.woff2", "font/woff2"),
            ("LICENSE", OCTET_STREAM),
            ("archive.tar.zst", OCTET_STREAM),
        ];
        for (path, expected) in cases {
            assert_eq!(content_type(path), expected, "{path}");
        }
    }

    #[test]
    fn text_and_svg_compress_and_images_do_not() {
        assert!(compressible("text/css; charset=utf-8"));
        assert!(compressible("image/svg+xml"));
        assert!(!compressible("image/png"));
        assert!(!compressible("font/woff2"));
        assert!(!compressible(OCTET_STREAM));
    }
}
