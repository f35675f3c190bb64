//! Signing with the secret key: HMAC-SHA256 with a key derived per purpose
//! (the salt), so a signature made for sessions is never valid as a
//! submission token. New signatures use `KEEL_SECRET_KEY`; verification also
//! accepts `KEEL_SECRET_KEY_FALLBACKS`, so a key can be rotated without
//! logging everyone out.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a signed value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature does not match")]
    Invalid,
    #[error("the signature has expired")]
    Expired,
}

/// Signs and verifies with the current key and the fallbacks.
#[derive(Clone)]
pub struct Signer {
    keys: std::sync::Arc<[SecretString]>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("keys", &self.keys.len()).finish()
    }
}

fn mac(key: &SecretString, salt: &str, value: &[u8]) -> HmacSha256 {
    // Derive a per-purpose key: HMAC(secret, "keel.signing:" + salt).
    let mut derive =
        HmacSha256::new_from_slice(key.expose_secret().as_bytes()).expect("HMAC accepts keys of any length");
    derive.update(b"keel.signing:");
    derive.update(salt.as_bytes());
    let derived = derive.finalize().into_bytes();
    let mut mac = HmacSha256::new_from_slice(&derived).expect("HMAC accepts keys of any length");
    mac.update(value);
    mac
}

impl Signer {
    /// `key` signs; `key` and then each fallback verify.
    pub fn new(key: SecretString, fallbacks: &[SecretString]) -> Self {
        let mut keys = vec![key];
        keys.extend(fallbacks.iter().cloned());
        Self { keys: keys.into() }
    }

    /// The signature of `value` for `salt`, base64url.
    pub fn signature(&self, salt: &str, value: &str) -> String {
        URL_SAFE_NO_PAD.encode(mac(&self.keys[0], salt, value.as_bytes()).finalize().into_bytes())
    }

    /// `value.signature`. `value` must not be trusted to contain no dots;
    /// the signature is split off at the last one.
    pub fn sign(&self, salt: &str, value: &str) -> String {
        format!("{value}.{}", self.signature(salt, value))
    }

    /// The value of a `sign`ed string, when some key made its signature.
    pub fn unsign<'a>(&self, salt: &str, signed: &'a str) -> Result<&'a str, SignatureError> {
        let (value, signature) = signed.rsplit_once('.').ok_or(SignatureError::Invalid)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| SignatureError::Invalid)?;
        let valid = self
            .keys
            .iter()
            .any(|key| mac(key, salt, value.as_bytes()).verify_slice(&signature).is_ok());
        if valid {
            Ok(value)
        } else {
            Err(SignatureError::Invalid)
        }
    }

    /// `value.timestamp.signature`, for values that expire.
    pub fn sign_timestamped(&self, salt: &str, value: &str, now_unix: i64) -> String {
        self.sign(salt, &format!("{value}.{now_unix}"))
    }

    /// The value of a `sign_timestamped` string signed at most `max_age`
    /// seconds before `now_unix` (and not in the future beyond a minute of
    /// clock skew).
    pub fn unsign_timestamped<'a>(
        &self,
        salt: &str,
        signed: &'a str,
        max_age_secs: i64,
        now_unix: i64,
    ) -> Result<&'a str, SignatureError> {
        let inner = self.unsign(salt, signed)?;
        let (value, timestamp) = inner.rsplit_once('.').ok_or(SignatureError::Invalid)?;
        let timestamp: i64 = timestamp.parse().map_err(|_| SignatureError::Invalid)?;
        if now_unix.saturating_sub(timestamp) > max_age_secs || timestamp > now_unix + 60 {
            return Err(SignatureError::Expired);
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn a_signed_value_verifies_and_a_tampered_one_does_not() {
        let signer = Signer::new(secret("key-one"), &[]);
        let signed = signer.sign("sessions", "abc");
        assert_eq!(signer.unsign("sessions", &signed), Ok("abc"));
        let cases = [
            (signed.replacen("abc", "abd", 1), "a changed value"),
            (format!("{signed}x"), "a changed signature"),
            ("abc".to_owned(), "no signature"),
            ("abc.!!!".to_owned(), "a signature that is not base64"),
            (String::new(), "nothing"),
        ];
        for (input, why) in cases {
            assert_eq!(signer.unsign("sessions", &input), Err(SignatureError::Invalid), "{why}");
        }
        assert_eq!(
            signer.unsign("other-purpose", &signed),
            Err(SignatureError::Invalid),
            "salts separate purposes"
        );
    }

    #[test]
    fn fallback_keys_verify_old_signatures_while_new_ones_use_the_new_key() {
        let old = Signer::new(secret("old-key"), &[]);
        let signed_with_old = old.sign("s", "v");
        let rotated = Signer::new(secret("new-key"), &[secret("old-key")]);
        assert_eq!(rotated.unsign("s", &signed_with_old), Ok("v"));
        let signed_with_new = rotated.sign("s", "v");
        assert_ne!(signed_with_new, signed_with_old);
        assert_eq!(old.unsign("s", &signed_with_new), Err(SignatureError::Invalid));
        let dropped = Signer::new(secret("new-key"), &[]);
        assert_eq!(dropped.unsign("s", &signed_with_old), Err(SignatureError::Invalid));
    }

    #[test]
    fn timestamped_values_expire() {
        let signer = Signer::new(secret("k"), &[]);
        let signed = signer.sign_timestamped("t", "form-1", 1_000);
        assert_eq!(signer.unsign_timestamped("t", &signed, 100, 1_050), Ok("form-1"));
        assert_eq!(
            signer.unsign_timestamped("t", &signed, 100, 1_101),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            signer.unsign_timestamped("t", &signed, 100, 900),
            Err(SignatureError::Expired)
        );
    }
}
