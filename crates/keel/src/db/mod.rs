//! The database: SQLite or PostgreSQL, chosen by `DATABASE_URL`.
//!
//! [`Db`] is an enum over the two sqlx pools rather than `sqlx::Any`, so
//! column types stay exact. Repository code writes its SQL once, in the
//! dialect both share (`$1` placeholders work on both), and runs it on either
//! pool with [`on_pool!`](crate::on_pool); dialect differences stay inside
//! the repository that has them.

mod error;
pub mod migrate;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::ConnectOptions;

use crate::settings::{expose, DatabaseKind, DatabaseSettings};

pub use error::DbError;
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

/// A reading of the connection pool (for `/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
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
        let started = std::time::Instant::now();
        let tx = match self {
            Db::Sqlite(pool, gate) => {
                // Queue first, then take a connection: waiting writers hold
                // no connection, so reads go on while they wait.
                let turn = gate.clone().lock_owned().await;
                Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        };
        metrics::histogram!("keel_db_pool_acquire_seconds").record(started.elapsed().as_secs_f64());
        Ok(tx)
    }

    /// The pool's connections now: open, idle, and its limit.
    pub fn pool_stats(&self) -> PoolStats {
        on_pool!(self, pool => PoolStats {
            size: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
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
