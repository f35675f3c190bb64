//! CSRF tokens as Django makes them: a 32-character secret kept in the
//! `csrftoken` cookie, and tokens that are the secret masked with a fresh
//! random mask for every response (64 characters), so the token in a page
//! changes every time and compression side channels (BREACH) learn nothing.
//! A token matches when, unmasked, it equals the cookie's secret.

use rand::Rng;
use subtle::ConstantTimeEq;

const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// Length of a secret; a masked token is twice as long.
pub const SECRET_LEN: usize = 32;

fn random_string(len: usize) -> String {
    let mut rng = rand::rngs::OsRng;
    (0..len).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect()
}

fn index(c: u8) -> Option<usize> {
    CHARS.iter().position(|&x| x == c)
}

/// A new secret for the cookie.
pub fn new_secret() -> String {
    random_string(SECRET_LEN)
}

/// Whether `s` has the shape of a secret.
pub fn is_secret(s: &str) -> bool {
    s.len() == SECRET_LEN && s.bytes().all(|b| index(b).is_some())
}

/// A fresh token for `secret`: a random mask followed by the secret shifted
/// by the mask.
pub fn mask(secret: &str) -> String {
    let mask = random_string(SECRET_LEN);
    let cipher: String = secret
        .bytes()
        .zip(mask.bytes())
        .map(|(s, m)| {
            let (s, m) = (index(s).unwrap_or(0), index(m).unwrap_or(0));
            CHARS[(s + m) % CHARS.len()] as char
        })
        .collect();
    format!("{mask}{cipher}")
}

fn unmask(token: &str) -> Option<String> {
    if token.len() != 2 * SECRET_LEN {
        return None;
    }
    let (mask, cipher) = token.as_bytes().split_at(SECRET_LEN);
    mask.iter()
        .zip(cipher)
        .map(|(&m, &c)| {
            let (m, c) = (index(m)?, index(c)?);
            Some(CHARS[(c + CHARS.len() - m) % CHARS.len()] as char)
        })
        .collect()
}

/// Whether `token` (masked, or the bare secret) belongs to `secret`.
/// Constant time in the compared values.
pub fn matches(token: &str, secret: &str) -> bool {
    if !is_secret(secret) {
        return false;
    }
    let candidate = match token.len() {
        SECRET_LEN if is_secret(token) => token.to_owned(),
        _ => match unmask(token) {
            Some(unmasked) => unmasked,
            None => return false,
        },
    };
    candidate.as_bytes().ct_eq(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_masked_token_differs_and_matches_its_secret() {
        let secret = new_secret();
        let (a, b) = (mask(&secret), mask(&secret));
        assert_ne!(a, b, "a fresh mask each time");
        assert_eq!(a.len(), 64);
        assert!(matches(&a, &secret) && matches(&b, &secret));
        assert!(matches(&secret, &secret), "the bare secret is accepted, as Django does");
    }

    #[test]
    fn tokens_of_another_secret_or_malformed_tokens_fail() {
        let secret = new_secret();
        let other = mask(&new_secret());
        let cases = [
            (other.as_str(), "another session's token"),
            ("", "empty"),
            ("short", "too short"),
            (&"a".repeat(63), "odd length"),
            (&"!".repeat(64), "characters outside the alphabet"),
        ];
        for (token, why) in cases {
            assert!(!matches(token, &secret), "{why}");
        }
        assert!(
            !matches(&mask(&secret), "not-a-secret"),
            "a malformed cookie never matches"
        );
    }

    #[test]
    fn random_tokens_never_panic_and_rarely_match() {
        let secret = new_secret();
        let mut rng = rand::thread_rng();
        for _ in 0..500 {
            let len = rng.gen_range(0..80);
            let token: String = (0..len).map(|_| rng.gen_range(0x20u8..0x7f) as char).collect();
            assert!(!matches(&token, &secret) || token == secret);
        }
    }
}
