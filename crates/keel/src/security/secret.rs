//! Secret keys: generating them and judging whether one is fit for `prod`.

use rand::distributions::{Alphanumeric, DistString};

/// Length of a generated key: 64 characters of 62 kinds, about 381 bits.
pub const GENERATED_KEY_LEN: usize = 64;

/// A new random key, safe to paste into `.env` or a shell (letters and
/// digits only).
pub fn generate_key() -> String {
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, GENERATED_KEY_LEN)
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
