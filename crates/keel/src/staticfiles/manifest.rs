//! `manifest.json` in the static root: what `collectstatic` wrote and from
//! which sources. The manifest is written last, so a collection that failed
//! half-way still has the previous, consistent manifest.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::StaticError;

/// The file name of the manifest inside the static root.
pub const MANIFEST_NAME: &str = "manifest.json";
/// Bumped whenever collecting the same sources would give other output, so
/// older manifests read as stale.
pub const FORMAT_VERSION: u32 = 1;
/// How many hex digits of SHA-256 a hashed name carries (48 bits).
pub const HASH_DIGITS: usize = 12;

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    /// SHA-256 over the format version, the static URL and every source's
    /// path and content: what `collectstatic` would produce from.
    pub source_hash: String,
    /// Logical path to what was written for it.
    pub files: BTreeMap<String, ManifestEntry>,
}

/// One collected file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// The content-hashed logical path, e.g. `keel/keel.3f2a9c1b7d4e.css`.
    pub hashed: String,
    pub size: u64,
    /// SHA-256 of the collected bytes (after CSS rewriting), hex.
    pub sha256: String,
    /// Whether `.gz` siblings were written (both names).
    pub gzip: bool,
    /// Whether `.br` siblings were written (both names).
    pub br: bool,
}

/// SHA-256 of `data`, hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `path` with the first [`HASH_DIGITS`] of `digest` (hex) before its
/// extension: `keel/keel.css` → `keel/keel.3f2a9c1b7d4e.css`; a name without
/// an extension gets it at the end.
pub fn hashed_name(path: &str, digest: &str) -> String {
    let short = &digest[..HASH_DIGITS.min(digest.len())];
    let (dir, name) = match path.rsplit_once('/') {
        Some((dir, name)) => (&path[..=dir.len()], name),
        None => ("", path),
    };
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{dir}{stem}.{short}.{ext}"),
        _ => format!("{dir}{name}.{short}"),
    }
}

/// Reads the manifest of `root`; `Ok(None)` when there is none.
pub fn read(root: &Path) -> Result<Option<Manifest>, StaticError> {
    let path = root.join(MANIFEST_NAME);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StaticError::Read { path, source }),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|source| StaticError::InvalidManifest { path, source })
}

impl Manifest {
    /// The manifest as pretty JSON with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut text = serde_json::to_vec_pretty(self).unwrap_or_default();
        text.push(b'\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_put_the_digest_before_the_extension() {
        let digest = "3f2a9c1b7d4e5f60718293a4b5c6d7e8f9";
        let cases = [
            ("keel/keel.css", "keel/keel.3f2a9c1b7d4e.css"),
            ("app.min.js", "app.min.3f2a9c1b7d4e.js"),
            ("a/b/LICENSE", "a/b/LICENSE.3f2a9c1b7d4e"),
            ("a/.hidden", "a/.hidden.3f2a9c1b7d4e"),
        ];
        for (path, expected) in cases {
            assert_eq!(hashed_name(path, digest), expected, "{path}");
        }
    }

    #[test]
    fn a_missing_manifest_reads_as_none_and_a_broken_one_as_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(dir.path()).unwrap().is_none());
        std::fs::write(dir.path().join(MANIFEST_NAME), "{not json").unwrap();
        assert!(matches!(read(dir.path()), Err(StaticError::InvalidManifest { .. })));
    }
}
