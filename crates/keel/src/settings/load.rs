//! [`Settings`]: the one typed value built from the sources at start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::cache::{self, CacheSettings};
use super::catalog::{self as c, Catalog, Sensitivity};
use super::database::{self, DatabaseSettings};
use super::email::{self, EmailSettings};
use super::error::SettingsError;
use super::files::{self, FileSettings};
use super::limits::{self, LimitSettings, OutboxSettings};
use super::log::{self, LogSettings};
use super::profile::Profile;
use super::reader::Reader;
use super::secret::{self, SecretSettings};
use super::section::{Section, SectionDecl, Sections};
use super::security::{self, SecuritySettings};
use super::server::{self, ServerSettings};
use super::sources::{self, LoadInput, Resolved};
use super::value::{Raw, Source};
use super::{defaults, parse};

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
    /// The working folder relative paths were resolved against.
    pub cwd: PathBuf,
    shown: Vec<ShownSetting>,
    catalog: Arc<Catalog>,
    sections: Sections,
}

impl Settings {
    /// Loads the core's settings and the apps' `sections` from the process
    /// environment and the working folder.
    pub fn load(sections: &[SectionDecl]) -> Result<Self, SettingsError> {
        let cwd = std::env::current_dir().map_err(|err| SettingsError::File {
            path: PathBuf::from("."),
            reason: format!("cannot read the working folder: {err}"),
        })?;
        Self::load_from(
            &LoadInput {
                env: std::env::vars().collect(),
                cwd,
            },
            sections,
        )
    }

    /// Loads settings from the given environment and folder.
    pub fn load_from(input: &LoadInput, sections: &[SectionDecl]) -> Result<Self, SettingsError> {
        let specs: Vec<_> = sections.iter().map(|s| s.specs).collect();
        let catalog = Catalog::new(&specs).map_err(|problem| SettingsError::Invalid {
            name: "settings".to_owned(),
            origin: "the apps' declarations".to_owned(),
            problem,
        })?;
        let resolved = sources::resolve(input, &catalog)?;
        build(resolved, &input.cwd, catalog, sections)
    }

    /// Settings for tests: the `test` profile's defaults with the working
    /// folder `dir` (databases and files go there). Tests change fields in
    /// place afterwards.
    pub fn for_test(dir: &Path) -> Self {
        Self::for_test_with(dir, &[])
    }

    /// [`Settings::for_test`] with the apps' sections.
    pub fn for_test_with(dir: &Path, sections: &[SectionDecl]) -> Self {
        let env = [
            ("KEEL_ENV", "test"),
            // Servers under test run side by side: none takes the metrics
            // port unless a test asks (`127.0.0.1:0`).
            ("KEEL_METRICS_BIND", ""),
            (
                "KEEL_SECRET_KEY",
                "test-secret-key-that-is-long-enough-and-varied-0123456789",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Self::load_from(
            &LoadInput {
                env,
                cwd: dir.to_owned(),
            },
            sections,
        )
        .expect("the test profile's defaults are valid")
    }

    /// Every setting with its shown value and source, catalog order.
    pub fn shown(&self) -> &[ShownSetting] {
        &self.shown
    }

    /// The settings this site knows: the core's and its apps'.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// An app's section, when it was declared to the loader.
    pub fn section<T: Section>(&self) -> Option<&T> {
        self.sections.get::<T>()
    }

    /// Changes an app's section in place (tests do, before building).
    pub fn update_section<T: Section>(&mut self, change: impl FnOnce(&mut T)) {
        if let Some(mut section) = self.section::<T>().cloned() {
            change(&mut section);
            self.sections.set(section);
        }
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

fn shown_settings(values: &BTreeMap<&'static str, Raw>, profile: Profile, catalog: &Catalog) -> Vec<ShownSetting> {
    let builtin = |source: &Source| *source == Source::Default(profile);
    // Values derived from a default public URL are defaults too.
    let public_url_is_default = values.get(c::PUBLIC_URL.name).is_none_or(|raw| builtin(&raw.source));
    catalog
        .iter()
        .map(|spec| {
            let raw = values.get(spec.name);
            ShownSetting {
                name: spec.name,
                value: raw.map(|r| display_value(spec.sensitivity, &r.value)),
                source: raw.map(|r| r.source.clone()),
                is_default: raw.is_none_or(|r| {
                    builtin(&r.source)
                        || (public_url_is_default
                            && matches!(r.source, Source::Derived(from) if from == c::PUBLIC_URL.name))
                }),
            }
        })
        .collect()
}

fn build(
    mut resolved: Resolved,
    cwd: &Path,
    catalog: Catalog,
    decls: &[SectionDecl],
) -> Result<Settings, SettingsError> {
    let profile = resolved.profile;
    let public_url = defaults::derive_from_public_url(&mut resolved.values, profile)?;
    defaults::ensure_dev_secret_key(&mut resolved.values, profile, cwd)?;
    let shown = shown_settings(&resolved.values, profile, &catalog);
    let r = Reader::new(&resolved.values);
    Ok(Settings {
        profile,
        public_url,
        debug: r.boolean(c::DEBUG)?,
        bind: r.get(c::BIND, parse::socket_addr)?,
        secret: secret::read(&r)?,
        security: security::read(&r)?,
        database: database::read(&r, cwd)?,
        cache: cache::read(&r)?,
        files: files::read(&r, cwd)?,
        email: email::read(&r, cwd)?,
        log: log::read(&r, cwd)?,
        limits: limits::limits(&r)?,
        outbox: limits::outbox(&r)?,
        server: server::read(&r)?,
        sections: Sections::read(decls, &r)?,
        unknown_variables: resolved.unknown,
        cwd: cwd.to_owned(),
        shown,
        catalog: Arc::new(catalog),
    })
}
