//! Free disk where Keel writes: the SQLite database's folder, the local
//! media folder and the log file's folder, once per filesystem.
//!
//! The thresholds are absolute and relative: under [`ERROR_BELOW`]
//! (100 MiB) SQLite's next checkpoint, an upload or a log line may fail
//! any moment, so it is an error (`keel.live.E040`); under [`WARN_BELOW`]
//! (1 GiB) or [`WARN_BELOW_PERCENT`] (5 %) of the filesystem it is a
//! warning (`keel.live.W040`), time to act before it fills. Free means
//! what an ordinary user may still write (`f_bavail`), not the blocks
//! kept for root.

use std::path::{Path, PathBuf};

use crate::checks::registry as r;
use crate::checks::{Finding, Level};
use crate::settings::{DatabaseKind, MediaStorage, Settings};

const MIB: u64 = 1024 * 1024;
/// Less free than this is an error.
pub const ERROR_BELOW: u64 = 100 * MIB;
/// Less free than this is a warning.
pub const WARN_BELOW: u64 = 1024 * MIB;
/// Less free than this share of the filesystem (in percent) is a warning.
pub const WARN_BELOW_PERCENT: u64 = 5;

/// How serious `free` bytes left of `total` are, if at all.
pub fn level(free: u64, total: u64) -> Option<Level> {
    if free < ERROR_BELOW {
        Some(Level::Error)
    } else if free < WARN_BELOW || u128::from(free) * 100 < u128::from(total) * u128::from(WARN_BELOW_PERCENT) {
        Some(Level::Warning)
    } else {
        None
    }
}

/// The finding for a filesystem with `free` of `total` bytes that holds
/// `what` (e.g. `media (/srv/media)`).
pub fn finding(free: u64, total: u64, what: &[String]) -> Option<Finding> {
    let check = match level(free, total)? {
        Level::Error => &r::DISK_NEARLY_FULL,
        _ => &r::DISK_LOW,
    };
    let percent = if total == 0 {
        0
    } else {
        u128::from(free) * 100 / u128::from(total)
    };
    Some(Finding::new(
        check,
        format!(
            "{} free of {} ({percent} %) on the filesystem of {}",
            size(free),
            size(total),
            what.join(", ")
        ),
    ))
}

fn size(bytes: u64) -> String {
    if bytes >= 1024 * MIB {
        format!("{:.1} GiB", bytes as f64 / (1024 * MIB) as f64)
    } else {
        format!("{} MiB", bytes / MIB)
    }
}

/// The folders Keel writes to, each with what it holds.
fn places(settings: &Settings) -> Vec<(String, PathBuf)> {
    let mut places = Vec::new();
    if let DatabaseKind::Sqlite { path } = &settings.database.kind {
        if path.as_os_str() != ":memory:" {
            let folder = path.parent().unwrap_or(Path::new(".")).to_owned();
            places.push(("the SQLite database".to_owned(), folder));
        }
    }
    if let MediaStorage::File { root } = &settings.files.media_storage {
        places.push(("media".to_owned(), root.clone()));
    }
    if let Some(file) = &settings.log.file {
        places.push((
            "the log file".to_owned(),
            file.parent().unwrap_or(Path::new(".")).to_owned(),
        ));
    }
    places
}

/// The disk findings, one per filesystem that is short of space.
#[cfg(unix)]
pub(super) fn findings(settings: &Settings) -> Vec<Finding> {
    use std::os::unix::fs::MetadataExt;

    // Filesystems by device, each with what lives on it.
    let mut filesystems: Vec<(u64, PathBuf, Vec<String>)> = Vec::new();
    for (what, folder) in places(settings) {
        // A folder not made yet is on its nearest existing ancestor's disk.
        let Some(existing) = folder.ancestors().find(|p| p.exists()) else {
            continue;
        };
        let Ok(meta) = std::fs::metadata(existing) else {
            continue;
        };
        let label = format!("{what} ({})", folder.display());
        match filesystems.iter_mut().find(|(dev, ..)| *dev == meta.dev()) {
            Some((_, _, labels)) => labels.push(label),
            None => filesystems.push((meta.dev(), existing.to_owned(), vec![label])),
        }
    }
    filesystems
        .into_iter()
        .filter_map(|(_, path, what)| {
            let stats = rustix::fs::statvfs(&path).ok()?;
            finding(
                stats.f_bavail.saturating_mul(stats.f_frsize),
                stats.f_blocks.saturating_mul(stats.f_frsize),
                &what,
            )
        })
        .collect()
}

#[cfg(not(unix))]
pub(super) fn findings(_settings: &Settings) -> Vec<Finding> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * MIB;

    #[test]
    fn thresholds_are_100_mib_for_an_error_and_1_gib_or_5_percent_for_a_warning() {
        let cases = [
            (50 * MIB, 100 * GIB, Some(Level::Error), "under 100 MiB"),
            (
                100 * MIB - 1,
                200 * MIB,
                Some(Level::Error),
                "a byte under 100 MiB, even at 50 %",
            ),
            (100 * MIB, 200 * MIB, Some(Level::Warning), "100 MiB is under 1 GiB"),
            (GIB - 1, 2 * GIB, Some(Level::Warning), "a byte under 1 GiB"),
            (GIB, 2 * GIB, None, "1 GiB and half the disk"),
            (4 * GIB, 100 * GIB, Some(Level::Warning), "4 % of the disk"),
            (5 * GIB, 100 * GIB, None, "exactly 5 %"),
            (50 * GIB, 2000 * GIB, Some(Level::Warning), "50 GiB is 2.5 % of 2 TiB"),
            (0, 0, Some(Level::Error), "nothing at all"),
        ];
        for (free, total, expected, why) in cases {
            assert_eq!(level(free, total), expected, "{why}");
        }
    }

    #[test]
    fn findings_name_the_level_sizes_and_what_the_filesystem_holds() {
        let what = ["media (/srv/media)".to_owned()];
        let error = finding(10 * MIB, 100 * GIB, &what).unwrap();
        assert_eq!(error.id, "keel.live.E040");
        assert_eq!(
            error.message,
            "10 MiB free of 100.0 GiB (0 %) on the filesystem of media (/srv/media)"
        );
        assert_eq!(finding(2 * GIB, 100 * GIB, &what).unwrap().id, "keel.live.W040");
        assert!(finding(20 * GIB, 100 * GIB, &what).is_none());
    }

    #[test]
    fn a_roomy_temporary_folder_gives_no_finding_and_each_filesystem_is_counted_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_test(dir.path());
        settings.log.file = Some(dir.path().join("log/keel.log"));
        assert_eq!(places(&settings).len(), 3, "SQLite, media and the log file");
        // The test machine has room; were it full, this says so.
        for finding in findings(&settings) {
            assert_eq!(
                finding.message.matches(dir.path().to_str().unwrap()).count(),
                3,
                "one line: {finding}"
            );
        }
    }
}
