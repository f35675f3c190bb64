//! Finding static files in their sources: the folders of
//! `KEEL_STATICFILES_DIRS` (earlier first), then the built-in files. The
//! first source of a logical path wins.
//!
//! A symlink inside a folder is followed only when it stays inside that
//! folder; one that points out is skipped (collecting) or a 404 (serving),
//! so a link can never publish a file the folder's owner did not put there.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::manifest::{sha256_hex, FORMAT_VERSION};
use super::path::{valid_logical, valid_segment};
use super::{builtin, StaticError};

/// Nested folders deeper than this are not walked.
const MAX_DEPTH: usize = 32;

/// Where a source file came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Builtin,
    Folder(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Builtin => f.write_str("the built-in files"),
            Self::Folder(dir) => write!(f, "{}", dir.display()),
        }
    }
}

/// One source file, read.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub origin: Origin,
    pub bytes: Cow<'static, [u8]>,
}

/// Every winning source, by logical path, and what was passed over.
#[derive(Debug, Default)]
pub struct SourceSet {
    pub files: BTreeMap<String, SourceFile>,
    /// Human-readable warnings: conflicts and skipped entries.
    pub warnings: Vec<String>,
}

/// Reads every source. A configured folder that does not exist is an error.
pub fn gather(dirs: &[PathBuf]) -> Result<SourceSet, StaticError> {
    let mut set = SourceSet::default();
    for dir in dirs {
        let root = std::fs::canonicalize(dir).map_err(|_| StaticError::MissingFolder(dir.clone()))?;
        let mut found = Vec::new();
        walk(&root, &root, "", 0, &mut found, &mut set.warnings)?;
        for (path, bytes) in found {
            set.add(path, Origin::Folder(dir.clone()), Cow::Owned(bytes));
        }
    }
    for file in builtin::BUILTIN {
        set.add(file.path.to_owned(), Origin::Builtin, Cow::Borrowed(file.bytes));
    }
    Ok(set)
}

impl SourceSet {
    fn add(&mut self, path: String, origin: Origin, bytes: Cow<'static, [u8]>) {
        if let Some(winner) = self.files.get(&path) {
            self.warnings.push(format!(
                "{path}: the file in {} takes precedence over the one in {origin}",
                winner.origin
            ));
            return;
        }
        self.files.insert(path.clone(), SourceFile { path, origin, bytes });
    }

    /// SHA-256 over the format version, `static_url` and every path with
    /// its content's hash: equal exactly when collecting would write the
    /// same files.
    pub fn hash(&self, static_url: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(format!("keel-static/{FORMAT_VERSION}\n{static_url}\n"));
        for file in self.files.values() {
            hasher.update(format!("{}\0{}\n", file.path, sha256_hex(&file.bytes)));
        }
        hex::encode(hasher.finalize())
    }
}

fn walk(
    root: &Path,
    dir: &Path,
    prefix: &str,
    depth: usize,
    found: &mut Vec<(String, Vec<u8>)>,
    warnings: &mut Vec<String>,
) -> Result<(), StaticError> {
    let read_err = |source| StaticError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(read_err)?
        .collect::<Result<_, _>>()
        .map_err(read_err)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            warnings.push(format!("{}: skipped, the name is not UTF-8", path.display()));
            continue;
        };
        if !valid_segment(&name) {
            continue;
        }
        let logical = format!("{prefix}{name}");
        let Some(target) = inside(root, &path) else {
            warnings.push(format!("{}: skipped, it points outside its folder", path.display()));
            continue;
        };
        if target.is_dir() && !entry.file_type().is_ok_and(|t| t.is_symlink()) && depth < MAX_DEPTH {
            walk(root, &path, &format!("{logical}/"), depth + 1, found, warnings)?;
        } else if target.is_file() {
            let bytes = std::fs::read(&target).map_err(|source| StaticError::Read { path, source })?;
            found.push((logical, bytes));
        }
    }
    Ok(())
}

/// The real path of `path` when it is inside `root` (already canonical).
fn inside(root: &Path, path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok().filter(|real| real.starts_with(root))
}

/// A source found for a request in `dev`.
#[derive(Debug)]
pub struct Found {
    pub bytes: Cow<'static, [u8]>,
    pub modified: Option<SystemTime>,
}

/// The source of `logical` (already checked by
/// [`super::path::request_path`]), reading the file system: for `dev`.
pub fn find(dirs: &[PathBuf], logical: &str) -> Option<Found> {
    if !valid_logical(logical) {
        return None;
    }
    for dir in dirs {
        let Ok(root) = std::fs::canonicalize(dir) else {
            continue;
        };
        let Some(real) = inside(&root, &root.join(logical)) else {
            continue;
        };
        if let (Ok(meta), Ok(bytes)) = (std::fs::metadata(&real), std::fs::read(&real)) {
            if meta.is_file() {
                return Some(Found {
                    bytes: Cow::Owned(bytes),
                    modified: meta.modified().ok(),
                });
            }
        }
    }
    builtin::find(logical).map(|file| Found {
        bytes: Cow::Borrowed(file.bytes),
        modified: None,
    })
}
