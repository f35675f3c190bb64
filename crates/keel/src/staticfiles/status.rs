//! Whether the static root matches the sources: check `keel.static.E001`,
//! run by `check --deploy` in `prod` (and so before `serve` there).

use super::manifest::{self, FORMAT_VERSION, MANIFEST_NAME};
use super::sources;
use crate::checks::{registry, Finding};
use crate::settings::FileSettings;

/// The state of the static root's manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestStatus {
    /// Collected from exactly the current sources, every file present.
    Fresh,
    Missing,
    Unreadable(String),
    /// Collected from other sources (or by another version of Keel).
    Stale,
    /// Files the manifest lists that the root lacks.
    Incomplete(Vec<String>),
    /// The sources themselves cannot be read, so freshness is unknown.
    SourcesUnreadable(String),
}

/// Compares the manifest of `files.static_root` with the sources.
pub fn manifest_status(files: &FileSettings) -> ManifestStatus {
    let manifest = match manifest::read(&files.static_root) {
        Ok(Some(manifest)) => manifest,
        Ok(None) => return ManifestStatus::Missing,
        Err(err) => return ManifestStatus::Unreadable(err.to_string()),
    };
    let sources = match sources::gather(&files.staticfiles_dirs) {
        Ok(sources) => sources,
        Err(err) => return ManifestStatus::SourcesUnreadable(err.to_string()),
    };
    if manifest.version != FORMAT_VERSION || manifest.source_hash != sources.hash(&files.static_url) {
        return ManifestStatus::Stale;
    }
    let missing: Vec<String> = manifest
        .files
        .values()
        .filter(|entry| !files.static_root.join(&entry.hashed).is_file())
        .map(|entry| entry.hashed.clone())
        .collect();
    if missing.is_empty() {
        ManifestStatus::Fresh
    } else {
        ManifestStatus::Incomplete(missing)
    }
}

/// The `keel.static.E001` finding, unless the manifest is fresh.
pub fn manifest_finding(files: &FileSettings) -> Option<Finding> {
    let manifest = files.static_root.join(MANIFEST_NAME);
    let manifest = manifest.display();
    let message = match manifest_status(files) {
        ManifestStatus::Fresh => return None,
        ManifestStatus::Missing => format!("{manifest} is missing: the static files were never collected"),
        ManifestStatus::Unreadable(err) => format!("the static manifest cannot be read: {err}"),
        ManifestStatus::Stale => {
            format!("{manifest} is stale: the static files or KEEL_STATIC_URL changed since the last collectstatic")
        }
        ManifestStatus::Incomplete(missing) => format!(
            "{} file(s) that {manifest} lists are missing, e.g. {}",
            missing.len(),
            missing.first().map_or("", String::as_str)
        ),
        ManifestStatus::SourcesUnreadable(err) => format!("the static sources cannot be read: {err}"),
    };
    Some(Finding::new(&registry::STATIC_MANIFEST, message))
}
