//! `--verify`: the new archive restored into a scratch database of the
//! same backend and dumped again, table by table, against its manifest.

use std::path::Path;

use super::archive::EntrySum;
use super::job::check_with;
use super::manifest::Manifest;
use super::restore::load_table;
use super::{archive, tables, BackupError, Key};
use crate::app::App;
use crate::core::Core;
use crate::db::Db;

/// Restores the archive's tables into a scratch database of the same
/// backend, dumps them again and compares each with the archive's entry.
pub(super) async fn verify(
    core: &Core,
    apps: &[Box<dyn App>],
    path: &Path,
    key: Option<&Key>,
    manifest: &Manifest,
) -> Result<(), BackupError> {
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
    let key = key.cloned();
    let targets2 = targets.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let mut tx = handle.block_on(db2.begin())?;
        // One pass: the file on disk checked against its manifest while
        // its tables load into the scratch database.
        let checked = check_with(&file, key.as_ref(), |name, reader| {
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
        Ok::<_, BackupError>(checked)
    })
    .await
    .map_err(|e| BackupError::Verify(e.to_string()))??;
    if &checked != manifest {
        return Err(BackupError::Verify(
            "the archive on disk is not the one just written".to_owned(),
        ));
    }
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
