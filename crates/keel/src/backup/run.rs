//! `keel backup`: the snapshot, the archive, `--verify`, the rename.

use std::path::Path;
use std::time::Instant;

use super::archive::{self, Writer};
use super::job::{io_error, BackupOptions, Done, Progress};
use super::manifest::{self, Manifest, MediaSum, TableSum};
use super::{media, tables, BackupError, Key};
use crate::app::App;
use crate::core::Core;
use crate::db::migrate;

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
    // Verified (when asked) before it takes its name: an archive under
    // its final name is whole, and --keep never counts one that failed.
    let result = async {
        let (manifest, rows) = write_archive(core, &partial, options.key.as_ref(), progress).await?;
        if options.verify {
            progress(Progress::Phase("verifying"));
            super::verify::verify(core, apps, &partial, options.key.as_ref(), &manifest).await?;
        }
        Ok::<_, BackupError>((manifest, rows))
    }
    .await;
    let (manifest, rows) = match result {
        Ok(done) => done,
        Err(err) => {
            let _ = std::fs::remove_file(&partial);
            return Err(err);
        }
    };
    std::fs::rename(&partial, out).map_err(io_error(out))?;
    let verified = options.verify;
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
    // Readable by its owner only: it holds password hashes, webhook
    // secrets and personal data.
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    let file = open.open(path).map_err(io_error(path))?;
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
        std::io::Write::flush(&mut out).map_err(BackupError::spool)?;
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
