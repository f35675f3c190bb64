//! Media storage: uploaded files in a local folder (`file://`, the default)
//! or an S3-compatible bucket (`s3://bucket/prefix`), behind one
//! [`MediaStore`] built from [`FileSettings`] by `Core::build`.
//!
//! The store knows keys and bytes, never what they belong to: keys are
//! made by the caller from generated ids ([`ObjectKey`] refuses anything
//! else that could climb out of its folder), never from user input.
//! Uploads are streamed ([`MediaStore::put_stream`]) with bounded memory and
//! a byte limit, and leave nothing behind when they fail or are dropped.
//! [`sniff`] tells a file's type from its first bytes, [`filename`] makes
//! an uploaded name safe to keep and to send back, and [`download`] answers
//! a download request (attachment, `nosniff`, sandbox CSP, Range, or
//! `X-Accel-Redirect` behind nginx).

pub mod download;
pub mod filename;
pub mod sniff;
mod upload;

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{BoxStream, Stream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};

use crate::http::Problem;
use crate::settings::{expose, FileSettings, MediaStorage};

/// What an upload stream may fail with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the upload is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the upload stream broke off: {0}")]
    Interrupted(#[source] BoxError),
    #[error("no object at {0}")]
    NotFound(String),
    #[error("media storage settings: {0}")]
    Config(String),
    #[error("media storage failed: {0}")]
    Backend(#[source] object_store::Error),
}

impl From<object_store::Error> for StorageError {
    fn from(err: object_store::Error) -> Self {
        match err {
            object_store::Error::NotFound { path, .. } => StorageError::NotFound(path),
            other => StorageError::Backend(other),
        }
    }
}

impl From<StorageError> for Problem {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::TooLarge { limit } => {
                Problem::payload_too_large(format!("An uploaded file is larger than {limit} bytes."))
            }
            StorageError::Interrupted(_) => Problem::bad_request("The upload broke off before it was complete."),
            StorageError::NotFound(_) => Problem::not_found(),
            err @ StorageError::Backend(_) => {
                tracing::error!(error = %err, "media storage unavailable");
                Problem::unavailable("The service is temporarily unavailable; try again shortly.")
            }
            err @ StorageError::Config(_) => {
                tracing::error!(error = %err, "media storage misconfigured");
                Problem::internal_error(&err)
            }
        }
    }
}

/// A key in the store: `/`-separated segments of ASCII letters, digits,
/// `-`, `_` and `.`, none of them `.` or `..`. Built by the caller from
/// generated ids, e.g. `forms/<form id>/<response id>/<file id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey(String);

impl ObjectKey {
    pub fn parse(raw: &str) -> Option<Self> {
        let segment_ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        raw.split('/').all(segment_ok).then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn path(&self) -> Path {
        Path::from(self.0.as_str())
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the store knows about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
}

/// Bytes of an object: the part asked for and the whole size.
pub struct ObjectBytes {
    pub range: Range<u64>,
    pub size: u64,
    pub stream: BoxStream<'static, Result<Bytes, StorageError>>,
}

/// The media store. Cheap to clone.
#[derive(Clone)]
pub struct MediaStore {
    inner: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for MediaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MediaStore({})", self.inner)
    }
}

impl MediaStore {
    /// The store `KEEL_MEDIA_STORAGE` names. A local folder is created
    /// when missing; S3 is not contacted until first use.
    pub fn from_settings(settings: &FileSettings) -> Result<Self, StorageError> {
        let inner: Arc<dyn ObjectStore> = match &settings.media_storage {
            MediaStorage::File { root } => {
                std::fs::create_dir_all(root)
                    .map_err(|e| StorageError::Config(format!("cannot create {}: {e}", root.display())))?;
                Arc::new(LocalFileSystem::new_with_prefix(root)?.with_automatic_cleanup(true))
            }
            MediaStorage::S3 { bucket, prefix } => {
                let s3 = &settings.s3;
                let mut builder = AmazonS3Builder::new().with_bucket_name(bucket);
                if let Some(endpoint) = &s3.endpoint {
                    // A custom endpoint (MinIO, moto, Ceph...) is addressed by
                    // path, and may be plain http on a private network.
                    builder = builder
                        .with_endpoint(endpoint.trim_end_matches('/'))
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                builder = builder.with_region(s3.region.as_deref().unwrap_or("us-east-1"));
                if let Some(id) = &s3.access_key_id {
                    builder = builder.with_access_key_id(expose(id));
                }
                if let Some(secret) = &s3.secret_access_key {
                    builder = builder.with_secret_access_key(expose(secret));
                }
                let store = builder.build()?;
                if prefix.is_empty() {
                    Arc::new(store)
                } else {
                    Arc::new(PrefixStore::new(store, prefix.as_str()))
                }
            }
        };
        Ok(Self { inner })
    }

    /// Streams `body` into `key`, failing with [`StorageError::TooLarge`]
    /// past `limit` bytes; returns the size. Memory stays bounded (a few
    /// multipart chunks) whatever the size. On failure, or when the
    /// returned future is dropped, nothing is left at `key`.
    pub async fn put_stream<S, E>(&self, key: &ObjectKey, body: S, limit: u64) -> Result<u64, StorageError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: Into<BoxError>,
    {
        upload::put_stream(self.inner.clone(), key.path(), body, limit).await
    }

    pub async fn head(&self, key: &ObjectKey) -> Result<ObjectInfo, StorageError> {
        let meta = self.inner.head(&key.path()).await?;
        Ok(ObjectInfo {
            key: key.to_string(),
            size: meta.size,
        })
    }

    /// The bytes of `key`, or of `range` of them (which must lie inside
    /// the object: see [`download`] for how requests are checked).
    pub async fn get(&self, key: &ObjectKey, range: Option<Range<u64>>) -> Result<ObjectBytes, StorageError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.inner.get_opts(&key.path(), options).await?;
        Ok(ObjectBytes {
            range: result.range.clone(),
            size: result.meta.size,
            stream: result.into_stream().map_err(StorageError::from).boxed(),
        })
    }

    /// Deletes `key`; a missing object is not an error.
    pub async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        match self.inner.delete(&key.path()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Every object under `prefix` (whole segments: `a/b` holds `a/b/c`,
    /// not `a/bc`).
    pub async fn list(&self, prefix: &ObjectKey) -> Result<Vec<ObjectInfo>, StorageError> {
        self.listed(Some(&prefix.path())).await
    }

    /// Every object in the store (for backups).
    pub async fn list_all(&self) -> Result<Vec<ObjectInfo>, StorageError> {
        self.listed(None).await
    }

    async fn listed(&self, prefix: Option<&Path>) -> Result<Vec<ObjectInfo>, StorageError> {
        let metas: Vec<_> = self.inner.list(prefix).try_collect().await?;
        Ok(metas
            .into_iter()
            .map(|m| ObjectInfo {
                key: m.location.to_string(),
                size: m.size,
            })
            .collect())
    }

    /// Deletes every object under `prefix`; returns how many there were.
    pub async fn delete_prefix(&self, prefix: &ObjectKey) -> Result<usize, StorageError> {
        let locations = self.inner.list(Some(&prefix.path())).map_ok(|m| m.location).boxed();
        let mut results = self.inner.delete_stream(locations);
        let mut count = 0;
        while let Some(result) = results.next().await {
            match result {
                Ok(_) => count += 1,
                Err(object_store::Error::NotFound { .. }) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests;
