//! The manifest: what an archive holds, written as its last entry and
//! checked before anything is restored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::archive::EntrySum;
use super::BackupError;

/// What every Keel archive says it is.
pub const FORMAT: &str = "keel-backup";
/// The layout this Keel writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The manifest's own entry.
pub const ENTRY: &str = "manifest.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSum {
    pub name: String,
    pub rows: u64,
    pub entry: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaSum {
    pub objects: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub keel_version: String,
    pub created_at: String,
    /// `sqlite` or `postgres`.
    pub source: String,
    /// The migrations applied to the source: version and name.
    pub migrations: Vec<(i64, String)>,
    pub tables: Vec<TableSum>,
    pub media: MediaSum,
    /// Every entry but the manifest, with its size and sha256.
    pub entries: BTreeMap<String, EntrySum>,
}

impl Manifest {
    /// Reads a manifest, refusing what is not a Keel archive of a layout
    /// this Keel knows.
    pub fn parse(bytes: &[u8]) -> Result<Self, BackupError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|_| BackupError::Foreign("its manifest is not JSON".to_owned()))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(BackupError::Foreign(
                "its manifest does not name the keel-backup format".to_owned(),
            ));
        }
        let version = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if version > u64::from(FORMAT_VERSION) {
            return Err(BackupError::Newer(format!(
                "its layout is version {version}; this Keel ({}) reads version {FORMAT_VERSION}",
                env!("CARGO_PKG_VERSION")
            )));
        }
        serde_json::from_value(value).map_err(|e| BackupError::Corrupt(format!("the manifest is incomplete ({e})")))
    }

    /// Every entry found must be listed with the same size and sha256,
    /// and every listed entry found.
    pub fn check_entries(&self, found: &BTreeMap<String, EntrySum>) -> Result<(), BackupError> {
        for (path, sum) in &self.entries {
            match found.get(path) {
                None => return Err(BackupError::Corrupt(format!("the entry {path} is missing"))),
                Some(seen) if seen != sum => {
                    return Err(BackupError::Corrupt(format!(
                        "the entry {path} does not match its checksum"
                    )))
                }
                Some(_) => {}
            }
        }
        if let Some(extra) = found.keys().find(|p| *p != ENTRY && !self.entries.contains_key(*p)) {
            return Err(BackupError::Corrupt(format!(
                "the entry {extra} is not in the manifest"
            )));
        }
        Ok(())
    }
}
