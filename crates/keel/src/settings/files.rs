//! Static files and media: URLs, folders, the media store (a folder or S3).

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::catalog as c;
use super::error::SettingsError;
use super::parse;
use super::reader::Reader;

/// Where uploads are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaStorage {
    File { root: PathBuf },
    S3 { bucket: String, prefix: String },
}

#[derive(Debug, Clone)]
pub struct S3Settings {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<SecretString>,
    pub secret_access_key: Option<SecretString>,
}

/// Static files and media.
#[derive(Debug, Clone)]
pub struct FileSettings {
    pub static_url: String,
    pub static_root: PathBuf,
    /// Extra static folders, highest precedence first.
    pub staticfiles_dirs: Vec<PathBuf>,
    /// The internal nginx location for `X-Accel-Redirect` downloads.
    pub media_accel_redirect: Option<String>,
    pub media_url: String,
    pub media_storage: MediaStorage,
    pub s3: S3Settings,
}

/// `file://var/media` is the folder `var/media` under the working folder;
/// `file:///srv/media` is absolute.
pub(super) fn file_url_path(s: &str, cwd: &Path) -> Result<PathBuf, String> {
    let rest = s
        .trim()
        .strip_prefix("file://")
        .ok_or_else(|| format!("expected file://folder, got {s:?}"))?;
    if rest.is_empty() {
        return Err("file URL needs a folder, e.g. file://var/media".to_owned());
    }
    Ok(cwd.join(rest))
}

fn url_prefix(s: &str) -> Result<String, String> {
    let s = s.trim();
    let ok_absolute = parse::url(s, &["http", "https"]).is_ok();
    if !(s.starts_with('/') || ok_absolute) || !s.ends_with('/') {
        return Err(format!(
            "expected a path or URL that ends with '/', such as /static/, got {s:?}"
        ));
    }
    Ok(s.to_owned())
}

pub(super) fn read(r: &Reader<'_>, cwd: &Path) -> Result<FileSettings, SettingsError> {
    let media_storage = r.get(c::MEDIA_STORAGE, |s| {
        if s.trim().starts_with("s3://") {
            let url = parse::url(s, &["s3"])?;
            let bucket = url
                .host_str()
                .filter(|b| !b.is_empty())
                .ok_or("s3 URL needs a bucket, e.g. s3://bucket/prefix")?;
            Ok(MediaStorage::S3 {
                bucket: bucket.to_owned(),
                prefix: url.path().trim_matches('/').to_owned(),
            })
        } else {
            file_url_path(s, cwd).map(|root| MediaStorage::File { root })
        }
    })?;
    let secret = |name| r.optional(name, |s| Ok(SecretString::from(s.trim().to_owned())));
    Ok(FileSettings {
        static_url: r.get(c::STATIC_URL, url_prefix)?,
        static_root: cwd.join(r.string(c::STATIC_ROOT)?),
        staticfiles_dirs: r.list(c::STATICFILES_DIRS)?.into_iter().map(|d| cwd.join(d)).collect(),
        media_accel_redirect: r.optional(c::MEDIA_ACCEL_REDIRECT, url_prefix)?,
        media_url: r.get(c::MEDIA_URL, url_prefix)?,
        media_storage,
        s3: S3Settings {
            endpoint: r.optional(c::S3_ENDPOINT, |s| {
                parse::url(s, &["http", "https"]).map(|u| u.to_string())
            })?,
            region: r.optional(c::S3_REGION, |s| Ok(s.trim().to_owned()))?,
            access_key_id: secret(c::S3_ACCESS_KEY_ID)?,
            secret_access_key: secret(c::S3_SECRET_ACCESS_KEY)?,
        },
    })
}
