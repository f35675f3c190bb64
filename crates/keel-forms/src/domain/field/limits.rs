//! The limits of each field type: defaults, caps and their errors. Each
//! function takes what the client sent for its members and returns what
//! the field keeps, reporting through `Errors` what it refused.

use super::{parse_date, valid_media_range, Errors, FieldType, MAX_FILES, MAX_OPTIONS, MAX_OPTION_LEN};
use crate::domain::text::{self, Lines};

pub(super) fn length_limit(given: Option<u32>, default: u32, cap: u32, e: &mut Errors<'_>) -> u32 {
    match given {
        Some(n) if n == 0 || n > cap => {
            e.push("max_length", format!("Use a max_length from 1 to {cap}."));
            default
        }
        Some(n) => n,
        None => default,
    }
}

pub(super) fn range_limits(
    kind: FieldType,
    min: Option<serde_json::Value>,
    max: Option<serde_json::Value>,
    e: &mut Errors<'_>,
) -> (Option<serde_json::Value>, Option<serde_json::Value>) {
    let as_number = |v: &serde_json::Value| match kind {
        FieldType::Integer => v.as_i64().map(|n| n as f64),
        FieldType::Number => v.as_f64().filter(|f| f.is_finite()),
        _ => parse_date(v).map(|d| f64::from(chrono::Datelike::num_days_from_ce(&d))),
    };
    let expected = match kind {
        FieldType::Integer => "a whole number",
        FieldType::Number => "a number",
        _ => "a date as YYYY-MM-DD",
    };
    let mut read = |name: &str, value: &Option<serde_json::Value>| {
        let v = value.as_ref()?;
        let n = as_number(v);
        if n.is_none() {
            e.push(name, format!("Use {expected}."));
        }
        n
    };
    let (lo, hi) = (read("min", &min), read("max", &max));
    if let (Some(lo), Some(hi)) = (lo, hi) {
        if lo > hi {
            e.push("max", "max must not be below min.");
        }
    }
    (min, max)
}

pub(super) fn options(given: Option<Vec<String>>, e: &mut Errors<'_>) -> Vec<String> {
    let options: Vec<String> = given
        .unwrap_or_default()
        .into_iter()
        .map(|o| o.trim().to_owned())
        .collect();
    if options.is_empty() || options.len() > MAX_OPTIONS {
        e.push("options", format!("Give 1 to {MAX_OPTIONS} options."));
    }
    if options
        .iter()
        .any(|o| o.is_empty() || o.chars().count() > MAX_OPTION_LEN)
    {
        e.push("options", format!("Each option has 1 to {MAX_OPTION_LEN} characters."));
    }
    if options.iter().any(|o| !text::is_clean(o, Lines::One)) {
        e.push("options", text::CONTROL_MESSAGE);
    }
    let mut seen = std::collections::HashSet::new();
    if options.iter().any(|o| !seen.insert(o.as_str())) {
        e.push("options", "Options must be different from each other.");
    }
    options
}

pub(super) fn file_limits(
    max_files: Option<u32>,
    accept: Option<Vec<String>>,
    e: &mut Errors<'_>,
) -> (Option<u32>, Option<Vec<String>>) {
    let max_files = max_files.unwrap_or(1);
    if max_files == 0 || max_files > MAX_FILES {
        e.push("max_files", format!("Use a max_files from 1 to {MAX_FILES}."));
    }
    let accept: Vec<String> = accept
        .unwrap_or_default()
        .into_iter()
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    if accept.iter().any(|a| !valid_media_range(a)) {
        e.push("accept", "Each entry is a media type such as image/png or image/*.");
    }
    (Some(max_files), Some(accept))
}
