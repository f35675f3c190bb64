//! Rewriting the references inside a stylesheet to content-hashed names.
//!
//! A small scanner, not a CSS parser: it finds `url(...)` (quoted or not)
//! and `@import "..."`, and skips comments and other strings, so
//! `content: "url(x)"` is left alone. Only the file name of a reference is
//! replaced (the hashed file sits in the same folder), so a relative
//! reference stays relative and its query or fragment stays on.

use std::ops::Range;

/// The byte spans of every reference's URL text in `css`.
pub fn references(css: &str) -> Vec<Range<usize>> {
    let b = css.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"/*") {
            i = find(b, i + 2, b"*/").map_or(b.len(), |end| end + 2);
        } else if starts_with_ci(b, i, b"url(") && (i == 0 || !is_ident(b[i - 1])) {
            let (span, next) = url_token(b, i + 4);
            out.extend(span);
            i = next;
        } else if starts_with_ci(b, i, b"@import") {
            let j = skip_ws(b, i + 7);
            match b.get(j) {
                Some(b'"' | b'\'') => {
                    let (span, next) = quoted(b, j);
                    out.push(span);
                    i = next;
                }
                _ => i = j.max(i + 1),
            }
        } else if b[i] == b'"' || b[i] == b'\'' {
            i = quoted(b, i).1;
        } else {
            i += 1;
        }
    }
    out
}

/// `css` with every reference that `resolve` knows replaced. `resolve`
/// receives the logical path of a referenced file and answers its hashed
/// logical path. `css_path` is the stylesheet's own logical path;
/// `static_prefix` the path form of the static URL (`/static/`), for
/// absolute references. Returns the new text and the references that name
/// no known file.
pub fn rewrite(
    css: &str,
    css_path: &str,
    static_prefix: Option<&str>,
    resolve: &mut dyn FnMut(&str) -> Option<String>,
) -> (String, Vec<String>) {
    let mut out = String::with_capacity(css.len());
    let mut unknown = Vec::new();
    let mut copied = 0;
    for span in references(css) {
        let url = &css[span.clone()];
        let Some((logical, name)) = target(css_path, url, static_prefix) else {
            continue;
        };
        let Some(hashed) = resolve(&logical) else {
            unknown.push(url.to_owned());
            continue;
        };
        let hashed_name = hashed.rsplit('/').next().unwrap_or(&hashed);
        out.push_str(&css[copied..span.start + name.start]);
        out.push_str(hashed_name);
        copied = span.start + name.end;
    }
    out.push_str(&css[copied..]);
    (out, unknown)
}

/// The logical path a reference names and the span of its file name within
/// `url`; `None` for data URIs, fragments, other sites and absolute paths
/// outside the static URL.
pub fn target(css_path: &str, url: &str, static_prefix: Option<&str>) -> Option<(String, Range<usize>)> {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let path = &url[..end];
    if path.is_empty() || path.starts_with("//") || has_scheme(path) {
        return None;
    }
    let name_start = path.rfind('/').map_or(0, |slash| slash + 1);
    if name_start == end {
        return None;
    }
    let logical = if path.starts_with('/') {
        normalize("", path.strip_prefix(static_prefix?)?)?
    } else {
        let dir = css_path.rsplit_once('/').map_or("", |(dir, _)| dir);
        normalize(dir, path)?
    };
    Some((logical, name_start..end))
}

/// `base` joined with the relative `path`, `.` and `..` resolved; `None`
/// when `..` climbs above the root.
fn normalize(base: &str, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

fn has_scheme(path: &str) -> bool {
    path.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty() && !scheme.contains('/') && scheme.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'+')
    })
}

/// After `url(`: the span of the URL text (if any) and where to go on.
fn url_token(b: &[u8], start: usize) -> (Option<Range<usize>>, usize) {
    let i = skip_ws(b, start);
    if let Some(b'"' | b'\'') = b.get(i) {
        let (span, next) = quoted(b, i);
        return (Some(span), next);
    }
    let mut end = i;
    while end < b.len() && b[end] != b')' && !b[end].is_ascii_whitespace() {
        end += 1;
    }
    ((end > i).then_some(i..end), end)
}

