//! The database: SQLite or PostgreSQL, chosen by `DATABASE_URL`.
//!
//! [`Db`] is an enum over the two sqlx pools rather than `sqlx::Any`, so
//! column types stay exact. Repository code writes its SQL once, in the
//! dialect both share (`$1` placeholders work on both), and runs it on either
//! pool with [`on_pool!`](crate::on_pool); dialect differences stay inside
//! the repository that has them.

pub mod migrate;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::ConnectOptions;

use crate::settings::{expose, DatabaseKind, DatabaseSettings};

pub use migrate::Migration;

/// How long a request waits for a pooled connection before it is answered
/// 503: long enough to ride out a burst, short enough that a dead database
/// does not pile up requests.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// A PostgreSQL connection idle this long is pinged before it is handed
/// out, so one the server dropped meanwhile (a restart, a proxy's idle
/// cut) is replaced instead of failing a request. Busy connections are
/// not pinged: sqlx's default pings on every acquire, one round trip per
/// query. SQLite's connections are a file and are never pinged.
const PING_IDLE_AFTER: Duration = Duration::from_secs(10);
/// SQLite waits this long for a lock held by another writer.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Which database a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A connection pool to the configured database. Cheap to clone.
///
/// SQLite has one writer at a time; its pool carries a [`WriteGate`] that
/// write transactions queue on in order, instead of each holding a pooled
/// connection while SQLite's busy handler sleeps and retries (which
/// starves readers of connections and gives writers a tail of 100 ms naps).
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool, WriteGate),
    Postgres(PgPool),
}

/// The queue of SQLite write transactions: a fair (first come, first
/// served) lock taken before a connection is acquired and held until the
/// transaction ends.
pub type WriteGate = std::sync::Arc<tokio::sync::Mutex<()>>;

/// Runs the same code on whichever pool `db` holds: the body is compiled
/// once per backend, so it may use backend-typed sqlx calls.
#[macro_export]
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool, _) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// An open transaction on either backend. Repositories and the outbox
/// write through the same one, so a row and its side effects commit
/// together or not at all.
pub enum Tx {
    /// The guard keeps this transaction's place at the [`WriteGate`] until
    /// it commits or rolls back (fields drop in order: the transaction
    /// first).
    Sqlite(
        sqlx::Transaction<'static, sqlx::Sqlite>,
        tokio::sync::OwnedMutexGuard<()>,
    ),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs the same code on whichever transaction `tx` holds; `$conn` is a
/// `&mut` connection usable as an executor (`&mut **conn`).
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite($conn, _) => $body,
            $crate::db::Tx::Postgres($conn) => $body,
        }
    };
}

impl Tx {
    pub async fn commit(self) -> Result<(), DbError> {
        match self {
            Tx::Sqlite(tx, _gate) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), DbError> {
        match self {
            Tx::Sqlite(tx, _gate) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(..) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot create the folder of the SQLite file {path}: {source}")]
    CreateFolder {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("migration {version} ({name}) was changed after it was applied: the database holds a different checksum")]
    ChangedMigration { version: i64, name: String },
    #[error("the database has migration {version} applied, which this build of Keel does not know (a newer version ran here?)")]
    UnknownMigration { version: i64 },
}

impl DbError {
    /// Whether a write named a row that does not exist (or no longer
    /// does): a foreign key violation.
    pub fn is_foreign_key_violation(&self) -> bool {
        matches!(self, DbError::Query(sqlx::Error::Database(err))
            if err.kind() == sqlx::error::ErrorKind::ForeignKeyViolation)
    }

    /// Whether the error means the database is unreachable or overloaded
    /// (503) rather than a bug (500).
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Connect(_) => true,
            DbError::Query(sqlx::Error::Database(err)) => is_unavailable_code(err.code().as_deref()),
            DbError::Query(err) => matches!(
                err,
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::WorkerCrashed
            ),
            _ => false,
        }
    }
}

/// Database error codes that mean "away or busy, try again" rather than a
/// bug: PostgreSQL's connection exceptions (class 08), shutdowns and
/// restarts (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot
/// connect now), too many connections (53300) and out of resources (53xxx);
/// SQLite's busy and locked (5, 6, and their extended codes: the file is
/// locked by another process past the busy timeout).
fn is_unavailable_code(code: Option<&str>) -> bool {
    let Some(code) = code else {
        return false;
    };
    // PostgreSQL's SQLSTATEs have five characters; SQLite's (extended)
    // result codes, as sqlx gives them, are decimal numbers below 10,000.
    if code.len() < 5 {
        return code.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6));
    }
    code.starts_with("08") || code.starts_with("53") || matches!(code, "57P01" | "57P02" | "57P03")
}

