//! `FormSlug`: the public, unguessable name of a form in URLs.

use rand::distributions::{Alphanumeric, DistString};

/// Length of a new slug: 12 base62 characters, about 71 bits.
pub const SLUG_LEN: usize = 12;

/// A slug: 10 to 32 ASCII letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FormSlug(String);

impl FormSlug {
    /// A new random slug.
    pub fn generate() -> Self {
        Self(Alphanumeric.sample_string(&mut rand::rngs::OsRng, SLUG_LEN))
    }

    /// A slug from a URL; `None` when it cannot be one (so the lookup can
    /// answer 404 without touching the database).
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = (10..=32).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric());
        ok.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_slugs_parse_and_differ() {
        let a = FormSlug::generate();
        assert_eq!(FormSlug::parse(a.as_str()), Some(a.clone()));
        assert_ne!(a, FormSlug::generate());
        for bad in ["", "short", "has-dash-1234", "../../etc/pa", &"a".repeat(33)] {
            assert!(FormSlug::parse(bad).is_none(), "{bad:?}");
        }
    }
}
