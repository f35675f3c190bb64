//! Uploaded file names: kept as data (never as a storage key), sanitised
//! when received, ending in an extension of the sniffed type
//! ([`for_type`]), and sent back only inside a `Content-Disposition:
//! attachment` header that cannot be broken out of.
//!
//! The extension decides what a desktop opens a saved download with, so a
//! text file named `x.html` must not keep `.html` as its last extension.
//! The type's extension is appended (`x.html.txt`) rather than swapped in
//! (`x.txt`): the owner still sees the name the file was sent under, and
//! the last extension is the true one. Unknown content gets `.bin`.

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

/// The extensions of each sniffed type, its usual one first. Plain text
/// cannot be told from CSV or Markdown by its bytes, so those keep theirs.
const EXTENSIONS: &[(&str, &[&str])] = &[
    ("image/png", &["png"]),
    ("image/jpeg", &["jpg", "jpeg"]),
    ("image/gif", &["gif"]),
    ("image/webp", &["webp"]),
    ("image/avif", &["avif"]),
    ("image/heic", &["heic", "heif"]),
    ("image/heif", &["heic", "heif"]),
    ("video/mp4", &["mp4", "m4v"]),
    ("video/x-m4v", &["m4v", "mp4"]),
    ("video/quicktime", &["mov", "qt"]),
    ("video/webm", &["webm"]),
    ("audio/mpeg", &["mp3"]),
    ("audio/x-wav", &["wav"]),
    ("audio/ogg", &["ogg", "oga", "opus"]),
    ("audio/x-flac", &["flac"]),
    ("audio/m4a", &["m4a"]),
    ("application/pdf", &["pdf"]),
    ("application/gzip", &["gz", "tgz"]),
    ("application/zip", &["zip"]),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        &["docx"],
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &["xlsx"],
    ),
    (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        &["pptx"],
    ),
    ("application/vnd.oasis.opendocument.text", &["odt"]),
    ("application/vnd.oasis.opendocument.spreadsheet", &["ods"]),
    ("text/plain", &["txt", "csv", "tsv", "md", "markdown", "log", "text"]),
    ("text/html", &["html", "htm"]),
    ("image/svg+xml", &["svg"]),
    ("application/xml", &["xml"]),
    ("application/xhtml+xml", &["xhtml"]),
];

/// The extensions of `kind`, its usual one first; `bin` for a type
/// without any.
pub fn extensions(kind: &str) -> &'static [&'static str] {
    EXTENSIONS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&["bin"], |(_, extensions)| *extensions)
}

/// `raw`, sanitised, ending in an extension of the sniffed type `kind`:
/// kept when it already does (in any case), else with the type's usual
/// extension appended, the name cut so the whole fits [`MAX_NAME_BYTES`].
pub fn for_type(raw: &str, kind: &str) -> String {
    let name = sanitize(raw);
    let allowed = extensions(kind);
    let matches = name
        .rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && allowed.iter().any(|a| a.eq_ignore_ascii_case(ext)));
    if matches {
        return name;
    }
    let extension = allowed[0];
    let mut end = name.len().min(MAX_NAME_BYTES - extension.len() - 1);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}.{extension}", name[..end].trim_end())
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
    fn names_end_in_an_extension_of_their_sniffed_type() {
        let cases = [
            ("x.html", "text/plain", "x.html.txt", "text named as HTML"),
            ("x.svg", "text/plain", "x.svg.txt", "text named as SVG"),
            ("data.csv", "text/plain", "data.csv", "CSV is text"),
            ("notes.TXT", "text/plain", "notes.TXT", "an extension in capitals"),
            ("README", "text/plain", "README.txt", "no extension"),
            (".txt", "text/plain", "txt.txt", "only an extension"),
            ("photo.html", "image/png", "photo.html.png", "a PNG named as HTML"),
            (
                "photo.jpeg",
                "image/jpeg",
                "photo.jpeg",
                "the second extension of a type",
            ),
            (
                "tool.exe",
                "application/octet-stream",
                "tool.exe.bin",
                "unknown content",
            ),
            ("page.htm", "text/html", "page.htm", "HTML a field accepted by name"),
            ("../evil\".html", "text/plain", "evil_.html.txt", "sanitised first"),
            ("", "application/pdf", "file.pdf", "no name"),
        ];
        for (raw, kind, expected, why) in cases {
            assert_eq!(for_type(raw, kind), expected, "{why}");
        }
        let long = format!("{}.html", "é".repeat(150));
        let named = for_type(&long, "text/plain");
        assert!(
            named.len() <= MAX_NAME_BYTES && named.ends_with(".txt"),
            "cut to fit: {named}"
        );
        for (kind, _) in EXTENSIONS {
            let once = for_type("x.y", kind);
            assert_eq!(for_type(&once, kind), once, "{kind}: applying it twice changes nothing");
        }
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
