//! The rules a new password must pass (Django's validators): length,
//! not common, not all digits, not too similar to the email.

use std::collections::HashSet;
use std::sync::LazyLock;

/// Shortest acceptable password, in characters.
pub const MIN_LENGTH: usize = 10;
/// Longest acceptable password, in characters.
pub const MAX_LENGTH: usize = 1024;
/// A password at least this similar to the email is rejected (0.0 to 1.0).
const MAX_SIMILARITY: f64 = 0.7;
/// A local part this long or longer may not appear inside the password.
const MIN_CONTAINED_LOCAL_PART: usize = 3;

/// Message: fewer than [`MIN_LENGTH`] characters.
pub const MSG_TOO_SHORT: &str = "This password is too short. It must contain at least 10 characters.";
/// Message: more than [`MAX_LENGTH`] characters.
pub const MSG_TOO_LONG: &str = "This password is too long.";
/// Message: in the list of common passwords.
pub const MSG_TOO_COMMON: &str = "This password is too common.";
/// Message: digits only.
pub const MSG_NUMERIC: &str = "This password is entirely numeric.";
/// Message: too close to the email or its local part.
pub const MSG_SIMILAR_TO_EMAIL: &str = "This password is too similar to the email address.";

/// Django's list of common passwords, one lowercase password per line.
/// See `crates/keel/data/README.md` for its origin and licence.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
});

/// User-facing reasons why `password` is not acceptable for the account
/// with `email`; empty when it is acceptable. `email` may be empty, which
/// skips the similarity rule.
pub fn validate_password(password: &str, email: &str) -> Vec<&'static str> {
    let length = password.chars().count();
    let mut problems = Vec::new();
    if length < MIN_LENGTH {
        problems.push(MSG_TOO_SHORT);
    }
    if length > MAX_LENGTH {
        // Skip the other rules: their cost grows with the length.
        problems.push(MSG_TOO_LONG);
        return problems;
    }
    if is_common(password) {
        problems.push(MSG_TOO_COMMON);
    }
    if is_entirely_numeric(password) {
        problems.push(MSG_NUMERIC);
    }
    if is_similar_to_email(password, email) {
        problems.push(MSG_SIMILAR_TO_EMAIL);
    }
    problems
}

fn is_common(password: &str) -> bool {
    COMMON_PASSWORDS.contains(password.trim().to_lowercase().as_str())
}

fn is_entirely_numeric(password: &str) -> bool {
    !password.is_empty() && password.chars().all(char::is_numeric)
}

/// Compares the lowercased password with the email's local part and with
/// the whole email, like Django's `UserAttributeSimilarityValidator`.
fn is_similar_to_email(password: &str, email: &str) -> bool {
    if email.is_empty() {
        return false;
    }
    let password = password.to_lowercase();
    let email = email.to_lowercase();
    let local_part = email.rsplit_once('@').map_or(email.as_str(), |(local, _)| local);
    let contains_local_part = local_part.chars().count() >= MIN_CONTAINED_LOCAL_PART && password.contains(local_part);
    contains_local_part
        || similarity(&password, local_part) >= MAX_SIMILARITY
        || similarity(&password, &email) >= MAX_SIMILARITY
}

/// `2 * M / T` like difflib's `SequenceMatcher.ratio`, where `M` is the
/// length of the longest common subsequence and `T` the total length.
fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    (2 * longest_common_subsequence(&a, &b)) as f64 / total as f64
}