/// A string starting at the quote `b[start]`: the span inside the quotes
/// and the index after the closing quote.
fn quoted(b: &[u8], start: usize) -> (Range<usize>, usize) {
    let quote = b[start];
    let mut i = start + 1;
    while i < b.len() && b[i] != quote && b[i] != b'\n' {
        i += if b[i] == b'\\' { 2 } else { 1 };
    }
    let end = i.min(b.len());
    (start + 1..end, (end + 1).min(b.len()))
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn starts_with_ci(b: &[u8], i: usize, pattern: &[u8]) -> bool {
    b.get(i..i + pattern.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(pattern))
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashed(path: &str) -> Option<String> {
        let known = [
            "keel/img/mark.svg",
            "keel/base.css",
            "fonts/a.woff2",
            "keel/img/x y.png",
        ];
        known.contains(&path).then(|| match path.rsplit_once('.') {
            Some((stem, ext)) => format!("{stem}.0123456789ab.{ext}"),
            None => path.to_owned(),
        })
    }

    fn run(css: &str) -> String {
        rewrite(css, "keel/keel.css", Some("/static/"), &mut hashed).0
    }

    #[test]
    fn references_of_every_form_are_rewritten() {
        let cases = [
            (
                "a{b:url(img/mark.svg)}",
                "a{b:url(img/mark.0123456789ab.svg)}",
                "unquoted",
            ),
            (
                "a{b:url( 'img/mark.svg' )}",
                "a{b:url( 'img/mark.0123456789ab.svg' )}",
                "single quotes",
            ),
            (
                "a{b:URL(\"./img/mark.svg\")}",
                "a{b:URL(\"./img/mark.0123456789ab.svg\")}",
                "dot segment",
            ),
            (
                "@import \"base.css\";",
                "@import \"base.0123456789ab.css\";",
                "@import string",
            ),
            (
                "@import url(base.css);",
                "@import url(base.0123456789ab.css);",
                "@import url",
            ),
            (
                "a{b:url(../fonts/a.woff2?#iefix)}",
                "a{b:url(../fonts/a.0123456789ab.woff2?#iefix)}",
                "query kept",
            ),
            (
                "a{b:url(/static/keel/base.css)}",
                "a{b:url(/static/keel/base.0123456789ab.css)}",
                "absolute",
            ),
        ];
        for (css, expected, why) in cases {
            assert_eq!(run(css), expected, "{why}");
        }
    }

    #[test]
    fn other_references_and_lookalikes_are_left_alone() {
        let cases = [
            ("a{b:url(data:image/png;base64,AAAA)}", "a data URI"),
            ("a{b:url(https://cdn.example.com/x.svg)}", "another site"),
            ("a{b:url(//cdn.example.com/x.svg)}", "a scheme-relative URL"),
            ("a{b:url(#gradient)}", "a fragment"),
            ("a{b:url(/elsewhere/x.svg)}", "an absolute path outside the static URL"),
            ("/* url(img/mark.svg) */", "a comment"),
            ("a::after{content:\"url(img/mark.svg)\"}", "a string"),
            ("a{b:myurl(img/mark.svg)}", "a longer function name"),
            ("a{b:url(../../../x.svg)}", "climbing above the root"),
            ("a{b:url(img/missing.svg)}", "an unknown file"),
        ];
        for (css, why) in cases {
            assert_eq!(run(css), css, "{why}");
        }
    }

    #[test]
    fn unknown_references_are_reported() {
        let (_, unknown) = rewrite("a{b:url(img/missing.svg)}", "keel/keel.css", None, &mut hashed);
        assert_eq!(unknown, ["img/missing.svg"]);
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for css in [
            "url(",
            "url('abc",
            "@import \"",
            "/* open",
            "\"",
            "@import",
            "url(\"a\\",
        ] {
            let _ = run(css);
        }
    }
}
