//! Signing keys: `KEEL_SECRET_KEY` and its fallbacks, and how a key is
//! generated (`keel secret generate`, the development key).

use rand::distributions::{Alphanumeric, DistString};
use secrecy::{ExposeSecret, SecretString};

use super::catalog as c;
use super::error::SettingsError;
use super::parse;
use super::reader::Reader;
use super::value::Source;

/// Signing keys.
#[derive(Debug, Clone)]
pub struct SecretSettings {
    /// `None` only in `prod` without a configured key (a check error).
    pub key: Option<SecretString>,
    pub fallbacks: Vec<SecretString>,
    /// Where the key came from (a generated development key is a check error
    /// in `prod`).
    pub key_source: Option<Source>,
}

/// Length of a generated key: 64 characters of 62 kinds, about 381 bits.
pub const GENERATED_KEY_LEN: usize = 64;

/// A new random key, safe to paste into `.env` or a shell (letters and
/// digits only).
pub fn generate_key() -> String {
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, GENERATED_KEY_LEN)
}

pub(super) fn read(r: &Reader<'_>) -> Result<SecretSettings, SettingsError> {
    let key = r.optional(c::SECRET_KEY, |s| Ok(SecretString::from(s.trim().to_owned())))?;
    let fallbacks = r
        .optional(c::SECRET_KEY_FALLBACKS, |s| Ok(parse::list(s)))?
        .unwrap_or_default()
        .into_iter()
        .map(SecretString::from)
        .collect();
    Ok(SecretSettings {
        key,
        fallbacks,
        key_source: r.source(c::SECRET_KEY).cloned(),
    })
}

/// Lets code that must hand a secret to a client library say so at the
/// call site.
pub fn expose(secret: &SecretString) -> &str {
    secret.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_long_varied_and_different() {
        let a = generate_key();
        let b = generate_key();
        assert_eq!(a.len(), GENERATED_KEY_LEN);
        assert_ne!(a, b);
        let distinct: std::collections::HashSet<char> = a.chars().collect();
        assert!(
            distinct.len() >= 20,
            "a 64-character random key has many distinct characters: {a}"
        );
    }
}
