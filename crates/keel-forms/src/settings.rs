//! The forms app's own settings, declared to the core's loader: they come
//! from the same sources as the core's, are listed by `keel settings show`
//! and in the README's reference, and are read once at start.

use std::time::Duration;

use keel::settings::catalog::SettingSpec as S;
use keel::settings::{Rate, Reader, Section, Settings, SettingsError};

keel::settings_catalog! {
    /// The forms app's settings, in the order `settings show` prints them.
    pub static FORMS_SETTINGS;
    SUBMISSION_RATE = S::plain("KEEL_SUBMISSION_RATE", Some("30/1m"), "Public submissions allowed per client address and form, `N/period`.");
    SUBMISSION_TOKEN_AGE = S::plain("KEEL_SUBMISSION_TOKEN_AGE", Some("86400"), "Lifetime of a public form's submission token, in seconds.");
}

/// The forms app's section.
#[derive(Debug, Clone)]
pub struct FormsSettings {
    /// Public submissions per client address and form.
    pub submission_rate: Rate,
    /// How long a public form's submission token is accepted.
    pub submission_token_age: Duration,
}

impl Section for FormsSettings {
    const SPECS: &'static [&'static S] = FORMS_SETTINGS;

    fn read(r: &Reader<'_>) -> Result<Self, SettingsError> {
        Ok(Self {
            submission_rate: r.get(SUBMISSION_RATE, Rate::parse)?,
            submission_token_age: r.seconds(SUBMISSION_TOKEN_AGE)?,
        })
    }
}

impl FormsSettings {
    /// The section of `settings`. `Keel::build` refuses settings loaded
    /// without it, so an app that is running always has it.
    pub fn of(settings: &Settings) -> &Self {
        settings
            .section::<Self>()
            .expect("Keel::build checks that the forms settings were loaded")
    }
}
