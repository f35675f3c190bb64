//! The public form's submission token. The public endpoints carry no
//! cookies and no CSRF token (forms are embedded on other sites), so the
//! fetch of a published form hands out a token signed with the secret key
//! and bound to that form, and a submission must bring it back. It may be
//! reused until it is older than `KEEL_SUBMISSION_TOKEN_AGE`; a token for
//! another form, or from another key, is refused like a forged one.

use keel::security::signing::{SignatureError, Signer};
use keel::Core;
use uuid::Uuid;

use crate::settings::FormsSettings;
use crate::FormsError;

/// Keeps these signatures apart from every other use of the key.
const SALT: &str = "keel.forms.submission";

/// A token for submitting to form `form_id`, from now.
pub(crate) fn issue(core: &Core, form_id: Uuid) -> String {
    sign(&core.signer, form_id, now())
}

/// `Ok` when `token` was issued for form `form_id` within the token age.
pub(crate) fn verify(core: &Core, token: &str, form_id: Uuid) -> Result<(), FormsError> {
    let age = i64::try_from(FormsSettings::of(&core.settings).submission_token_age.as_secs()).unwrap_or(i64::MAX);
    check(&core.signer, token, form_id, age, now())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn sign(signer: &Signer, form_id: Uuid, now: i64) -> String {
    signer.sign_timestamped(SALT, &form_id.to_string(), now)
}

fn check(signer: &Signer, token: &str, form_id: Uuid, max_age: i64, now: i64) -> Result<(), FormsError> {
    match signer.unsign_timestamped(SALT, token, max_age, now) {
        Ok(id) if id == form_id.to_string() => Ok(()),
        Err(SignatureError::Expired) => Err(FormsError::TokenExpired),
        _ => Err(FormsError::TokenInvalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn signer(key: &str) -> Signer {
        Signer::new(SecretString::from(key.to_owned()), &[])
    }

    #[test]
    fn a_token_is_good_for_its_form_until_it_expires() {
        let (form, other) = (Uuid::new_v4(), Uuid::new_v4());
        let key = signer("a key long enough to sign submission tokens");
        let token = sign(&key, form, 1_000);
        let cases = [
            (form, 1_000, Ok(()), "just issued"),
            (form, 1_600, Ok(()), "reused within the age"),
            (form, 1_601, Err("expired"), "past the age"),
            (other, 1_000, Err("invalid"), "another form"),
        ];
        for (id, now, expected, why) in cases {
            let got = check(&key, &token, id, 600, now).map_err(|err| match err {
                FormsError::TokenExpired => "expired",
                FormsError::TokenInvalid => "invalid",
                _ => "other",
            });
            assert_eq!(got, expected, "{why}");
        }
        let forged = sign(&signer("another key, equally long and secret"), form, 1_000);
        assert!(matches!(
            check(&key, &forged, form, 600, 1_000),
            Err(FormsError::TokenInvalid)
        ));
        assert!(matches!(
            check(&key, "junk", form, 600, 1_000),
            Err(FormsError::TokenInvalid)
        ));
    }
}
