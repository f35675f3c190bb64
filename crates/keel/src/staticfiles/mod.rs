//! Static files: finding them, collecting them for production, serving them.
//!
//! Owns the built-in files embedded in the binary ([`builtin`]), the extra
//! folders of `KEEL_STATICFILES_DIRS`, `keel collectstatic` ([`collect()`])
//! and the `/static/` service ([`mount`]). Knows nothing about apps,
//! sessions or the database.
//!
//! # Sources and precedence
//!
//! A static file has a logical path such as `keel/keel.css`. The folders of
//! `KEEL_STATICFILES_DIRS` come first, earlier folders over later ones, then
//! the built-in files; the first source of a path wins and every conflict is
//! a warning. Dotfiles, `*~` backups and symlinks that point outside their
//! folder are never sources.
//!
//! # Collecting
//!
//! [`collect()`] writes each file twice into `KEEL_STATIC_ROOT`: under its own
//! name and under a content-hashed one (`keel/keel.3f2a9c1b7d4e.css`, 12 hex
//! digits of SHA-256), plus `.gz` and `.br` siblings for compressible types
//! when they are smaller, and `manifest.json` mapping each path to its hashed
//! name. `url()` and `@import` references inside CSS are rewritten to hashed
//! names first, so a stylesheet's hash covers what it references. The
//! manifest records a hash of the whole source set, so a stale collection is
//! detectable ([`manifest_finding`], check `keel.static.E001`).
//!
//! # Serving, by profile
//!
//! - `prod`: only the files the manifest lists, under both names, loaded once
//!   at start into memory with their ETags and compressed variants; no file
//!   system access per request. Hashed names are cached for a year
//!   (`immutable`), the others for a minute.
//! - `dev`: straight from the sources on every request, never cached long.
//! - `test`: as `prod` when the static root has a `manifest.json`, else as
//!   `dev`, so tests choose by what they prepare (or set the profile).
//!
//! Every request path is checked segment by segment before any lookup
//! ([`path::request_path`]): `..`, encoded slashes and backslashes, NUL,
//! invalid or overlong UTF-8 and dotfiles are 404, as is anything outside the
//! folders (symlinks included).

mod asset;
pub mod builtin;
pub mod collect;
mod compress;
pub mod css;
pub mod manifest;
pub mod media;
pub mod path;
mod plan;
mod respond;
mod serve;
pub mod sources;
mod status;

use std::path::PathBuf;

pub use collect::{collect, CollectOptions, CollectReport, Event};
pub use manifest::{Manifest, ManifestEntry};
pub use serve::{mount, ServeMode};
pub use status::{manifest_finding, manifest_status, ManifestStatus};

/// What can go wrong while reading sources or writing the static root.
#[derive(Debug, thiserror::Error)]
pub enum StaticError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the static folder {0} does not exist (KEEL_STATICFILES_DIRS)")]
    MissingFolder(PathBuf),
    #[error("{path} is not a valid manifest: {source}")]
    InvalidManifest {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("refusing to clear {root}: {reason}")]
    UnsafeClear { root: PathBuf, reason: &'static str },
}