impl Db {
    /// Opens a pool. Connections are made on first use, so a process starts
    /// without waiting for the database; `ping` tells whether it is there.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Self, DbError> {
        let max_lifetime = (!settings.conn_max_age.is_zero()).then_some(settings.conn_max_age);
        match &settings.kind {
            DatabaseKind::Sqlite { path } => {
                let memory = path.as_os_str() == ":memory:";
                let mut options = SqliteConnectOptions::new()
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true)
                    .log_statements(tracing::log::LevelFilter::Trace);
                if memory {
                    options = options.in_memory(true);
                } else {
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent).map_err(|source| DbError::CreateFolder {
                            path: parent.display().to_string(),
                            source,
                        })?;
                    }
                    options = options.filename(path).create_if_missing(true);
                }
                // An in-memory database lives in its one connection.
                let (max, lifetime) = if memory {
                    (1, None)
                } else {
                    (settings.max_connections, max_lifetime)
                };
                let pool = SqlitePoolOptions::new()
                    .max_connections(max)
                    .test_before_acquire(false)
                    .min_connections(0)
                    .max_lifetime(lifetime)
                    .idle_timeout(if memory { None } else { Some(Duration::from_secs(300)) })
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_lazy_with(options);
                Ok(Db::Sqlite(pool, WriteGate::default()))
            }
            DatabaseKind::Postgres => {
                let options = PgConnectOptions::from_str(expose(&settings.url))
                    .map_err(DbError::Connect)?
                    .application_name("keel")
                    .log_statements(tracing::log::LevelFilter::Trace);
                let pool = PgPoolOptions::new()
                    .max_connections(settings.max_connections)
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= PING_IDLE_AFTER {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .min_connections(0)
                    .max_lifetime(max_lifetime)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_lazy_with(options);
                Ok(Db::Postgres(pool))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(..) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a transaction. On SQLite it waits its turn at the
    /// [`WriteGate`], then takes the write lock at once (`BEGIN IMMEDIATE`),
    /// so writers neither fail on an upgrade deadlock nor sleep in the busy
    /// handler behind one another.
    pub async fn begin(&self) -> Result<Tx, DbError> {
        Ok(match self {
            Db::Sqlite(pool, gate) => {
                // Queue first, then take a connection: waiting writers hold
                // no connection, so reads go on while they wait.
                let turn = gate.clone().lock_owned().await;
                Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// This database's turn to write outside a transaction, held while the
    /// guard lives: on SQLite a place at the [`WriteGate`] (so a single
    /// autocommit statement queues with the transactions instead of napping
    /// in the busy handler); nothing to wait for on PostgreSQL.
    pub async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match self {
            Db::Sqlite(_, gate) => Some(gate.clone().lock_owned().await),
            Db::Postgres(_) => None,
        }
    }

    /// One round trip: the readiness probe.
    pub async fn ping(&self) -> Result<(), DbError> {
        on_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Closes every connection, waiting for those in use to come back.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn unavailable_codes_are_told_from_bugs() {
        let cases: &[(&str, bool, &str)] = &[
            ("57P01", true, "PostgreSQL admin shutdown (terminating connection due to administrator command)"),
            ("57P02", true, "PostgreSQL crash shutdown"),
            ("57P03", true, "PostgreSQL starting up: cannot connect now"),
            ("08006", true, "PostgreSQL connection failure"),
            ("08003", true, "PostgreSQL connection does not exist"),
            ("53300", true, "PostgreSQL too many connections"),
            ("53200", true, "PostgreSQL out of memory"),
            ("23505", false, "PostgreSQL unique violation is a bug or a conflict, not an outage"),
            ("22021", false, "PostgreSQL bad UTF-8 (a NUL) is bad input, not an outage"),
            ("42P01", false, "PostgreSQL undefined table is a bug"),
            ("5", true, "SQLite busy"),
            ("6", true, "SQLite locked"),
            ("517", true, "SQLite busy snapshot (extended code of 5)"),
            ("261", true, "SQLite busy recovery (extended code of 5)"),
            ("262", true, "SQLite locked shared cache (extended code of 6)"),
            ("2067", false, "SQLite unique constraint is not an outage"),
            ("787", false, "SQLite foreign key constraint is not an outage"),
            ("1", false, "SQLite generic error"),
        ];
        for (code, expected, why) in cases {
            assert_eq!(super::is_unavailable_code(Some(code)), *expected, "{code}: {why}");
        }
        assert!(!super::is_unavailable_code(None), "no code: not an outage");
    }
}
