//! What the commands are told and what they report, and the
//! whole-archive check every restore (and `--verify`) begins with.

use std::path::{Path, PathBuf};

use super::manifest::{self, Manifest};
use super::{archive, media, BackupError, Key};

/// What the engines report as they go (for a progress bar).
#[derive(Debug, Clone)]
pub enum Progress {
    Table { name: String, rows: u64 },
    Object { done: u64, total: u64, bytes: u64 },
    Phase(&'static str),
}

pub struct BackupOptions {
    pub out: PathBuf,
    pub key: Option<Key>,
    pub verify: bool,
}

pub struct RestoreOptions {
    pub file: PathBuf,
    pub key: Option<Key>,
    pub force: bool,
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct Done {
    pub path: PathBuf,
    pub rows: u64,
    pub tables: usize,
    pub objects: u64,
    pub media_bytes: u64,
    pub archive_bytes: u64,
    pub seconds: f64,
    pub verified: bool,
}

pub(super) fn io_error(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |e| BackupError::Io(path.to_owned(), e.to_string())
}

/// Reads the whole archive once: every entry's checksum against the
/// manifest, nothing written. The manifest.
pub fn check(path: &Path, key: Option<&Key>) -> Result<Manifest, BackupError> {
    check_with(path, key, |_, _| Ok(()))
}

/// [`check`], handing every entry but the manifest to `each` on the way
/// (a restore or `--verify` loads it in the same pass); what `each` did
/// stands only if the manifest then checks out.
pub fn check_with(
    path: &Path,
    key: Option<&Key>,
    mut each: impl FnMut(&str, &mut dyn std::io::Read) -> Result<(), BackupError>,
) -> Result<Manifest, BackupError> {
    let mut manifest_bytes = None;
    let found = archive::read_entries(path, key, |name, reader| {
        if name == manifest::ENTRY {
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes).map_err(BackupError::truncated)?;
            manifest_bytes = Some(bytes);
            return Ok(());
        }
        each(name, reader)
    })?;
    let bytes = manifest_bytes.ok_or_else(|| {
        if found.is_empty() {
            BackupError::Foreign("it holds no entries".to_owned())
        } else if found
            .keys()
            .all(|k| k.starts_with("db/") || k.starts_with(media::PREFIX))
        {
            BackupError::Truncated("the manifest, its last entry, is missing".to_owned())
        } else {
            BackupError::Foreign("it has no manifest".to_owned())
        }
    })?;
    let manifest = Manifest::parse(&bytes)?;
    manifest.check_entries(&found)?;
    Ok(manifest)
}
