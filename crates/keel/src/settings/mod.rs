//! Settings: the only reader of the environment, `.env` and `keel.toml`.
//!
//! [`Settings::load`] builds one typed, validated, immutable value at start;
//! everything else receives it (or its own section) and never parses a
//! string from the environment again. The variables are listed, documented
//! and given their defaults in [`catalog`]; [`sources`] layers the five
//! sources; this module turns the raw strings into typed sections and keeps
//! where each value came from, for `keel settings show`.

pub mod catalog;
pub mod parse;
mod sections;
mod server;
pub mod sources;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

pub use parse::Rate;
pub use sections::*;
pub use server::ServerSettings;
pub use sources::{LoadInput, Source};

use catalog::Sensitivity;

/// The profile, from `KEEL_ENV`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    Dev,
    Prod,
    Test,
}

impl Profile {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "dev" => Ok(Self::Dev),
            "prod" => Ok(Self::Prod),
            "test" => Ok(Self::Test),
            other => Err(format!("unknown profile {other:?}; expected dev, prod or test")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dev => "dev",
            Self::Prod => "prod",
            Self::Test => "test",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why settings could not be loaded. Each prints as one line that names the
/// variable (or file) and the problem.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{name} (from {origin}): {problem}")]
    Invalid {
        name: String,
        origin: String,
        problem: String,
    },
    #[error("{}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
}

impl SettingsError {
    pub(crate) fn invalid(name: &str, source: &Source, problem: impl Into<String>) -> Self {
        Self::Invalid {
            name: name.to_owned(),
            origin: source.to_string(),
            problem: problem.into(),
        }
    }
}

/// One line of `settings show`: a setting's effective value, as it may be
/// shown, and where it came from.
#[derive(Debug, Clone)]
pub struct ShownSetting {
    pub name: &'static str,
    /// The value with secrets replaced by `********`; `None` when unset.
    pub value: Option<String>,
    pub source: Option<Source>,
    pub is_default: bool,
}

/// Every setting of a running Keel, typed and validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub profile: Profile,
    pub public_url: url::Url,
    pub debug: bool,
    pub bind: std::net::SocketAddr,
    pub secret: SecretSettings,
    pub security: SecuritySettings,
    pub database: DatabaseSettings,
    pub cache: CacheSettings,
    pub files: FileSettings,
    pub email: EmailSettings,
    pub log: LogSettings,
    pub limits: LimitSettings,
    pub outbox: OutboxSettings,
    pub server: ServerSettings,
    /// `KEEL_*` variables that are set but are not settings (likely typos).
    pub unknown_variables: Vec<String>,
    shown: Vec<ShownSetting>,
}

impl Settings {
    /// Loads settings from the process environment and the working folder.
    pub fn load() -> Result<Self, SettingsError> {
        let cwd = std::env::current_dir().map_err(|err| SettingsError::File {
            path: PathBuf::from("."),
            reason: format!("cannot read the working folder: {err}"),
        })?;
        Self::load_from(&LoadInput {
            env: std::env::vars().collect(),
            cwd,
        })
    }

    /// Loads settings from the given environment and folder.
    pub fn load_from(input: &LoadInput) -> Result<Self, SettingsError> {
        let resolved = sources::resolve(input)?;
        sections::build(resolved, &input.cwd)
    }

    /// Settings for tests: the `test` profile's defaults with the working
    /// folder `dir` (databases and files go there). Tests change fields in
    /// place afterwards.
    pub fn for_test(dir: &std::path::Path) -> Self {
        let env = [
            ("KEEL_ENV", "test"),
            (
                "KEEL_SECRET_KEY",
                "test-secret-key-that-is-long-enough-and-varied-0123456789",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Self::load_from(&LoadInput {
            env,
            cwd: dir.to_owned(),
        })
        .expect("the test profile's defaults are valid")
    }

    /// Every setting with its shown value and source, catalog order.
    pub fn shown(&self) -> &[ShownSetting] {
        &self.shown
    }
}

/// How a raw value may be shown.
pub(crate) fn display_value(sensitivity: Sensitivity, raw: &str) -> String {
    match sensitivity {
        Sensitivity::Plain => raw.to_owned(),
        Sensitivity::Secret if raw.is_empty() => String::new(),
        Sensitivity::Secret => "********".to_owned(),
        Sensitivity::UrlWithPassword => parse::redact_url(raw),
    }
}

pub(crate) fn shown_settings(values: &BTreeMap<&'static str, sources::Raw>, profile: Profile) -> Vec<ShownSetting> {
    let builtin = |source: &Source| *source == Source::Default(profile);
    // Values derived from a default public URL are defaults too.
    let public_url_is_default = values.get("KEEL_PUBLIC_URL").is_none_or(|raw| builtin(&raw.source));
    catalog::CATALOG
        .iter()
        .map(|spec| {
            let raw = values.get(spec.name);
            ShownSetting {
                name: spec.name,
                value: raw.map(|r| display_value(spec.sensitivity, &r.value)),
                source: raw.map(|r| r.source.clone()),
                is_default: raw.is_none_or(|r| {
                    builtin(&r.source) || (public_url_is_default && matches!(r.source, Source::Derived(_)))
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
