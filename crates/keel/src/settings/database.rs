//! The database section: `DATABASE_URL` and the pool.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;

use super::catalog as c;
use super::error::SettingsError;
use super::parse;
use super::reader::Reader;

/// Which database `DATABASE_URL` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    /// A file (relative paths are from the working folder) or `:memory:`.
    Sqlite {
        path: PathBuf,
    },
    Postgres,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// The whole URL, a secret because it may hold a password.
    pub url: SecretString,
    pub kind: DatabaseKind,
    pub max_connections: u32,
    pub conn_max_age: Duration,
}

pub(super) fn read(r: &Reader<'_>, cwd: &Path) -> Result<DatabaseSettings, SettingsError> {
    let (url, kind) = r.get(c::DATABASE_URL, |s| {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err("sqlite URL needs a path, e.g. sqlite://var/keel.sqlite3".to_owned());
            }
            let path = if path == ":memory:" {
                PathBuf::from(path)
            } else {
                cwd.join(path)
            };
            return Ok((s.to_owned(), DatabaseKind::Sqlite { path }));
        }
        let url = parse::url(s, &["postgres", "postgresql", "sqlite"])?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err("postgres URL needs a host".to_owned());
        }
        Ok((s.to_owned(), DatabaseKind::Postgres))
    })?;
    Ok(DatabaseSettings {
        url: SecretString::from(url),
        kind,
        max_connections: r.get(c::DB_MAX_CONNECTIONS, |s| parse::integer(s, 1, 10_000))? as u32,
        conn_max_age: r.seconds(c::DB_CONN_MAX_AGE)?,
    })
}
