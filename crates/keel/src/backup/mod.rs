//! `keel backup` and `keel restore`: one archive with the database and the
//! media, a manifest and a checksum per entry; checked whole before
//! anything is restored, and portable between SQLite and PostgreSQL.
//!
//! - [`values`] — one portable form for a column value of either backend
//! - [`tables`] — the tables, dumped in a consistent snapshot, loaded in
//!   one transaction
//! - [`archive`] — tar, zstd, and the sha256 of every entry
//! - [`crypt`] — age encryption to a recipient or with a passphrase
//! - [`manifest`] — what an archive holds, checked before a restore
//! - [`media`] — every object of the media store, out and back
//! - [`job`] — options, progress, and the whole-archive check
//! - [`run`] — `keel backup`
//! - [`restore`](mod@restore) — `keel restore`
//! - [`verify`] — `--verify` into a [`scratch`] database
//! - [`retention`] — `--out-dir` names and `--keep`
//!
//! Layout of an archive: `db/<table>.jsonl` for each table (a header line,
//! then one JSON array per row), `media/<key>` for each object, and
//! `manifest.json` last.

pub mod archive;
pub mod crypt;
pub mod job;
pub mod manifest;
pub mod media;
pub mod restore;
pub mod retention;
pub mod run;
pub mod scratch;
pub mod tables;
pub mod values;
pub mod verify;

use std::path::PathBuf;

pub use crypt::Key;
pub use job::{check, BackupOptions, Done, Progress, RestoreOptions};
pub use manifest::Manifest;
pub use restore::restore;
pub use retention::{archive_name, keep_newest};
pub use run::backup;

/// Why a backup or restore stopped; one line each, naming the problem.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {why}", path = .0.display(), why = .1)]
    Io(PathBuf, String),
    #[error("cannot spool a table: {0}")]
    Spool(String),
    #[error("the database: {0}")]
    Db(#[from] crate::db::DbError),
    #[error("the media store: {0}")]
    Media(#[from] crate::storage::StorageError),
    #[error("a value: {0}")]
    Value(String),
    #[error("the archive is truncated or damaged: {0}")]
    Truncated(String),
    #[error("the archive is corrupt: {0}")]
    Corrupt(String),
    #[error("not a Keel backup: {0}")]
    Foreign(String),
    #[error("the archive is newer than this Keel: {0}")]
    Newer(String),
    #[error("the schema does not match: {0}")]
    Schema(String),
    #[error("the target is not empty: table {0} has rows; pass --force to replace what is there")]
    NotEmpty(String),
    #[error("the media store already holds {0} with other contents; restore into an empty store")]
    MediaConflict(String),
    #[error("{0}")]
    Key(String),
    #[error("verification failed: {0}")]
    Verify(String),
}

impl BackupError {
    fn spool(err: std::io::Error) -> Self {
        Self::Spool(err.to_string())
    }

    fn truncated(err: std::io::Error) -> Self {
        Self::Truncated(err.to_string())
    }
}
