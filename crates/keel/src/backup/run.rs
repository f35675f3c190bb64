//! The commands' engines: [`backup`] (snapshot, archive, rename, and
//! `--verify`), [`restore`] (check everything, then write in one
//! transaction) and [`keep_newest`] (retention).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::archive::{self, EntrySum, Writer};
use super::manifest::{self, Manifest, MediaSum, TableSum};
use super::{media, tables, BackupError, Key};
use crate::app::App;
use crate::core::Core;
use crate::db::{migrate, Db};
use crate::storage::{MediaStore, ObjectKey};

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

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |e| BackupError::Io(path.to_owned(), e.to_string())
}

/// Writes an archive of the database and the media to `options.out`,
/// through a temporary name renamed at the end (a failed backup leaves no
/// file that looks whole).
pub async fn backup(
    core: &Core,
    apps: &[Box<dyn App>],
    options: &BackupOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Done, BackupError> {
    let started = Instant::now();
    let out = &options.out;
    let partial = out.with_file_name(format!(
        ".{}.partial-{}",
        out.file_name().map_or("backup".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    let result = write_archive(core, &partial, options.key.as_ref(), progress).await;
    let (manifest, rows) = match result {
        Ok(done) => done,
        Err(err) => {
            let _ = std::fs::remove_file(&partial);
            return Err(err);
        }
    };
    std::fs::rename(&partial, out).map_err(io_error(out))?;
    let mut verified = false;
    if options.verify {
        progress(Progress::Phase("verifying"));
        verify(core, apps, out, options.key.as_ref(), &manifest).await?;
        verified = true;
    }
    Ok(Done {
        path: out.clone(),
        rows,
        tables: manifest.tables.len(),
        objects: manifest.media.objects,
        media_bytes: manifest.media.bytes,
        archive_bytes: std::fs::metadata(out).map_err(io_error(out))?.len(),
        seconds: started.elapsed().as_secs_f64(),
        verified,
    })
}

async fn write_archive(
    core: &Core,
    path: &Path,
    key: Option<&Key>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(Manifest, u64), BackupError> {
    let file = std::fs::File::create(path).map_err(io_error(path))?;
    let mut writer = Writer::create(file, key).map_err(io_error(path))?;
    let mut spool = tempfile::tempfile().map_err(BackupError::spool)?;
    let migrations = migrate::applied(&core.db).await?;
    let mut snapshot = tables::Snapshot::begin(&core.db).await?;
    let mut sums = Vec::new();
    let mut rows = 0;
    for table in &snapshot.tables.clone() {
        spool.set_len(0).map_err(BackupError::spool)?;
        std::io::Seek::rewind(&mut spool).map_err(BackupError::spool)?;
        let mut out = std::io::BufWriter::new(&mut spool);
        let count = snapshot.dump(table, &mut out).await?;
        drop(std::io::Write::flush(&mut out));
        drop(out);
        let entry = format!("db/{}.jsonl", table.name);
        writer.append_file(&entry, &mut spool).map_err(io_error(path))?;
        progress(Progress::Table {
            name: table.name.clone(),
            rows: count,
        });
        rows += count;
        sums.push(TableSum {
            name: table.name.clone(),
            rows: count,
            entry,
        });
    }
    snapshot.end().await?;
    let objects = core.media.list_all().await?;
    let total = objects.len() as u64;
    let mut media_sum = MediaSum::default();
    for object in objects {
        if let Some(size) = media::spool(&core.media, &object.key, &mut spool).await? {
            writer
                .append_file(&format!("{}{}", media::PREFIX, object.key), &mut spool)
                .map_err(io_error(path))?;
            media_sum.objects += 1;
            media_sum.bytes += size;
        }
        progress(Progress::Object {
            done: media_sum.objects,
            total,
            bytes: media_sum.bytes,
        });
    }
    let manifest = Manifest {
        format: manifest::FORMAT.to_owned(),
        format_version: manifest::FORMAT_VERSION,
        keel_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        source: core.db.backend().as_str().to_owned(),
        migrations,
        tables: sums,
        media: media_sum,
        entries: writer.sums.clone(),
    };
    let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::spool(e.into()))?;
    archive::append_bytes(&mut writer, manifest::ENTRY, &bytes).map_err(io_error(path))?;
    writer.finish().map_err(io_error(path))?;
    Ok((manifest, rows))
}

/// Reads the whole archive once: every entry's checksum against the
/// manifest, nothing written. The manifest.
pub fn check(path: &Path, key: Option<&Key>) -> Result<Manifest, BackupError> {
    let mut manifest_bytes = None;
    let found = archive::read_entries(path, key, |name, reader| {
        if name == manifest::ENTRY {
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes).map_err(BackupError::truncated)?;
            manifest_bytes = Some(bytes);
        }
        Ok(())
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
    for (path, sum) in &manifest.entries {
        if let Some(key) = path.strip_prefix(media::PREFIX) {
            let key = media_key(key)?;
            if let Some(held) = media::digest(&core.media, &key).await? {
                if held != sum.sha256 && !options.force {
                    return Err(BackupError::MediaConflict(key.to_string()));
                }
            }
        }
    }
    progress(Progress::Phase("restoring"));
    let written = load(core, &targets, &manifest, options, progress).await;
    match written {
        Ok(created) => {
            if options.force {
                remove_others(&core.media, &manifest).await?;
            }
            drop(created);
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
        Err((err, created)) => {
            for key in created {
                let _ = core.media.delete(&key).await;
            }
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

/// The second pass: rows into one transaction, objects into the store;
/// the keys written so far are returned with an error.
async fn load(
    core: &Core,
    targets: &[tables::Table],
    manifest: &Manifest,
    options: &RestoreOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Vec<ObjectKey>, (BackupError, Vec<ObjectKey>)> {
    let handle = tokio::runtime::Handle::current();
    let core = core.clone();
    let targets = targets.to_vec();
    let file = options.file.clone();
    let force = options.force;
    let key = options.key.as_ref().map(Key::duplicate);
    let total = manifest.media.objects;
    let (tx_progress, mut rx_progress) = tokio::sync::mpsc::unbounded_channel();
    let work = tokio::task::spawn_blocking(move || {
        let mut created = Vec::new();
        let result = handle
            .block_on(async { core.db.begin().await })
            .map_err(BackupError::from)
            .and_then(|mut tx| {
                if force {
                    handle.block_on(tables::clear(&mut tx, &targets))?;
                }
                let mut objects = 0;
                let mut bytes = 0;
                archive::read_entries(&file, key.as_ref(), |name, reader| {
                    if let Some(table) = name.strip_prefix("db/").and_then(|n| n.strip_suffix(".jsonl")) {
                        let target = targets
                            .iter()
                            .find(|t| t.name == table)
                            .ok_or_else(|| BackupError::Schema(format!("this database has no table {table}")))?;
                        let rows = handle.block_on(load_table(&mut tx, target, reader))?;
                        let _ = tx_progress.send(Progress::Table {
                            name: table.to_owned(),
                            rows,
                        });
                    } else if let Some(key) = name.strip_prefix(media::PREFIX) {
                        let key = media_key(key)?;
                        let held = handle.block_on(media::digest(&core.media, &key))?;
                        if held.is_none() || force {
                            bytes += handle.block_on(media::put(&core.media, &key, reader))?;
                            if held.is_none() {
                                created.push(key);
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
                handle.block_on(tables::reset_sequences(&mut tx, &targets))?;
                handle.block_on(tx.commit())?;
                Ok(())
            });
        (result, created)
    });
    let mut work = std::pin::pin!(work);
    let (result, created) = loop {
        tokio::select! {
            Some(step) = rx_progress.recv() => progress(step),
            joined = &mut work => break joined.unwrap_or_else(|e| (Err(BackupError::Spool(e.to_string())), Vec::new())),
        }
    };
    while let Ok(step) = rx_progress.try_recv() {
        progress(step);
    }
    match result {
        Ok(()) => Ok(created),
        Err(err) => Err((err, created)),
    }
}

/// Rows of one table's entry into `tx`.
async fn load_table(tx: &mut crate::db::Tx, target: &tables::Table, reader: &mut dyn Read) -> Result<u64, BackupError> {
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

/// Restores the archive's tables into a scratch database of the same
/// backend, dumps them again and compares each with the archive's entry.
async fn verify(
    core: &Core,
    apps: &[Box<dyn App>],
    path: &Path,
    key: Option<&Key>,
    manifest: &Manifest,
) -> Result<(), BackupError> {
    let checked = check(path, key)?;
    if &checked != manifest {
        return Err(BackupError::Verify(
            "the archive on disk is not the one just written".to_owned(),
        ));
    }
    let all = crate::launch::all_migrations(apps).map_err(|e| BackupError::Schema(e.to_string()))?;
    let scratch = super::scratch::Scratch::create(core, &all).await?;
    let result = verify_in(&scratch.db, path, key, manifest).await;
    scratch.drop_now().await;
    result
}

async fn verify_in(db: &Db, path: &Path, key: Option<&Key>, manifest: &Manifest) -> Result<(), BackupError> {
    let targets = tables::list(db).await?;
    let handle = tokio::runtime::Handle::current();
    let db2 = db.clone();
    let file = path.to_owned();
    let key = key.map(Key::duplicate);
    let targets2 = targets.clone();
    tokio::task::spawn_blocking(move || {
        let mut tx = handle.block_on(db2.begin())?;
        archive::read_entries(&file, key.as_ref(), |name, reader| {
            if let Some(table) = name.strip_prefix("db/").and_then(|n| n.strip_suffix(".jsonl")) {
                let target = targets2
                    .iter()
                    .find(|t| t.name == table)
                    .ok_or_else(|| BackupError::Verify(format!("the scratch database has no table {table}")))?;
                handle.block_on(load_table(&mut tx, target, reader))?;
            }
            Ok(())
        })?;
        handle.block_on(tx.commit())?;
        Ok::<_, BackupError>(())
    })
    .await
    .map_err(|e| BackupError::Verify(e.to_string()))??;
    let mut snapshot = tables::Snapshot::begin(db).await?;
    for sum in &manifest.tables {
        let table = targets
            .iter()
            .find(|t| t.name == sum.name)
            .ok_or_else(|| BackupError::Verify(format!("no table {}", sum.name)))?;
        // Hashed as it is written: a table is never held in memory.
        let mut out = archive::HashingWriter::default();
        let rows = snapshot.dump(table, &mut out).await?;
        let again = out.sum();
        let expected: Option<&EntrySum> = manifest.entries.get(&sum.entry);
        if rows != sum.rows || expected != Some(&again) {
            return Err(BackupError::Verify(format!(
                "{} restored to {rows} rows that dump differently from the archive's",
                sum.name
            )));
        }
    }
    snapshot.end().await?;
    Ok(())
}

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
