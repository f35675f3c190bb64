//! Files in submissions: which sniffed types a file field's `accept`
//! admits, and how large a multipart body for a form may be.
//!
//! The type is always the one sniffed from the content (see
//! `keel::storage::sniff`), never the one the client declared. A field
//! without `accept` takes any file but active content (HTML, SVG, XML),
//! and a `type/*` range never admits it either: those must be named
//! exactly. Plain text cannot be told from CSV or Markdown by its bytes, so
//! text admits those too.

use super::field::{Field, FieldType};

/// What a multipart body may hold besides its files (the token, the
/// answers, part headers and boundaries).
pub const MULTIPART_OVERHEAD: u64 = 1024 * 1024;

/// Types whose content is plain text as far as sniffing can tell.
const TEXT_FORMATS: &[&str] = &["text/plain", "text/csv", "text/markdown", "text/tab-separated-values"];

/// Whether a file of the sniffed type `kind` may be uploaded to a field
/// with these `accept` ranges.
pub fn accepts(accept: &[String], kind: &str) -> bool {
    if accept.is_empty() {
        return !keel::storage::sniff::is_active(kind);
    }
    accept.iter().any(|range| {
        if range == kind || (kind == "text/plain" && TEXT_FORMATS.contains(&range.as_str())) {
            return true;
        }
        match range.strip_suffix("/*") {
            Some(family) => {
                kind.split_once('/').is_some_and(|(k, _)| k == family) && !keel::storage::sniff::is_active(kind)
            }
            None => false,
        }
    })
}

/// How many files a submission to a form with `fields` may carry.
pub fn max_files_total(fields: &[Field]) -> u64 {
    fields
        .iter()
        .filter(|f| f.kind == FieldType::File)
        .map(|f| u64::from(f.max_files.unwrap_or(1)))
        .sum()
}

/// The largest multipart body for a form: its files at `max_upload` bytes
/// each, plus [`MULTIPART_OVERHEAD`].
pub fn multipart_limit(fields: &[Field], max_upload: u64) -> u64 {
    max_files_total(fields)
        .saturating_mul(max_upload)
        .saturating_add(MULTIPART_OVERHEAD)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(ranges: &[&str]) -> Vec<String> {
        ranges.iter().map(|r| (*r).to_owned()).collect()
    }

    #[test]
    fn accept_ranges_admit_sniffed_types() {
        let cases = [
            (&["image/png"][..], "image/png", true, "an exact type"),
            (&["image/*"][..], "image/jpeg", true, "a range"),
            (&["image/*"][..], "image/svg+xml", false, "a range never admits SVG"),
            (&["image/svg+xml"][..], "image/svg+xml", true, "SVG when named"),
            (&["text/*"][..], "text/html", false, "a range never admits HTML"),
            (&["image/png"][..], "text/html", false, "HTML declared as PNG"),
            (&["text/csv"][..], "text/plain", true, "CSV is sniffed as text"),
            (
                &["application/pdf"][..],
                "application/octet-stream",
                false,
                "unknown content",
            ),
            (
                &[][..],
                "application/octet-stream",
                true,
                "no accept takes unknown content",
            ),
            (&[][..], "text/plain", true, "no accept takes text"),
            (&[][..], "text/html", false, "no accept never takes HTML"),
            (&[][..], "image/svg+xml", false, "no accept never takes SVG"),
            (&[][..], "application/xml", false, "no accept never takes XML"),
            (&["text/plain"][..], "text/html", false, "text never admits HTML"),
            (&["text/html"][..], "text/html", true, "HTML when named"),
            (&["application/pdf", "image/*"][..], "image/gif", true, "any of several"),
        ];
        for (accept, kind, expected, why) in cases {
            assert_eq!(accepts(&list(accept), kind), expected, "{why}");
        }
    }

    #[test]
    fn the_multipart_limit_follows_the_file_fields() {
        let fields: Vec<Field> = serde_json::from_value(serde_json::json!([
            {"key": "a", "label": "A", "type": "file", "required": false, "help": "", "max_files": 3},
            {"key": "b", "label": "B", "type": "file", "required": false, "help": ""},
            {"key": "c", "label": "C", "type": "short_text", "required": false, "help": ""}
        ]))
        .unwrap();
        assert_eq!(max_files_total(&fields), 4);
        assert_eq!(multipart_limit(&fields, 10), 40 + MULTIPART_OVERHEAD);
        assert_eq!(
            multipart_limit(&fields[2..], 10),
            MULTIPART_OVERHEAD,
            "no files: the answers only"
        );
    }
}
