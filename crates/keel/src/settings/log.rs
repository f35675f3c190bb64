//! The log section: level, format, file, error monitoring.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::catalog as c;
use super::error::SettingsError;
use super::parse;
use super::reader::Reader;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    pub level: String,
    pub format: LogFormat,
    pub file: Option<PathBuf>,
    pub sentry_dsn: Option<SecretString>,
}

pub(super) fn read(r: &Reader<'_>, cwd: &Path) -> Result<LogSettings, SettingsError> {
    Ok(LogSettings {
        level: r.get(c::LOG_LEVEL, |s| {
            tracing_subscriber::EnvFilter::builder()
                .parse(s.trim())
                .map_err(|e| format!("not a log level or filter: {e}"))?;
            Ok(s.trim().to_owned())
        })?,
        format: r.get(c::LOG_FORMAT, |s| match s.trim() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("expected text or json, got {other:?}")),
        })?,
        file: r.optional(c::LOG_FILE, |s| Ok(cwd.join(s.trim())))?,
        sentry_dsn: r.optional(c::SENTRY_DSN, |s| {
            parse::url(s, &["http", "https"])?;
            Ok(SecretString::from(s.trim().to_owned()))
        })?,
    })
}
