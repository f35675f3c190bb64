//! Telling a file's type from its first bytes, never from what the client
//! declared or from the name's extension, which are both the attacker's.
//!
//! A table of magic numbers for the formats a form usually takes (images,
//! PDF, ZIP and the office formats inside it), then markup that a browser
//! would run (HTML, SVG, XML) and plain text. Anything else is unknown,
//! which the caller treats as `application/octet-stream`. [`ACTIVE`] types
//! can carry script: they are never served as themselves.

/// How many leading bytes [`sniff`] looks at; give it at least this many
/// when the file is that long.
pub const SNIFF_LEN: usize = 8192;

/// The fallback type of unknown content.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// Types a browser would execute or render with script.
pub const ACTIVE: &[&str] = &["text/html", "image/svg+xml", "application/xml", "application/xhtml+xml"];

/// (offset, magic bytes, type), checked in order.
const MAGIC: &[(usize, &[u8], &str)] = &[
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"\x1f\x8b", "application/gzip"),
    (4, b"ftypavif", "image/avif"),
    (4, b"ftypheic", "image/heic"),
    (4, b"ftypisom", "video/mp4"),
    (4, b"ftypmp42", "video/mp4"),
];

/// Markup a browser runs, by the (case-insensitive) way it starts.
const HTML_STARTS: &[&str] = &[
    "<!doctype html",
    "<html",
    "<head",
    "<body",
    "<script",
    "<iframe",
    "<style",
    "<title",
    "<div",
    "<table",
    "<a ",
    "<img",
    "<p>",
    "<br",
    "<h1",
    "<!--",
];

/// The type of content that starts with `head`, if recognised.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    if let Some((_, _, kind)) = MAGIC
        .iter()
        .find(|(offset, magic, _)| head.get(*offset..*offset + magic.len()) == Some(*magic))
    {
        return Some(kind);
    }
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        return Some("image/webp");
    }
    if head.starts_with(b"PK\x03\x04") {
        return Some(zip_kind(head));
    }
    markup(head).or_else(|| is_text(head).then_some("text/plain"))
}

/// ZIP, or the office format whose parts it names near its start.
fn zip_kind(head: &[u8]) -> &'static str {
    let names = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if head.get(30..38) == Some(b"mimetype") {
        if names(b"application/vnd.oasis.opendocument.text") {
            return "application/vnd.oasis.opendocument.text";
        }
        if names(b"application/vnd.oasis.opendocument.spreadsheet") {
            return "application/vnd.oasis.opendocument.spreadsheet";
        }
    }
    if names(b"word/") {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    } else if names(b"xl/") {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    } else if names(b"ppt/") {
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    } else {
        "application/zip"
    }
}

fn markup(head: &[u8]) -> Option<&'static str> {
    let start = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = &start[start.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    let lower: Vec<u8> = start.iter().take(512).map(u8::to_ascii_lowercase).collect();
    let contains = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    if HTML_STARTS.iter().any(|s| lower.starts_with(s.as_bytes())) {
        Some("text/html")
    } else if lower.starts_with(b"<svg") || (lower.starts_with(b"<?xml") && contains(b"<svg")) {
        Some("image/svg+xml")
    } else if lower.starts_with(b"<?xml") && contains(b"<html") {
        Some("application/xhtml+xml")
    } else if lower.starts_with(b"<?xml") {
        Some("application/xml")
    } else {
        None
    }
}

/// UTF-8 (a sequence cut at the end of `head` allowed) without control
/// characters other than tab, newlines, form feed and escape.
fn is_text(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    let valid = match std::str::from_utf8(head) {
        Ok(text) => text,
        // A multi-byte character cut by the end of `head` is fine.
        Err(err) if err.error_len().is_none() && head.len() - err.valid_up_to() < 4 => {
            std::str::from_utf8(&head[..err.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    valid
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\u{c}' | '\u{1b}'))
}

/// Whether content of `kind` can carry script in a browser.
pub fn is_active(kind: &str) -> bool {
    ACTIVE.contains(&kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides_the_type() {
        let cases: &[(&[u8], Option<&str>, &str)] = &[
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Some("image/png"), "a PNG"),
            (b"\xff\xd8\xff\xe0\0\x10JFIF", Some("image/jpeg"), "a JPEG"),
            (b"GIF89a\x01\0", Some("image/gif"), "a GIF"),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Some("image/webp"), "a WebP"),
            (b"%PDF-1.7\n", Some("application/pdf"), "a PDF"),
            (
                b"PK\x03\x04\x14\0\0\0\0\0word/document.xml",
                Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                "a docx",
            ),
            (b"PK\x03\x04\x14\0\0\0\0\0other.txt", Some("application/zip"), "a zip"),
            (b"  <!DOCTYPE html><html>", Some("text/html"), "HTML after spaces"),
            (
                b"\xef\xbb\xbf<script>alert(1)</script>",
                Some("text/html"),
                "a script after a BOM",
            ),
            (
                b"<?xml version=\"1.0\"?><svg xmlns=",
                Some("image/svg+xml"),
                "SVG with a prolog",
            ),
            (b"<svg onload=alert(1)>", Some("image/svg+xml"), "bare SVG"),
            (b"<?xml version=\"1.0\"?><note/>", Some("application/xml"), "XML"),
            (b"name,age\nAda,36\n", Some("text/plain"), "CSV is text"),
            ("caf\u{e9} \u{2603}".as_bytes(), Some("text/plain"), "UTF-8 text"),
            (
                &"\u{2603}".as_bytes()[..2],
                Some("text/plain"),
                "a character cut at the end",
            ),
            (b"MZ\x90\0\x03\0\0\0", None, "an executable"),
            (b"text\0with a NUL", None, "binary with a NUL"),
            (b"", None, "nothing"),
        ];
        for (head, expected, why) in cases {
            assert_eq!(sniff(head), *expected, "{why}");
        }
    }

    #[test]
    fn markup_is_active_and_images_are_not() {
        assert!(is_active("text/html"));
        assert!(is_active("image/svg+xml"));
        assert!(!is_active("image/png"));
        assert!(!is_active("text/plain"));
    }
}
