//! The one rule for control characters in the text the forms API accepts.
//!
//! Single-line text (a title, a label, an option, a short answer, a URL)
//! holds no control character at all (Unicode `Cc`: C0, DEL and C1) and
//! no line or paragraph separator (U+2028, U+2029). Multi-line text (a
//! description, help text, a long answer) may also hold `\n`, `\r` and
//! `\t`, and nothing else of the kind. NUL especially: PostgreSQL refuses
//! it in text columns, and everything downstream (CSV, emails, terminals)
//! is safer without the rest.

/// What a client is told when a text breaks the rule.
pub const CONTROL_MESSAGE: &str = "Remove control characters.";

/// Single-line or multi-line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    One,
    Many,
}

/// Whether `text` keeps the rule for its kind of text.
pub fn is_clean(text: &str, lines: Lines) -> bool {
    text.chars().all(|c| allowed(c, lines))
}

fn allowed(c: char, lines: Lines) -> bool {
    match c {
        '\n' | '\r' | '\t' => lines == Lines::Many,
        '\u{2028}' | '\u{2029}' => false,
        c => !c.is_control(),
    }
}

/// `Ok` when `text` keeps the rule, else the message for the client.
pub fn check(text: &str, lines: Lines) -> Result<(), &'static str> {
    if is_clean(text, lines) {
        Ok(())
    } else {
        Err(CONTROL_MESSAGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_by_kind_of_text() {
        // (text, ok on one line, ok on many, why)
        let cases = [
            ("Conference sign-up", true, true, "ordinary text"),
            (
                "caf\u{e9} \u{2603} \u{1f980}",
                true,
                true,
                "non-ASCII letters and emoji",
            ),
            ("", true, true, "nothing"),
            ("a\u{0}b", false, false, "NUL, which PostgreSQL refuses"),
            ("a\nb", false, true, "a newline"),
            ("a\r\nb", false, true, "CRLF"),
            ("a\tb", false, true, "a tab"),
            ("a\u{7}b", false, false, "a bell"),
            ("a\u{1b}[31mb", false, false, "a terminal escape"),
            ("a\u{b}b", false, false, "a vertical tab"),
            ("a\u{c}b", false, false, "a form feed"),
            ("a\u{7f}b", false, false, "DEL"),
            ("a\u{85}b", false, false, "NEL, a C1 control"),
            ("a\u{9f}b", false, false, "the last C1 control"),
            ("a\u{2028}b", false, false, "a line separator"),
            ("a\u{2029}b", false, false, "a paragraph separator"),
        ];
        for (text, one, many, why) in cases {
            assert_eq!(is_clean(text, Lines::One), one, "single-line: {why}");
            assert_eq!(is_clean(text, Lines::Many), many, "multi-line: {why}");
        }
        assert_eq!(check("a\u{0}", Lines::Many), Err(CONTROL_MESSAGE));
    }

    proptest::proptest! {
        #[test]
        fn single_line_text_is_clean_exactly_without_controls(text in "\\PC{0,40}|.{0,40}") {
            let expected = !text.chars().any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}');
            proptest::prop_assert_eq!(is_clean(&text, Lines::One), expected);
            if expected {
                proptest::prop_assert!(is_clean(&text, Lines::Many), "what fits one line fits many");
            }
        }
    }
}
