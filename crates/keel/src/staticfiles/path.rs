//! Which request paths may name a static file at all.
//!
//! The check is on segments, before any lookup, and refuses rather than
//! repairs: a path that needed normalizing was not made by a page of ours.
//! Percent-decoding happens per segment, so an encoded slash (`%2f`) or
//! backslash (`%5c`) can never join two segments or climb out of one.

use std::borrow::Cow;

/// Whether one decoded path segment may name a file or folder: not empty,
/// not a dotfile (which covers `.` and `..`), no backup `~` suffix, and no
/// slash, backslash, colon or control character (NUL included).
pub fn valid_segment(segment: &str) -> bool {
    !segment.is_empty()
        && !segment.starts_with('.')
        && !segment.ends_with('~')
        && !segment.chars().any(|c| matches!(c, '/' | '\\' | ':') || c.is_control())
}

/// The logical path (`keel/keel.css`) that `raw`, a request path below the
/// static URL such as `/keel/keel.css`, names; `None` when it must be a 404.
/// Borrows when nothing was percent-encoded, the common case.
pub fn request_path(raw: &str) -> Option<Cow<'_, str>> {
    let rest = raw.strip_prefix('/')?;
    if !rest.contains('%') {
        return rest.split('/').all(valid_segment).then_some(Cow::Borrowed(rest));
    }
    let mut out = String::with_capacity(rest.len());
    for (i, segment) in rest.split('/').enumerate() {
        let decoded = String::from_utf8(percent_decode(segment)?).ok()?;
        if !valid_segment(&decoded) {
            return None;
        }
        if i > 0 {
            out.push('/');
        }
        out.push_str(&decoded);
    }
    Some(Cow::Owned(out))
}

/// Whether `path` (a logical path from a manifest or a folder) is made of
/// valid segments.
pub fn valid_logical(path: &str) -> bool {
    path.split('/').all(valid_segment)
}

/// Percent-decodes one segment; `None` on a malformed escape.
fn percent_decode(segment: &str) -> Option<Vec<u8>> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let text = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(text, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_encoded_paths_of_real_files_are_accepted() {
        let cases = [
            ("/keel/keel.css", "keel/keel.css", "a plain path"),
            ("/keel/img/mark.svg", "keel/img/mark.svg", "a nested path"),
            ("/a%20b.css", "a b.css", "an encoded space"),
            ("/caf%C3%A9.css", "café.css", "encoded UTF-8"),
            (
                "/keel/keel.3f2a9c1b7d4e.css",
                "keel/keel.3f2a9c1b7d4e.css",
                "a hashed name",
            ),
        ];
        for (raw, expected, why) in cases {
            assert_eq!(request_path(raw).as_deref(), Some(expected), "{why}: {raw}");
        }
    }

    #[test]
    fn hostile_paths_are_refused() {
        let cases = [
            ("/../Cargo.toml", "a parent segment"),
            ("/keel/../../etc/passwd", "a parent segment further in"),
            ("/./keel.css", "a current-folder segment"),
            ("/%2e%2e/x", "an encoded parent segment"),
            ("/%2E%2E/x", "an encoded parent segment in upper case"),
            ("/..%2fx", "an encoded slash joining segments"),
            ("/a%2fb", "an encoded slash"),
            ("/a%5cb", "an encoded backslash"),
            ("/a\\b", "a backslash"),
            ("/%00", "an encoded NUL"),
            ("/a%00.css", "a NUL inside a name"),
            ("/%c0%ae%c0%ae/x", "overlong UTF-8 for dots"),
            ("/%ff", "invalid UTF-8"),
            ("/a%2", "a truncated escape"),
            ("/a%zz", "a malformed escape"),
            ("/keel//keel.css", "an empty segment"),
            ("/", "no file at all"),
            ("", "not even a slash"),
            ("/.env", "a dotfile"),
            ("/keel/.git/config", "a dot folder"),
            ("/keel.css~", "an editor backup"),
            ("/c:/windows", "a drive letter"),
            ("/a%0ab", "a line break"),
        ];
        for (raw, why) in cases {
            assert_eq!(request_path(raw), None, "{why}: {raw}");
        }
    }
}
