//! The `Range` request header (RFC 9110 section 14.2), one byte range at a
//! time: static files and media downloads answer 206 with the part asked
//! for, 416 when it lies past the end, and the whole body when the header
//! is malformed or asks for several ranges (as RFC 9110 allows).

use std::ops::Range;

/// What a `Range` header asks of a body of `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ranged {
    Whole,
    /// Start inclusive, end exclusive, both within the body.
    Part(Range<u64>),
    Unsatisfiable,
}

pub fn parse_range(value: &str, len: u64) -> Ranged {
    let Some((unit, spec)) = value.trim().split_once('=') else {
        return Ranged::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return Ranged::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ranged::Whole;
    };
    let number = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        return match number(last) {
            None => Ranged::Whole,
            Some(0) => Ranged::Unsatisfiable,
            Some(_) if len == 0 => Ranged::Unsatisfiable,
            Some(suffix) => Ranged::Part(len.saturating_sub(suffix)..len),
        };
    }
    let Some(start) = number(first) else {
        return Ranged::Whole;
    };
    let end = match (last.is_empty(), number(last)) {
        (true, _) => len,
        (false, Some(last)) if last >= start => last.saturating_add(1).min(len),
        _ => return Ranged::Whole,
    };
    if start >= len {
        return Ranged::Unsatisfiable;
    }
    Ranged::Part(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_as_rfc_9110_says() {
        let cases = [
            ("bytes=0-9", Ranged::Part(0..10), "a closed range"),
            ("bytes=90-", Ranged::Part(90..100), "an open range"),
            ("bytes=-10", Ranged::Part(90..100), "a suffix"),
            ("bytes=-500", Ranged::Part(0..100), "a suffix longer than the body"),
            ("bytes=95-200", Ranged::Part(95..100), "an end past the body is clamped"),
            ("bytes=99-99", Ranged::Part(99..100), "the last byte"),
            (" bytes = 0 - 9 ", Ranged::Part(0..10), "spaces around the parts"),
            ("BYTES=0-9", Ranged::Part(0..10), "the unit in any case"),
            ("bytes=100-", Ranged::Unsatisfiable, "a start at the end"),
            ("bytes=500-600", Ranged::Unsatisfiable, "a start past the end"),
            ("bytes=-0", Ranged::Unsatisfiable, "an empty suffix"),
            ("bytes=0-1,5-6", Ranged::Whole, "several ranges: the whole body"),
            ("bytes=9-1", Ranged::Whole, "an inverted range is malformed"),
            ("bytes=a-b", Ranged::Whole, "not numbers"),
            ("bytes=+1-5", Ranged::Whole, "a sign"),
            ("bytes=-+5", Ranged::Whole, "a signed suffix"),
            ("bytes=1", Ranged::Whole, "no dash"),
            ("bytes=-", Ranged::Whole, "no numbers"),
            ("bytes=99999999999999999999-", Ranged::Whole, "a number past u64"),
            ("items=0-9", Ranged::Whole, "another unit"),
            ("0-9", Ranged::Whole, "no unit"),
            ("", Ranged::Whole, "empty"),
        ];
        for (value, expected, why) in cases {
            assert_eq!(parse_range(value, 100), expected, "{why}: {value:?}");
        }
        assert_eq!(
            parse_range("bytes=0-", 0),
            Ranged::Unsatisfiable,
            "any range of an empty body"
        );
        assert_eq!(
            parse_range("bytes=-5", 0),
            Ranged::Unsatisfiable,
            "a suffix of an empty body"
        );
    }
}
