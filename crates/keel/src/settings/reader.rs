//! Typed access to the resolved raw values. Every reader names its setting
//! by the catalog's constant (a misspelt name does not compile), and every
//! error names the variable and where its value came from.

use std::collections::BTreeMap;
use std::time::Duration;

use super::catalog::SettingSpec;
use super::error::SettingsError;
use super::parse;
use super::value::{Raw, Source};

/// The raw values of one load, read by the sections (the core's and the
/// apps').
pub struct Reader<'a> {
    values: &'a BTreeMap<&'static str, Raw>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(values: &'a BTreeMap<&'static str, Raw>) -> Self {
        Self { values }
    }

    /// Where the value of `spec` came from; `None` when unset.
    pub fn source(&self, spec: &SettingSpec) -> Option<&'a Source> {
        self.values.get(spec.name).map(|raw| &raw.source)
    }

    /// The value of a setting that has one (every setting with a default).
    pub fn get<T>(
        &self,
        spec: &'static SettingSpec,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, SettingsError> {
        let raw = self.values.get(spec.name).ok_or_else(|| SettingsError::Invalid {
            name: spec.name.to_owned(),
            origin: "settings".to_owned(),
            problem: "is required".to_owned(),
        })?;
        parse(&raw.value).map_err(|problem| SettingsError::invalid(spec.name, &raw.source, problem))
    }

    /// Unset and the empty string both read as `None`.
    pub fn optional<T>(
        &self,
        spec: &'static SettingSpec,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, SettingsError> {
        match self.values.get(spec.name) {
            Some(raw) if !raw.value.trim().is_empty() => parse(&raw.value)
                .map(Some)
                .map_err(|problem| SettingsError::invalid(spec.name, &raw.source, problem)),
            _ => Ok(None),
        }
    }

    /// The value, trimmed.
    pub fn string(&self, spec: &'static SettingSpec) -> Result<String, SettingsError> {
        self.get(spec, |s| Ok(s.trim().to_owned()))
    }

    /// A comma-separated list.
    pub fn list(&self, spec: &'static SettingSpec) -> Result<Vec<String>, SettingsError> {
        self.get(spec, |s| Ok(parse::list(s)))
    }

    /// `true`/`false` (and the usual spellings of them).
    pub fn boolean(&self, spec: &'static SettingSpec) -> Result<bool, SettingsError> {
        self.get(spec, parse::boolean)
    }

    /// Seconds, or a number with `s`, `m`, `h`, `d` or `w`.
    pub fn seconds(&self, spec: &'static SettingSpec) -> Result<Duration, SettingsError> {
        self.get(spec, parse::duration)
    }

    /// Like [`Reader::seconds`], refusing zero.
    pub fn positive_seconds(&self, spec: &'static SettingSpec) -> Result<Duration, SettingsError> {
        self.get(spec, |s| {
            let d = parse::duration(s)?;
            if d.is_zero() {
                return Err("must be at least 1 second".to_owned());
            }
            Ok(d)
        })
    }
}
