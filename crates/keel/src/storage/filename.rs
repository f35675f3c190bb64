//! Uploaded file names: kept as data (never as a storage key), sanitised
//! when received, and sent back only inside a `Content-Disposition:
//! attachment` header that cannot be broken out of.

/// The longest kept name, in bytes.
pub const MAX_NAME_BYTES: usize = 200;
/// The name of a file that came without a usable one.
pub const FALLBACK_NAME: &str = "file";

/// Characters that may reorder or hide text (bidi controls, zero widths):
/// they make `exe.pdf` look like `fdp.exe`.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// The last path segment of `raw` without control, invisible or
/// path-meaningful characters (each becomes `_`), leading dots and
/// surrounding spaces, cut to [`MAX_NAME_BYTES`]; [`FALLBACK_NAME`] when
/// nothing is left.
pub fn sanitize(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_control() || is_invisible(c) || matches!(c, '"' | '<' | '>' | ':' | '|' | '?' | '*' | '%') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let mut end = trimmed.len().min(MAX_NAME_BYTES);
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    let name = trimmed[..end].trim_end();
    if name.is_empty() {
        FALLBACK_NAME.to_owned()
    } else {
        name.to_owned()
    }
}

/// `attachment` with an ASCII `filename` for old clients and the exact
/// name as RFC 8187 `filename*`.
pub fn content_disposition(name: &str) -> String {
    let name = sanitize(name);
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' })
        .map(|c| if c == '\\' { '_' } else { c })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_made_harmless() {
        let cases = [
            ("report.pdf", "report.pdf", "an ordinary name stays"),
            ("../../evil\".html", "evil_.html", "path and quote removed"),
            ("C:\\Users\\a\\cv.docx", "cv.docx", "a Windows path"),
            ("..", "file", "only dots"),
            (".htaccess", "htaccess", "a hidden file"),
            ("a\r\nSet-Cookie: x", "a__Set-Cookie_ x", "header injection"),
            ("photo\u{202e}gpj.exe", "photo_gpj.exe", "a bidi override"),
            ("  spaced  ", "spaced", "surrounding spaces"),
            ("", "file", "no name"),
            ("résumé.pdf", "résumé.pdf", "non-ASCII letters stay"),
        ];
        for (raw, expected, why) in cases {
            assert_eq!(sanitize(raw), expected, "{why}");
        }
        let long = "é".repeat(300);
        assert!(sanitize(&long).len() <= MAX_NAME_BYTES, "cut on a character boundary");
    }

    #[test]
    fn the_disposition_cannot_be_broken_out_of() {
        assert_eq!(
            content_disposition("../../evil\".html"),
            "attachment; filename=\"evil_.html\"; filename*=UTF-8''evil_.html"
        );
        assert_eq!(
            content_disposition("résumé 1.pdf"),
            "attachment; filename=\"r_sum_ 1.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%201.pdf"
        );
        for name in ["a\"b", "a\\b", "a\nb", "a;b=c"] {
            let header = content_disposition(name);
            assert!(
                http::HeaderValue::from_str(&header).is_ok(),
                "{name:?} gives a valid header"
            );
            assert_eq!(
                header.matches('"').count(),
                2,
                "{name:?}: only the two quotes of filename"
            );
        }
    }
}
