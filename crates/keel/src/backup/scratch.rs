//! A scratch database of the same backend for `--verify`: a temporary
//! SQLite file, or a temporary PostgreSQL database on the same server
//! (created and dropped by the same user), migrated like a new one.

use secrecy::{ExposeSecret, SecretString};

use super::BackupError;
use crate::core::Core;
use crate::db::{migrate, Db};
use crate::settings::{DatabaseKind, DatabaseSettings};

pub struct Scratch {
    pub db: Db,
    admin: Option<(Db, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Scratch {
    pub async fn create(core: &Core, migrations: &[crate::db::Migration]) -> Result<Self, BackupError> {
        let current = &core.settings.database;
        let (settings, admin, dir) = match &current.kind {
            DatabaseKind::Sqlite { .. } => {
                let dir = tempfile::tempdir().map_err(BackupError::spool)?;
                let path = dir.path().join("verify.sqlite3");
                let settings = DatabaseSettings {
                    url: SecretString::from(format!("sqlite://{}", path.display())),
                    kind: DatabaseKind::Sqlite { path },
                    max_connections: 2,
                    conn_max_age: std::time::Duration::ZERO,
                };
                (settings, None, Some(dir))
            }
            DatabaseKind::Postgres => {
                let name = format!("keel_verify_{}", uuid::Uuid::new_v4().simple());
                let Db::Postgres(pool) = &core.db else {
                    return Err(BackupError::Verify("the settings and the pool disagree".to_owned()));
                };
                // The URL first (a `dbname` parameter would name the live
                // database again), then the database.
                let mut url = url::Url::parse(current.url.expose_secret())
                    .map_err(|e| BackupError::Verify(format!("DATABASE_URL: {e}")))?;
                let kept: Vec<(String, String)> = url
                    .query_pairs()
                    .filter(|(k, _)| k != "dbname")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                url.set_query(None);
                if !kept.is_empty() {
                    url.query_pairs_mut().extend_pairs(kept);
                }
                url.set_path(&format!("/{name}"));
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(pool)
                    .await
                    .map_err(|e| BackupError::Verify(format!("cannot create a scratch database: {e}")))?;
                let settings = DatabaseSettings {
                    url: SecretString::from(url.to_string()),
                    kind: DatabaseKind::Postgres,
                    max_connections: 2,
                    conn_max_age: std::time::Duration::ZERO,
                };
                (settings, Some((core.db.clone(), name)), None)
            }
        };
        let db = match Db::connect(&settings).await {
            Ok(db) => db,
            Err(err) => {
                if let Some((Db::Postgres(pool), name)) = &admin {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                        .execute(pool)
                        .await;
                }
                return Err(err.into());
            }
        };
        let scratch = Self { db, admin, _dir: dir };
        if let Err(err) = migrate::run(&scratch.db, migrations).await {
            scratch.drop_now().await;
            return Err(err.into());
        }
        Ok(scratch)
    }

    /// Closes the scratch database and removes it.
    pub async fn drop_now(self) {
        self.db.close().await;
        if let Some((Db::Postgres(pool), name)) = &self.admin {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                .execute(pool)
                .await;
        }
    }
}
