//! `keel restore`: the archive checked whole, then the rows written in one
//! transaction and the media beside them, everything taken back on a
//! failure.

use std::io::Read;

use super::job::{check, check_with, io_error, Done, Progress, RestoreOptions};
use super::manifest::Manifest;
use super::{media, tables, BackupError};
use crate::app::App;
use crate::core::Core;
use crate::db::migrate;
use crate::storage::{MediaStore, ObjectKey};
use std::time::Instant;

/// The archive's schema must be this Keel's: the same migrations.
fn check_schema(manifest: &Manifest, apps: &[Box<dyn App>]) -> Result<(), BackupError> {
    let known: Vec<i64> = crate::launch::all_migrations(apps)
        .map_err(|e| BackupError::Schema(e.to_string()))?
        .iter()
        .map(|m| m.version)
        .collect();
    let archived: Vec<i64> = manifest.migrations.iter().map(|(v, _)| *v).collect();
    if let Some(unknown) = archived.iter().find(|v| !known.contains(v)) {
        return Err(BackupError::Newer(format!(
            "it was made at schema version {unknown}, which this Keel ({}) does not know",
            env!("CARGO_PKG_VERSION")
        )));
    }
    if let Some(missing) = known.iter().find(|v| !archived.contains(v)) {
        return Err(BackupError::Schema(format!(
            "it predates migration {missing}; restore it with the Keel that made it ({}), then upgrade",
            manifest.keel_version
        )));
    }
    Ok(())
}

