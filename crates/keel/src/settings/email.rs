//! The email section: the backend, senders, admins and managers.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::catalog as c;
use super::error::SettingsError;
use super::files::file_url_path;
use super::parse;
use super::reader::Reader;

/// Which mail backend `KEEL_EMAIL_URL` names.
#[derive(Debug, Clone)]
pub enum EmailBackendKind {
    Console,
    File {
        dir: PathBuf,
    },
    /// The URL is a secret because it may hold a password.
    Smtp(SecretString),
}

#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub backend: EmailBackendKind,
    pub default_from: String,
    pub server_email: String,
    pub admins: Vec<String>,
    pub managers: Vec<String>,
    /// Paths whose 404s are not reported to the managers.
    pub ignorable_404_urls: Vec<regex::Regex>,
    /// At most one report per fingerprint in this period.
    pub report_interval: std::time::Duration,
}

pub(super) fn read(r: &Reader<'_>, cwd: &Path) -> Result<EmailSettings, SettingsError> {
    let backend = r.get(c::EMAIL_URL, |s| {
        let s = s.trim();
        if s == "console://" || s == "console:" {
            return Ok(EmailBackendKind::Console);
        }
        if s.starts_with("file://") {
            return file_url_path(s, cwd).map(|dir| EmailBackendKind::File { dir });
        }
        let url = parse::url(s, &["smtp", "smtps", "console", "file"])?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err("smtp URL needs a host, e.g. smtp://user:pass@mail.example.com:587".to_owned());
        }
        Ok(EmailBackendKind::Smtp(SecretString::from(s.to_owned())))
    })?;
    Ok(EmailSettings {
        backend,
        default_from: r.string(c::DEFAULT_FROM_EMAIL)?,
        server_email: r.string(c::SERVER_EMAIL)?,
        admins: r.list(c::ADMINS)?,
        managers: r.list(c::MANAGERS)?,
        ignorable_404_urls: r.get(c::IGNORABLE_404_URLS, |s| {
            parse::list(s)
                .iter()
                .map(|pattern| {
                    regex::Regex::new(pattern).map_err(|e| format!("{pattern:?} is not a regular expression: {e}"))
                })
                .collect()
        })?,
        report_interval: r.positive_seconds(c::ERROR_REPORT_INTERVAL)?,
    })
}
