//! `EmailAddress`: a validated, normalized address. Built only through
//! `parse`, so holding one means it was checked.

use std::fmt;

/// An email address, trimmed and lowercased (so `A@X.com` and `a@x.com`
/// are one account).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err("Enter an email address.");
        }
        if email.len() > 254 {
            return Err("This email address is too long.");
        }
        let (local, domain) = email.split_once('@').ok_or("Enter a valid email address.")?;
        let valid = !local.is_empty()
            && local.len() <= 64
            && !domain.is_empty()
            && !domain.contains('@')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.contains("..")
            && email
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[],;:\"\\".contains(c));
        if !valid {
            return Err("Enter a valid email address.");
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalized_and_checked() {
        assert_eq!(
            EmailAddress::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        assert!(
            EmailAddress::parse("root@localhost").is_ok(),
            "a local domain is allowed"
        );
        let bad = [
            ("", "empty"),
            ("ada", "no @"),
            ("@example.com", "no local part"),
            ("ada@", "no domain"),
            ("a@b@c", "two @"),
            ("ada @example.com", "a space"),
            ("ada@exa..mple.com", "an empty label"),
            ("ada@.example.com", "a leading dot"),
            ("<ada>@example.com", "brackets"),
            ("ada\n@example.com", "a control character"),
        ];
        for (raw, why) in bad {
            assert!(EmailAddress::parse(raw).is_err(), "{why}: {raw:?}");
        }
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(EmailAddress::parse(&long).is_err(), "a local part over 64");
    }

    #[test]
    fn parsing_never_panics_on_random_input() {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        for _ in 0..1000 {
            let len = rng.gen_range(0..40);
            let s: String = (0..len)
                .map(|_| rng.gen_range(0u32..0x250))
                .filter_map(char::from_u32)
                .collect();
            if let Ok(e) = EmailAddress::parse(&s) {
                assert_eq!(e.as_str().matches('@').count(), 1);
            }
        }
    }
}
