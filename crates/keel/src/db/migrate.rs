//! Embedded migrations: each has a version, a name and one SQL text per
//! backend, compiled into the binary. The core's versions are below 1000;
//! an app's are its own range (the forms app uses 1000 and up).
//!
//! Applied migrations are recorded in `keel_migrations` with a checksum, so a
//! migration edited after it ran is caught instead of silently diverging.
//! Each migration runs in its own transaction together with its record row;
//! on PostgreSQL an advisory lock keeps two instances starting at once from
//! racing.

use sha2::{Digest, Sha256};
use sqlx::Connection;

use super::{Backend, Db, DbError};

/// One migration, as embedded in the binary.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

impl Migration {
    fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }

    fn checksum(&self, backend: Backend) -> String {
        hex::encode(Sha256::digest(self.sql(backend).as_bytes()))
    }
}

/// Embeds `migrations/<file>.sqlite.sql` and `.postgres.sql` of the calling
/// crate as one [`Migration`].
#[macro_export]
macro_rules! migration {
    ($version:expr, $name:literal) => {
        $crate::db::Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/migrations/",
                $name,
                ".sqlite.sql"
            )),
            postgres: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/migrations/",
                $name,
                ".postgres.sql"
            )),
        }
    };
}

/// The core's own migrations.
pub static CORE_MIGRATIONS: &[Migration] = &[
    crate::migration!(1, "0001_users"),
    crate::migration!(2, "0002_sessions"),
    crate::migration!(3, "0003_outbox"),
];

/// Arbitrary but fixed: the PostgreSQL advisory lock key of migrations.
const PG_LOCK_KEY: i64 = 0x006b_6565_6c6d_6967;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS keel_migrations (
    version BIGINT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

/// The migrations of `all` not yet applied, in version order. Read-only: a
/// database without the migrations table has everything pending.
pub async fn pending<'a>(db: &Db, all: &'a [Migration]) -> Result<Vec<&'a Migration>, DbError> {
    let applied = applied(db).await?;
    verify(db.backend(), all, &applied)?;
    let mut pending: Vec<&Migration> = all
        .iter()
        .filter(|m| !applied.iter().any(|(v, _)| *v == m.version))
        .collect();
    pending.sort_by_key(|m| m.version);
    Ok(pending)
}

/// Applies every pending migration; returns the names applied.
pub async fn run(db: &Db, all: &[Migration]) -> Result<Vec<&'static str>, DbError> {
    let mut sorted: Vec<&Migration> = all.iter().collect();
    sorted.sort_by_key(|m| m.version);
    let backend = db.backend();
    let mut done = Vec::new();
    crate::on_pool!(db, pool => {
        let mut conn = pool.acquire().await?;
        if backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_lock($1)").bind(PG_LOCK_KEY).execute(&mut *conn).await?;
        }
        let result = async {
            sqlx::query(CREATE_TABLE).execute(&mut *conn).await?;
            let applied: Vec<(i64, String)> = sqlx::query_as("SELECT version, checksum FROM keel_migrations")
                .fetch_all(&mut *conn)
                .await?;
            verify(backend, all, &applied)?;
            for migration in sorted.iter().filter(|m| !applied.iter().any(|(v, _)| *v == m.version)) {
                let mut tx = conn.begin().await?;
                sqlx::raw_sql(migration.sql(backend)).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO keel_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)")
                    .bind(migration.version)
                    .bind(migration.name)
                    .bind(migration.checksum(backend))
                    .bind(chrono::Utc::now().to_rfc3339())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                tracing::info!(migration.version = migration.version, migration.name = migration.name, "applied migration");
                done.push(migration.name);
            }
            Ok::<_, DbError>(())
        }
        .await;
        if backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_unlock($1)").bind(PG_LOCK_KEY).execute(&mut *conn).await?;
        }
        result?;
    });
    Ok(done)
}

pub async fn applied(db: &Db) -> Result<Vec<(i64, String)>, DbError> {
    let exists_sql = match db.backend() {
        Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'keel_migrations'",
        Backend::Postgres => "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'keel_migrations'",
    };
    let rows = crate::on_pool!(db, pool => {
        let (exists,): (i64,) = sqlx::query_as(exists_sql).fetch_one(pool).await?;
        if exists == 0 {
            return Ok(Vec::new());
        }
        sqlx::query_as("SELECT version, checksum FROM keel_migrations").fetch_all(pool).await?
    });
    Ok(rows)
}

/// Every applied migration must be known and unchanged.
fn verify(backend: Backend, all: &[Migration], applied: &[(i64, String)]) -> Result<(), DbError> {
    for (version, checksum) in applied {
        let known = all
            .iter()
            .find(|m| m.version == *version)
            .ok_or(DbError::UnknownMigration { version: *version })?;
        if known.checksum(backend) != *checksum {
            return Err(DbError::ChangedMigration {
                version: *version,
                name: known.name.to_owned(),
            });
        }
    }
    Ok(())
}