/// Length of the longest common subsequence, in O(|a|·|b|) time and
/// O(|b|) memory.
fn longest_common_subsequence(a: &[char], b: &[char]) -> usize {
    let mut previous = vec![0usize; b.len() + 1];
    let mut current = vec![0usize; b.len() + 1];
    for &ca in a {
        for (j, &cb) in b.iter().enumerate() {
            current[j + 1] = if ca == cb {
                previous[j] + 1
            } else {
                previous[j + 1].max(current[j])
            };
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn common_list_is_large_and_clean() {
        assert!(
            COMMON_PASSWORDS.len() >= 10_000,
            "only {} entries",
            COMMON_PASSWORDS.len()
        );
        for entry in COMMON_PASSWORDS.iter() {
            assert_eq!(*entry, entry.to_lowercase(), "entries are lowercase");
        }
    }

    #[test]
    fn common_list_rejects_known_entries() {
        // All verified present in data/common-passwords.txt.
        for common in [
            "password123",
            "qwerty123",
            "letmein123",
            "iloveyou12",
            "1q2w3e4r5t",
            "qwertyuiop",
        ] {
            assert!(
                validate_password(common, "").contains(&MSG_TOO_COMMON),
                "{common} is in the list"
            );
        }
    }

    #[test]
    fn validation_table() {
        let long_ok = "ab".repeat(MAX_LENGTH / 2);
        let too_long = format!("{long_ok}x");
        let cases: &[(&str, &str, bool, &str)] = &[
            (
                "correct horse battery",
                "ann@example.com",
                true,
                "long, uncommon, not numeric, unlike the email",
            ),
            ("short1!", "", false, "under 10 characters"),
            (
                "ééééééééé",
                "",
                false,
                "9 characters (18 bytes): length counts chars, not bytes",
            ),
            ("zébrà-çafé", "", true, "10 characters is the minimum"),
            (&long_ok, "", true, "1024 characters is the maximum"),
            (&too_long, "", false, "1025 characters is too long"),
            ("password123", "", false, "in the common list"),
            (
                "  PassWord123 ",
                "",
                false,
                "common list check is case-insensitive and trimmed",
            ),
            ("98217364501928", "", false, "entirely numeric"),
            ("9821736450192a", "", true, "one letter makes it not entirely numeric"),
            (
                "johnsmith99",
                "johnsmith99@example.com",
                false,
                "equal to the local part",
            ),
            (
                "xxjohnsmithxx",
                "johnsmith@example.com",
                false,
                "contains the local part",
            ),
            (
                "XXJohnSmithXX",
                "JohnSmith@Example.com",
                false,
                "contains the local part, ignoring case",
            ),
            (
                "margare7xy",
                "margaret@example.org",
                false,
                "ratio 0.78 with the local part",
            ),
            (
                "abexample.com",
                "ab@example.com",
                false,
                "ratio 0.96 with the whole email",
            ),
            (
                "jo-and-other-stuff",
                "jo@x.io",
                true,
                "local part under 3 characters may appear",
            ),
            ("johnsmith99", "", true, "empty email skips the similarity check"),
            ("johnsmith99", "someone@example.org", true, "unlike this email"),
        ];
        for (password, email, expected_ok, why) in cases {
            let problems = validate_password(password, email);
            assert_eq!(
                problems.is_empty(),
                *expected_ok,
                "{why}: password {password:?}, email {email:?}, got {problems:?}"
            );
        }
    }

    #[test]
    fn each_rule_reports_its_exact_message() {
        assert_eq!(validate_password("short1!", ""), [MSG_TOO_SHORT]);
        assert_eq!(validate_password(&"x".repeat(MAX_LENGTH + 1), ""), [MSG_TOO_LONG]);
        assert_eq!(validate_password("password123", ""), [MSG_TOO_COMMON]);
        assert_eq!(validate_password("98217364501928", ""), [MSG_NUMERIC]);
        assert_eq!(
            validate_password("johnsmith99", "johnsmith99@example.com"),
            [MSG_SIMILAR_TO_EMAIL]
        );
        assert_eq!(
            MSG_TOO_SHORT,
            "This password is too short. It must contain at least 10 characters."
        );
    }

    #[test]
    fn similarity_matches_difflib_on_simple_cases() {
        assert_eq!(similarity("abcd", "abcd"), 1.0);
        assert_eq!(similarity("abcd", "wxyz"), 0.0);
        assert_eq!(similarity("abcd", "bcde"), 0.75);
        assert_eq!(similarity("", ""), 1.0);
    }

    #[test]
    fn random_long_passwords_never_panic_nor_count_as_short() {
        let mut rng = rand::thread_rng();
        for _ in 0..200 {
            let length = rng.gen_range(10..=40);
            let password: String = (0..length).map(|_| char::from(rng.gen_range(b' '..=b'~'))).collect();
            for email in ["", "someone@example.com"] {
                let problems = validate_password(&password, email);
                assert!(!problems.contains(&MSG_TOO_SHORT), "{password:?} reported too short");
            }
        }
    }
}
