//! `--out-dir DIR --keep N`: archive names that sort by age, and the
//! removal of all but the newest.

use std::path::{Path, PathBuf};

use super::job::io_error;
use super::BackupError;

/// With `--out-dir DIR --keep N`: removes all but the newest `keep`
/// archives Keel named in `dir`; returns the removed paths.
pub fn keep_newest(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, BackupError> {
    let mut archives: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_error(dir))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("keel-") && (n.ends_with(".tar.zst") || n.ends_with(".tar.zst.age")))
        })
        .collect();
    // The names carry a UTC timestamp, so their order is their age.
    archives.sort();
    let remove = archives.len().saturating_sub(keep);
    let removed: Vec<PathBuf> = archives.into_iter().take(remove).collect();
    for path in &removed {
        std::fs::remove_file(path).map_err(io_error(path))?;
    }
    Ok(removed)
}

/// The file name `--out-dir` gives a new archive.
pub fn archive_name(encrypted: bool) -> String {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    format!("keel-{stamp}.tar.zst{}", if encrypted { ".age" } else { "" })
}
