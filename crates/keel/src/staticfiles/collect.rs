//! `keel collectstatic`: the sources, planned, written into the static
//! root.
//!
//! Each file is written under its own name and its hashed name, with `.gz`
//! and `.br` siblings where they are smaller; each write goes to a temporary
//! name first and is renamed into place, so a server or nginx reading the
//! root never sees half a file. A file whose hashed name and outputs are
//! already there is skipped, so a second run writes nothing. The manifest
//! is written last. Files from earlier collections stay until `--clear`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::compress;
use super::manifest::{self, Manifest, ManifestEntry, FORMAT_VERSION, MANIFEST_NAME};
use super::plan::{self, Planned};
use super::sources;
use super::StaticError;
use crate::settings::FileSettings;

/// How to collect.
#[derive(Debug, Clone, Copy, Default)]
pub struct CollectOptions {
    /// Delete the static root's contents first.
    pub clear: bool,
    /// Work out and report everything, write and delete nothing.
    pub dry_run: bool,
}

/// Progress, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// Planning is done; this many files follow.
    Start {
        total: usize,
    },
    Copied(&'a str),
    Unchanged(&'a str),
}

/// What a collection did (or, in a dry run, would do).
#[derive(Debug, Clone)]
pub struct CollectReport {
    pub root: PathBuf,
    pub copied: usize,
    pub unchanged: usize,
    /// `.gz` and `.br` bodies written, counted once per file.
    pub variants: usize,
    /// Entries deleted from the root by `clear`.
    pub cleared: usize,
    pub dry_run: bool,
    /// Conflicts between sources, skipped entries, unresolved references.
    pub warnings: Vec<String>,
}

impl CollectReport {
    /// One line saying what happened.
    pub fn summary(&self) -> String {
        let root = self.root.display();
        let cleared = match self.cleared {
            0 => String::new(),
            n => format!("{} cleared; ", count(n, "entry", "entries")),
        };
        let files = count(self.copied, "file", "files");
        let unchanged = self.unchanged;
        if self.dry_run {
            format!("Dry run: {cleared}{files} would be copied, {unchanged} unchanged; nothing written to {root}")
        } else if self.copied == 0 {
            format!("{cleared}0 files copied, {unchanged} unchanged: {root} is up to date")
        } else {
            let variants = count(self.variants, "compressed variant", "compressed variants");
            format!("{cleared}{files} copied, {unchanged} unchanged, {variants} written to {root}")
        }
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Collects the static files of `files` into `files.static_root`.
pub fn collect(
    files: &FileSettings,
    options: CollectOptions,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<CollectReport, StaticError> {
    let root = &files.static_root;
    let sources = sources::gather(&files.staticfiles_dirs)?;
    let source_hash = sources.hash(&files.static_url);
    let (planned, plan_warnings) = plan::plan(&sources, &files.static_url);
    let mut report = CollectReport {
        root: root.clone(),
        copied: 0,
        unchanged: 0,
        variants: 0,
        cleared: 0,
        dry_run: options.dry_run,
        warnings: sources.warnings.into_iter().chain(plan_warnings).collect(),
    };
    let previous = if options.clear {
        report.cleared = clear(root, &files.staticfiles_dirs, options.dry_run)?;
        None
    } else {
        manifest::read(root).unwrap_or_else(|err| {
            report.warnings.push(format!("{err}; collecting everything again"));
            None
        })
    };
    on_event(Event::Start { total: planned.len() });
    let mut entries = BTreeMap::new();
    for file in &planned {
        let old = previous.as_ref().and_then(|m| m.files.get(&file.path));
        let entry = match old.filter(|old| is_current(root, file, old)) {
            Some(old) => {
                report.unchanged += 1;
                on_event(Event::Unchanged(&file.path));
                old.clone()
            }
            None => {
                let (entry, variants) = if options.dry_run {
                    (entry_for(file, false, false), 0)
                } else {
                    write_file(root, file)?
                };
                report.copied += 1;
                report.variants += variants;
                on_event(Event::Copied(&file.path));
                entry
            }
        };
        entries.insert(file.path.clone(), entry);
    }
    let manifest = Manifest {
        version: FORMAT_VERSION,
        source_hash,
        files: entries,
    };
    if !options.dry_run && previous.as_ref() != Some(&manifest) {
        write_atomic(&root.join(MANIFEST_NAME), &manifest.to_json())?;
    }
    Ok(report)
}

fn entry_for(file: &Planned, gzip: bool, br: bool) -> ManifestEntry {
    ManifestEntry {
        hashed: file.hashed.clone(),
        size: file.bytes.len() as u64,
        sha256: file.sha256.clone(),
        gzip,
        br,
    }
}

/// Whether the root already holds exactly what `file` would write.
fn is_current(root: &Path, file: &Planned, old: &ManifestEntry) -> bool {
    let size = file.bytes.len() as u64;
    let has = |name: &str| root.join(name).is_file();
    old.hashed == file.hashed
        && old.sha256 == file.sha256
        && [&file.hashed, &file.path].iter().all(|name| {
            std::fs::metadata(root.join(name)).is_ok_and(|m| m.is_file() && m.len() == size)
                && (!old.gzip || has(&format!("{name}.gz")))
                && (!old.br || has(&format!("{name}.br")))
        })
}

/// Writes both names of `file` with their siblings; removes siblings that
/// an earlier, different content left behind.
fn write_file(root: &Path, file: &Planned) -> Result<(ManifestEntry, usize), StaticError> {
    let variants = compress::variants(file.content_type, &file.bytes);
    for name in [&file.hashed, &file.path] {
        write_atomic(&root.join(name), &file.bytes)?;
        for (ext, body) in [("gz", &variants.gzip), ("br", &variants.br)] {
            let sibling = root.join(format!("{name}.{ext}"));
            match body {
                Some(body) => write_atomic(&sibling, body)?,
                None => remove_if_present(&sibling)?,
            }
        }
    }
    let entry = entry_for(file, variants.gzip.is_some(), variants.br.is_some());
    Ok((entry, variants.count()))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StaticError> {
    let fail = |source| StaticError::Write {
        path: path.to_owned(),
        source,
    };
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(fail)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temporary = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, bytes).map_err(fail)?;
    std::fs::rename(&temporary, path).map_err(|err| {
        let _ = std::fs::remove_file(&temporary);
        fail(err)
    })
}

fn remove_if_present(path: &Path) -> Result<(), StaticError> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(StaticError::Write {
            path: path.to_owned(),
            source: err,
        }),
        _ => Ok(()),
    }
}

/// Deletes the contents of `root` (not `root` itself) and says how many
/// entries there were. Refuses a root that holds the working folder or a
/// source folder, or is the file system's root: a typo in
/// `KEEL_STATIC_ROOT` must not delete a project.
fn clear(root: &Path, dirs: &[PathBuf], dry_run: bool) -> Result<usize, StaticError> {
    let Ok(real) = std::fs::canonicalize(root) else {
        return Ok(0);
    };
    let refuse = |reason| StaticError::UnsafeClear {
        root: root.to_owned(),
        reason,
    };
    if real.parent().is_none() {
        return Err(refuse("it is the file system's root"));
    }
    if std::env::current_dir().is_ok_and(|cwd| cwd.starts_with(&real)) {
        return Err(refuse("it holds the working folder"));
    }
    if dirs
        .iter()
        .filter_map(|d| std::fs::canonicalize(d).ok())
        .any(|d| d.starts_with(&real))
    {
        return Err(refuse("it holds a folder of KEEL_STATICFILES_DIRS"));
    }
    let read = |source| StaticError::Read {
        path: root.to_owned(),
        source,
    };
    let entries: Vec<_> = std::fs::read_dir(&real)
        .map_err(read)?
        .collect::<Result<_, _>>()
        .map_err(read)?;
    if !dry_run {
        for entry in &entries {
            let path = entry.path();
            let removed = match entry.file_type() {
                Ok(kind) if kind.is_dir() => std::fs::remove_dir_all(&path),
                _ => std::fs::remove_file(&path),
            };
            removed.map_err(|source| StaticError::Write { path, source })?;
        }
    }
    Ok(entries.len())
}
