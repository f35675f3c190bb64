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
//!
//! The rules a new password must pass live in `passwords/validation.rs`
//! ([`validate_password`]).

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

mod validation;

pub use validation::{
    validate_password, MAX_LENGTH, MIN_LENGTH, MSG_NUMERIC, MSG_SIMILAR_TO_EMAIL, MSG_TOO_COMMON, MSG_TOO_LONG,
    MSG_TOO_SHORT,
};

#[cfg(test)]
mod tests {
    use super::*;

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
}
