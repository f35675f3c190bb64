//! Telling a file's type from its first bytes, never from what the client
//! declared or from the name's extension, which are both the attacker's.
//!
//! Magic numbers first (the `infer` crate's table: images, audio, video,
//! PDF, archives; ZIP and the office formats inside it by Keel's own look
//! at the parts it names), then markup that a browser would run (HTML, SVG,
//! XML) and plain text. Markup is found by the way
//! the content starts and also anywhere in the sniffed prefix (an active
//! element, a doctype, an XML declaration, an `on…=` handler in any tag),
//! case-insensitively: `notes\n<script>` is HTML, not text. The trade-off
//! is that a text file which quotes such a tag is taken for markup, which
//! a field must then name to accept. Anything else is unknown,
//! which the caller treats as `application/octet-stream`. [`ACTIVE`] types
//! can carry script: they are never served as themselves.

/// How many leading bytes [`sniff`] looks at; give it at least this many
/// when the file is that long.
pub const SNIFF_LEN: usize = 8192;

/// The fallback type of unknown content.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// Types a browser would execute or render with script.
pub const ACTIVE: &[&str] = &["text/html", "image/svg+xml", "application/xml", "application/xhtml+xml"];

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

/// Elements that run script, load resources or navigate: found anywhere
/// in the sniffed prefix (lowercase, followed by whitespace, `/`, `>` or
/// the end), they make the content markup, whatever text comes first.
const ACTIVE_TAGS: &[&str] = &[
    "html", "head", "body", "script", "iframe", "frame", "frameset", "object", "embed", "applet", "a", "img", "meta",
    "style", "link", "base", "form", "svg", "math", "title",
];

/// The type of content that starts with `head`, if recognised.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"PK\x03\x04") {
        return Some(zip_kind(head));
    }
    if let Some(kind) = binary_kind(head) {
        return Some(kind);
    }
    markup(head).or_else(|| is_text(head).then_some("text/plain"))
}

/// A binary format by its magic number (images, audio, video, documents,
/// archives), from the `infer` crate's table. Its text matchers (HTML,
/// XML, shell scripts) are left out: markup is judged by Keel's own rules
/// below, which look further than the first bytes.
///
/// Some of those magic numbers are two or three printable bytes (`MZ`,
/// `ID3`): a head that is all text is text, whatever it starts with, except
/// for PDF, whose `%PDF-` is unmistakable.
fn binary_kind(head: &[u8]) -> Option<&'static str> {
    let kind = infer::get(head).filter(|kind| kind.matcher_type() != infer::MatcherType::Text)?;
    let kind = kind.mime_type();
    (kind == "application/pdf" || !is_text(head)).then_some(kind)
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
    let lower: Vec<u8> = start.iter().take(SNIFF_LEN).map(u8::to_ascii_lowercase).collect();
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
        markup_inside(&lower)
    }
}

/// Markup after some other content: an active element, a doctype, an XML
/// declaration or an `on…=` handler in any tag, anywhere in `lower`.
fn markup_inside(lower: &[u8]) -> Option<&'static str> {
    let contains = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    lower
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'<')
        .find_map(|(i, _)| {
            let rest = &lower[i + 1..];
            if rest.starts_with(b"svg") && ends_name(&rest[3..]) {
                Some("image/svg+xml")
            } else if rest.starts_with(b"?xml") && ends_name(&rest[4..]) {
                Some(if contains(b"<html") {
                    "application/xhtml+xml"
                } else {
                    "application/xml"
                })
            } else if rest.starts_with(b"!doctype") || active_tag(rest) || has_handler(rest) {
                Some("text/html")
            } else {
                None
            }
        })
}

/// Whether a tag name ends here: whitespace, `/`, `>` or the end.
fn ends_name(rest: &[u8]) -> bool {
    rest.first()
        .is_none_or(|b| b.is_ascii_whitespace() || matches!(b, b'/' | b'>'))
}

/// Whether `rest` (what follows a `<`) opens one of [`ACTIVE_TAGS`].
fn active_tag(rest: &[u8]) -> bool {
    ACTIVE_TAGS
        .iter()
        .any(|tag| rest.starts_with(tag.as_bytes()) && ends_name(&rest[tag.len()..]))
}

/// Whether `rest` (what follows a `<`) is a tag with an event handler
/// attribute (`onload=`, `onerror =` …) before its `>`.
fn has_handler(rest: &[u8]) -> bool {
    if !rest.first().is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    let end = rest.iter().position(|b| matches!(b, b'>' | b'<')).unwrap_or(rest.len());
    let tag = &rest[..end];
    (1..tag.len()).any(|i| {
        let separated = tag[i - 1].is_ascii_whitespace() || matches!(tag[i - 1], b'/' | b'"' | b'\'');
        let name = &tag[i..];
        if !separated || !name.starts_with(b"on") {
            return false;
        }
        let letters = name[2..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
        let after = &name[2 + letters..];
        let after = &after[after.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
        letters > 0 && after.first() == Some(&b'=')
    })
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
mod tests;
