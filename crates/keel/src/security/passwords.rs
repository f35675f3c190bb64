//! Passwords: hashing them with Argon2id, checking a password against a
//! stored hash, and judging whether a new password is acceptable.
//!
//! This module owns the hashing parameters and the validation rules. It knows
//! nothing about HTTP (requests, forms, status codes) or the database (users,
//! where hashes are stored): callers pass plain strings in and get plain
//! values back.
//!
//! # Blocking
//!
//! [`hash_password`], [`verify_password`] and [`verify_dummy`] are CPU- and
//! memory-heavy by design (about 19 MiB and tens of milliseconds in a release
//! build). Async callers must run them under `tokio::task::spawn_blocking`,
//! never directly on a runtime worker thread.

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, Salt, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Argon2id memory cost in KiB (19 MiB), as OWASP recommends.
pub const MEMORY_KIB: u32 = 19_456;
/// Argon2id number of passes over memory, as OWASP recommends.
pub const ITERATIONS: u32 = 2;
/// Argon2id degree of parallelism (lanes), as OWASP recommends.
pub const PARALLELISM: u32 = 1;
/// Length in bytes of the derived hash.
pub const OUTPUT_LEN: usize = 32;

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
    include_str!("../../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
});

/// Salt of the dummy hash; any fixed valid value will do, it guards nothing.
const DUMMY_SALT_B64: &str = "a2VlbC1kdW1teS1zYWx0";
/// Password of the dummy hash; the check's result is discarded, so it may be anything.
const DUMMY_PASSWORD: &str = "keel dummy password, never a real one";

/// A hash made with the current parameters, verified against when the
/// account does not exist so both paths cost one Argon2 run.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    // Start-up invariant: every input below is a constant (valid salt, valid
    // parameters), so hashing cannot fail; a test makes this hash.
    dummy_hash().expect("constant password, salt and parameters always hash")
});

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The Argon2 parameters were rejected.
    #[error("invalid Argon2 parameters")]
    Params(#[source] argon2::Error),
    /// Salt generation or hashing failed.
    #[error("password hashing failed")]
    Hash(#[source] argon2::password_hash::Error),
}

/// Hashes `password` with Argon2id and a fresh random salt, returning a PHC
/// string such as `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
///
/// Blocking: call under `tokio::task::spawn_blocking`.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    hash_with_salt(password, salt.as_salt())
}

/// Whether `password` matches `phc_hash`. A malformed or unsupported hash
/// yields `false`; this never panics.
///
/// Blocking: call under `tokio::task::spawn_blocking`.
pub fn verify_password(password: &str, phc_hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc_hash) else {
        return false;
    };
    // The verifier takes algorithm, version and costs from the hash itself.
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

/// Runs one verification against a fixed hash and discards the result, so a
/// login for an unknown email takes about as long as one for a known email.
///
/// Blocking: call under `tokio::task::spawn_blocking`.
pub fn verify_dummy(password: &str) {
    let _ = verify_password(password, &DUMMY_HASH);
}

/// Whether `phc_hash` was made with another algorithm, version or parameters
/// than the current ones (or cannot be read), so it should be replaced by a
/// fresh hash the next time the password is known (at login).
pub fn needs_rehash(phc_hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc_hash) else {
        return true;
    };
    let algorithm_current = parsed.algorithm == argon2::ARGON2ID_IDENT;
    let version_current = parsed.version == Some(Version::V0x13.into());
    let params_current = Params::try_from(&parsed).is_ok_and(|params| {
        params.m_cost() == MEMORY_KIB
            && params.t_cost() == ITERATIONS
            && params.p_cost() == PARALLELISM
            && params.output_len() == Some(OUTPUT_LEN)
    });
    !(algorithm_current && version_current && params_current)
}

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

fn argon2_hasher() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(OUTPUT_LEN)).map_err(PasswordError::Params)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_with_salt(password: &str, salt: Salt<'_>) -> Result<String, PasswordError> {
    let hash = argon2_hasher()?
        .hash_password(password.as_bytes(), salt)
        .map_err(PasswordError::Hash)?;
    Ok(hash.to_string())
}

fn dummy_hash() -> Result<String, PasswordError> {
    let salt = SaltString::from_b64(DUMMY_SALT_B64).map_err(PasswordError::Hash)?;
    hash_with_salt(DUMMY_PASSWORD, salt.as_salt())
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

    /// One hash shared by several tests: Argon2 is slow in debug builds.
    static FRESH: LazyLock<String> = LazyLock::new(|| hash_password("correct horse battery").expect("hashing works"));

    #[test]
    fn hash_then_verify_accepts_the_right_password() {
        assert!(verify_password("correct horse battery", &FRESH));
    }

    #[test]
    fn verify_rejects_a_wrong_password() {
        assert!(!verify_password("correct horse battery!", &FRESH));
    }

    #[test]
    fn verify_returns_false_on_malformed_hashes() {
        for bad in [
            "",
            "not a hash",
            "$argon2id$v=19$m=19456",
            "$argon2id$v=19$m=abc,t=2,p=1$c2FsdA$aGFzaA",
            "$$$$",
        ] {
            assert!(!verify_password("whatever", bad), "malformed hash {bad:?}");
        }
    }

    #[test]
    fn same_password_hashes_differently_thanks_to_the_salt() {
        let other = hash_password("correct horse battery").expect("hashing works");
        assert_ne!(*FRESH, other);
    }

    #[test]
    fn phc_string_shows_argon2id_and_owasp_parameters() {
        assert!(FRESH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "got {}", *FRESH);
    }

    #[test]
    fn fresh_hash_needs_no_rehash() {
        assert!(!needs_rehash(&FRESH));
    }

    #[test]
    fn other_parameters_or_algorithm_need_a_rehash() {
        let cases = [
            FRESH.replace("m=19456", "m=4096"),
            FRESH.replace("t=2", "t=3"),
            FRESH.replace("p=1", "p=2"),
            FRESH.replace("$argon2id$", "$argon2i$"),
            FRESH.replace("$v=19$", "$v=16$"),
            "garbage".to_owned(),
        ];
        for hash in cases {
            assert!(needs_rehash(&hash), "should need rehash: {hash}");
        }
    }

    #[test]
    fn dummy_hash_is_current_and_verify_dummy_runs() {
        assert!(!needs_rehash(&DUMMY_HASH), "dummy hash must cost what a real one costs");
        verify_dummy("anything at all");
    }

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