/// Restores `options.file` into the database and media store of `core`:
/// the archive is read whole and checked first; the database is written in
/// one transaction, and media only under keys the store does not hold (a
/// failure deletes what was written); with `--force`, what was there is
/// replaced.
pub async fn restore(
    core: &Core,
    apps: &[Box<dyn App>],
    options: &RestoreOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Done, BackupError> {
    let started = Instant::now();
    progress(Progress::Phase("checking"));
    let manifest = check(&options.file, options.key.as_ref())?;
    check_schema(&manifest, apps)?;
    let all = crate::launch::all_migrations(apps).map_err(|e| BackupError::Schema(e.to_string()))?;
    migrate::run(&core.db, &all).await?;
    let targets = tables::list(&core.db).await?;
    if !options.force {
        if let Some(table) = tables::any_rows(&core.db, &targets).await? {
            return Err(BackupError::NotEmpty(table));
        }
    }
    // What the store already holds under the archive's keys, read once:
    // a conflict refuses the restore now, and the load skips what matches.
    let mut held = std::collections::HashMap::new();
    for (path, sum) in &manifest.entries {
        if let Some(key) = path.strip_prefix(media::PREFIX) {
            let key = media_key(key)?;
            if let Some(digest) = media::digest(&core.media, &key).await? {
                if digest != sum.sha256 && !options.force {
                    return Err(BackupError::MediaConflict(key.to_string()));
                }
                held.insert(path.clone(), digest);
            }
        }
    }
    progress(Progress::Phase("restoring"));
    let written = load(core, &targets, &manifest, &held, options, progress).await;
    match written {
        Ok(_committed) => {
            if options.force {
                remove_others(&core.media, &manifest).await?;
            }
            Ok(Done {
                path: options.file.clone(),
                rows: manifest.tables.iter().map(|t| t.rows).sum(),
                tables: manifest.tables.len(),
                objects: manifest.media.objects,
                media_bytes: manifest.media.bytes,
                archive_bytes: std::fs::metadata(&options.file).map_err(io_error(&options.file))?.len(),
                seconds: started.elapsed().as_secs_f64(),
                verified: true,
            })
        }
        Err((err, undo)) => {
            undo.run(&core.media).await;
            Err(err)
        }
    }
}

fn media_key(key: &str) -> Result<ObjectKey, BackupError> {
    ObjectKey::parse(key).ok_or_else(|| BackupError::Corrupt(format!("the media entry {key:?} is not a key")))
}

/// Objects of the store not in the archive (what `--force` replaced).
async fn remove_others(store: &MediaStore, manifest: &Manifest) -> Result<(), BackupError> {
    for object in store.list_all().await? {
        if !manifest
            .entries
            .contains_key(&format!("{}{}", media::PREFIX, object.key))
        {
            store.delete(&media_key(&object.key)?).await?;
        }
    }
    Ok(())
}

/// What a failed restore takes back in the media store: the objects it
/// created, and the old bytes of those it replaced (`--force`).
#[derive(Default)]
struct Undo {
    created: Vec<ObjectKey>,
    replaced: Vec<(ObjectKey, std::fs::File)>,
}

impl Undo {
    async fn run(self, store: &MediaStore) {
        for key in self.created {
            let _ = store.delete(&key).await;
        }
        for (key, mut old) in self.replaced {
            let _ = std::io::Seek::rewind(&mut old);
            let _ = media::put(store, &key, &mut old).await;
        }
    }
}

/// The second pass: rows into one transaction, objects into the store;
/// what to take back is returned with an error.
async fn load(
    core: &Core,
    targets: &[tables::Table],
    manifest: &Manifest,
    held: &std::collections::HashMap<String, String>,
    options: &RestoreOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Undo, (BackupError, Undo)> {
    let held = held.clone();
    let handle = tokio::runtime::Handle::current();
    let core = core.clone();
    let targets = targets.to_vec();
    let file = options.file.clone();
    let force = options.force;
    let key = options.key.as_ref().cloned();
    let total = manifest.media.objects;
    let manifest = manifest.clone();
    let (tx_progress, mut rx_progress) = tokio::sync::mpsc::unbounded_channel();
    let work = tokio::task::spawn_blocking(move || {
        let mut undo = Undo::default();
        let result = handle
            .block_on(async { core.db.begin().await })
            .map_err(BackupError::from)
            .and_then(|mut tx| {
                handle.block_on(tables::defer_foreign_keys(&mut tx))?;
                if force {
                    handle.block_on(tables::clear(&mut tx, &targets))?;
                }
                let mut objects = 0;
                let mut bytes = 0;
                let again = check_with(&file, key.as_ref(), |name, reader| {
                    if let Some(table) = name.strip_prefix("db/").and_then(|n| n.strip_suffix(".jsonl")) {
                        let target = targets
                            .iter()
                            .find(|t| t.name == table)
                            .ok_or_else(|| BackupError::Schema(format!("this database has no table {table}")))?;
                        let rows = handle.block_on(load_table(&mut tx, target, reader))?;
                        let expected = manifest.tables.iter().find(|t| t.name == table).map(|t| t.rows);
                        if expected != Some(rows) {
                            return Err(BackupError::Corrupt(format!(
                                "{table} holds {rows} rows where the manifest says {expected:?}"
                            )));
                        }
                        let _ = tx_progress.send(Progress::Table {
                            name: table.to_owned(),
                            rows,
                        });
                    } else if let Some(key) = name.strip_prefix(media::PREFIX) {
                        let key = media_key(key)?;
                        let held = held.get(name).cloned();
                        let wanted = manifest.entries.get(name).map(|sum| sum.sha256.as_str());
                        if held.is_some() && held.as_deref() != wanted {
                            // Only with --force (checked before): the old
                            // bytes are kept aside until the commit.
                            undo.replaced
                                .push((key.clone(), handle.block_on(media::set_aside(&core.media, &key))?));
                        }
                        if held.as_deref() != wanted {
                            bytes += handle.block_on(media::put(&core.media, &key, reader))?;
                            if held.is_none() {
                                undo.created.push(key);
                            }
                        }
                        objects += 1;
                        let _ = tx_progress.send(Progress::Object {
                            done: objects,
                            total,
                            bytes,
                        });
                    }
                    Ok(())
                })?;
                // What was read this time is what was checked before.
                if again != manifest {
                    return Err(BackupError::Corrupt(
                        "the archive changed while it was restored".to_owned(),
                    ));
                }
                handle.block_on(tables::reset_sequences(&mut tx, &targets))?;
                handle.block_on(tx.commit())?;
                Ok(())
            });
        (result, undo)
    });
    let mut work = std::pin::pin!(work);
    let (result, undo) = loop {
        tokio::select! {
            Some(step) = rx_progress.recv() => progress(step),
            joined = &mut work => break joined.unwrap_or_else(|e| (Err(BackupError::Spool(e.to_string())), Undo::default())),
        }
    };
    while let Ok(step) = rx_progress.try_recv() {
        progress(step);
    }
    match result {
        Ok(()) => Ok(undo),
        Err(err) => Err((err, undo)),
    }
}

/// Rows of one table's entry into `tx`.
pub(super) async fn load_table(
    tx: &mut crate::db::Tx,
    target: &tables::Table,
    reader: &mut dyn Read,
) -> Result<u64, BackupError> {
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(reader).lines();
    let header = lines
        .next()
        .ok_or_else(|| BackupError::Corrupt(format!("the dump of {} is empty", target.name)))?
        .map_err(BackupError::truncated)?;
    let header: serde_json::Value = serde_json::from_str(&header)
        .map_err(|_| BackupError::Corrupt(format!("the dump of {} has no header", target.name)))?;
    let columns: Vec<String> = serde_json::from_value(header["columns"].clone())
        .map_err(|_| BackupError::Corrupt(format!("the dump of {} names no columns", target.name)))?;
    let mut loader = tables::Loader::new(target, columns)?;
    for line in lines {
        let line = line.map_err(BackupError::truncated)?;
        let row: Vec<serde_json::Value> = serde_json::from_str(&line)
            .map_err(|_| BackupError::Corrupt(format!("a row of {} is not JSON", target.name)))?;
        loader.push(tx, row).await?;
    }
    loader.flush(tx).await?;
    Ok(loader.rows)
}
