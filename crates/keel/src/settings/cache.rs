//! The cache section: memory or Redis, key prefix and version.

use secrecy::SecretString;

use super::catalog as c;
use super::error::SettingsError;
use super::parse;
use super::reader::Reader;

/// Which cache `KEEL_CACHE_URL` names.
#[derive(Debug, Clone)]
pub enum CacheBackendKind {
    Memory,
    /// The URL is a secret because it may hold a password.
    Redis(SecretString),
}

#[derive(Debug, Clone)]
pub struct CacheSettings {
    pub backend: CacheBackendKind,
    pub key_prefix: String,
    pub version: u32,
}

pub(super) fn read(r: &Reader<'_>) -> Result<CacheSettings, SettingsError> {
    let backend = r.get(c::CACHE_URL, |s| {
        let url = parse::url(s, &["memory", "redis", "rediss"])?;
        Ok(match url.scheme() {
            "memory" => CacheBackendKind::Memory,
            _ => {
                if url.host_str().is_none_or(str::is_empty) {
                    return Err("redis URL needs a host, e.g. redis://127.0.0.1:6379".to_owned());
                }
                CacheBackendKind::Redis(SecretString::from(s.trim().to_owned()))
            }
        })
    })?;
    Ok(CacheSettings {
        backend,
        key_prefix: r.get(c::CACHE_KEY_PREFIX, |s| {
            if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err("must not contain spaces or control characters".to_owned());
            }
            Ok(s.to_owned())
        })?,
        version: r.get(c::CACHE_VERSION, |s| parse::integer(s, 0, u32::MAX as u64))? as u32,
    })
}
