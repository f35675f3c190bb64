//! CSV lines: answers as plain text, every cell quoted, and spreadsheet
//! formulas neutralised.
//!
//! A spreadsheet runs a cell as a formula when it begins with `=`, `+`,
//! `-`, `@`, a tab or a carriage return (CSV injection). Which character
//! separates cells depends on the program and its locale (`,`, `;` or a
//! tab), so text such as `Bob;+cmd` starts a formula in the second cell of
//! a program that splits on `;`. Two defences, on every cell, the header's
//! labels included:
//!
//! - every cell is quoted, so a reader that honours quotes never splits
//!   inside one, whatever its separator;
//! - a cell with a trigger at its start, or right after a separator
//!   character (`,` `;` tab) or a line break, is prefixed with `'`, which
//!   spreadsheets show as text. The trade-off: such text (`a;-b`) comes
//!   back with a leading `'`; a cell is never otherwise altered.

use serde_json::Value;

/// Characters that start a formula.
const TRIGGERS: &[char] = &['=', '+', '-', '@', '\t', '\r'];
/// Characters after which a spreadsheet may start a new cell or line.
const SEPARATORS: &[char] = &[',', ';', '\t', '\n', '\r'];

/// An answer as one line of text: lists joined with `; `.
pub fn plain(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

/// Whether `text` holds a formula trigger at its start or right after a
/// separator character.
fn holds_formula(text: &str) -> bool {
    let mut after_separator = true;
    for c in text.chars() {
        if after_separator && TRIGGERS.contains(&c) {
            return true;
        }
        after_separator = SEPARATORS.contains(&c);
    }
    false
}

/// `text`, made safe to open in a spreadsheet.
pub fn neutralise(text: &str) -> String {
    if holds_formula(text) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// One CSV record ending in CRLF: every cell neutralised and quoted.
pub fn line(cells: impl IntoIterator<Item = String>) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::new());
    let cells: Vec<String> = cells.into_iter().map(|c| neutralise(&c)).collect();
    // Writing to a Vec cannot fail; an empty line would only lose the row.
    let _ = writer.write_record(&cells);
    writer.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formulas_are_neutralised_and_plain_text_is_kept() {
        let cases = [
            ("=SUM(A1:A2)", "'=SUM(A1:A2)", "a formula"),
            ("+1", "'+1", "a plus"),
            ("-1", "'-1", "a minus"),
            ("@cmd", "'@cmd", "an at sign"),
            ("\tx", "'\tx", "a leading tab"),
            ("\rx", "'\rx", "a leading CR"),
            (
                "Bob;+cmd|' /C calc'!A0",
                "'Bob;+cmd|' /C calc'!A0",
                "a formula after `;`",
            ),
            ("Bob,=1+1", "'Bob,=1+1", "a formula after `,`"),
            ("Bob\t@x", "'Bob\t@x", "a formula after a tab"),
            ("line\n-1", "'line\n-1", "a formula after a newline"),
            ("line\r\n=1", "'line\r\n=1", "a formula after CRLF"),
            ("a;\t=1", "'a;\t=1", "a tab after `;` is itself a trigger"),
            ("plain", "plain", "plain text"),
            ("", "", "nothing"),
            ("a=b", "a=b", "a trigger inside a word"),
            ("a; b-c", "a; b-c", "a space after the separator"),
            ("1,5", "1,5", "a decimal comma"),
        ];
        for (input, expected, why) in cases {
            assert_eq!(neutralise(input), expected, "{why}: {input:?}");
        }
    }

    #[test]
    fn every_cell_is_quoted() {
        let cases = [
            (vec!["a", "b"], "\"a\",\"b\"\r\n", "plain cells"),
            (vec!["Bob;+x"], "\"'Bob;+x\"\r\n", "a neutralised cell"),
            (vec!["say \"hi\""], "\"say \"\"hi\"\"\"\r\n", "quotes doubled"),
            (vec![""], "\"\"\r\n", "an empty cell"),
        ];
        for (cells, expected, why) in cases {
            let bytes = line(cells.into_iter().map(str::to_owned));
            assert_eq!(String::from_utf8(bytes).unwrap(), expected, "{why}");
        }
    }

    #[test]
    fn answers_become_one_line() {
        assert_eq!(plain(&json!(["a", "b"])), "a; b");
        assert_eq!(plain(&json!(true)), "true");
        assert_eq!(plain(&json!(1.5)), "1.5");
    }

    proptest::proptest! {
        #[test]
        fn no_neutralised_cell_starts_a_formula(text in "\\PC{0,40}") {
            let safe = neutralise(&text);
            proptest::prop_assert!(!safe.starts_with(TRIGGERS));
            let prefixed = format!("'{text}");
            proptest::prop_assert!(safe == text || safe == prefixed);
        }
    }
}
