//! The outbox's system checks: mail settings the worker could not use
//! (every email would fail until dead), and the SSRF guard turned off in
//! production.

use crate::checks::{registry, Finding};
use crate::settings::{Profile, Settings};

use super::mail::Mailer;

/// The findings about the outbox's settings.
pub fn findings(settings: &Settings) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Err(err) = Mailer::from_settings(&settings.email) {
        findings.push(Finding::new(&registry::EMAIL_UNUSABLE, err.to_string()));
    }
    if settings.profile == Profile::Prod && settings.outbox.webhook_allow_private {
        findings.push(Finding::new(
            &registry::WEBHOOK_PRIVATE_IN_PROD,
            "KEEL_WEBHOOK_ALLOW_PRIVATE lets webhooks reach loopback, private and link-local addresses",
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::EmailBackendKind;

    fn ids(settings: &Settings) -> Vec<&'static str> {
        findings(settings).into_iter().map(|f| f.id).collect()
    }

    #[test]
    fn unusable_mail_settings_and_private_webhooks_in_prod_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::for_test(dir.path());
        assert!(ids(&settings).is_empty(), "the test defaults are fine");

        let mut bad_url = settings.clone();
        bad_url.email.backend = EmailBackendKind::Smtp("smtp://mail.example.com?tls=maybe".to_owned().into());
        assert_eq!(ids(&bad_url), ["keel.email.E001"], "an unknown tls mode");

        let mut bad_from = settings.clone();
        bad_from.email.default_from = "not an address".to_owned();
        assert_eq!(ids(&bad_from), ["keel.email.E001"], "an invalid sender");

        let mut private = settings.clone();
        private.outbox.webhook_allow_private = true;
        assert!(ids(&private).is_empty(), "allowed outside prod");
        private.profile = Profile::Prod;
        assert_eq!(ids(&private), ["keel.outbox.W101"], "a weakening in prod");
    }
}
