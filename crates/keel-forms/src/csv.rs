//! CSV cells: answers as plain text, and spreadsheet formulas neutralised.
//!
//! A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return
//! would be run as a formula by spreadsheet programs (CSV injection); it is
//! prefixed with `'`, which they show as text. Every cell is treated so,
//! the header's labels included.

use serde_json::Value;

/// An answer as one line of text: lists joined with `; `.
pub fn plain(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

/// `text`, made safe to open in a spreadsheet.
pub fn neutralise(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formulas_are_neutralised_and_plain_text_is_kept() {
        let cases = [
            ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@cmd", "'@cmd"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("plain", "plain"),
            ("", ""),
            ("a=b", "a=b"),
        ];
        for (input, expected) in cases {
            assert_eq!(neutralise(input), expected, "{input:?}");
        }
    }

    #[test]
    fn answers_become_one_line() {
        assert_eq!(plain(&json!(["a", "b"])), "a; b");
        assert_eq!(plain(&json!(true)), "true");
        assert_eq!(plain(&json!(1.5)), "1.5");
    }
}
