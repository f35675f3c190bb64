//! The only SQL about `keel_outbox`.
//!
//! A claim sets a lease (`locked_until`) and counts the attempt in one
//! statement. On PostgreSQL the candidate rows are locked with `FOR UPDATE
//! SKIP LOCKED`, so workers on many instances take disjoint batches without
//! waiting on each other; SQLite has one writer at a time, so the same
//! statement without the clause is already exclusive. An outcome is recorded
//! only by the claim that made it (`attempts` matches), so a worker whose
//! lease expired cannot overwrite the outcome of the one that took over.

use uuid::Uuid;

use crate::db::{Backend, Db, DbError, Tx};

pub const KIND_EMAIL: &str = "email";
pub const KIND_WEBHOOK: &str = "webhook";

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Delivered,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    fn parse(raw: &str) -> Result<Self, DbError> {
        match raw {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "dead" => Ok(Self::Dead),
            other => Err(DbError::Query(sqlx::Error::Decode(
                format!("unknown outbox status {other:?}").into(),
            ))),
        }
    }
}

/// A row as operators and tests see it (no payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: Uuid,
    pub kind: String,
    pub status: Status,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub locked_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

/// A row a worker has claimed; `attempts` already counts this attempt.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub kind: String,
    pub payload: String,
    pub attempts: i32,
}

const CLAIM_POSTGRES: &str = "UPDATE keel_outbox SET locked_until = $1, attempts = attempts + 1 \
     WHERE id IN (SELECT id FROM keel_outbox \
         WHERE status = 'pending' AND next_attempt_at <= $2 AND (locked_until IS NULL OR locked_until < $2) \
         ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
     RETURNING id, kind, payload, attempts";

const CLAIM_SQLITE: &str = "UPDATE keel_outbox SET locked_until = $1, attempts = attempts + 1 \
     WHERE id IN (SELECT id FROM keel_outbox \
         WHERE status = 'pending' AND next_attempt_at <= $2 AND (locked_until IS NULL OR locked_until < $2) \
         ORDER BY next_attempt_at LIMIT $3) \
     RETURNING id, kind, payload, attempts";

const ANY_DUE: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM keel_outbox \
     WHERE status = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until < $1) LIMIT 1) due";

/// Inserts a pending message, due at once.
pub async fn insert(tx: &mut Tx, id: Uuid, kind: &str, payload: &str, now: i64) -> Result<(), DbError> {
    crate::on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO keel_outbox (id, kind, payload, status, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, 'pending', 0, $4, $4)",
        )
        .bind(id)
        .bind(kind)
        .bind(payload)
        .bind(now)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// Whether any message is due: a read, so an idle worker takes no write
/// lock (SQLite has only one).
/// How many messages wait for delivery, and when the oldest was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    pub pending: i64,
    pub oldest_created_at: Option<i64>,
}

/// The pending messages, counted (for `/metrics`).
pub async fn backlog(db: &Db) -> Result<Backlog, DbError> {
    let sql = "SELECT COUNT(*), MIN(created_at) FROM keel_outbox WHERE status = 'pending'";
    let (pending, oldest_created_at): (i64, Option<i64>) =
        crate::on_pool!(db, pool => sqlx::query_as(sql).fetch_one(pool).await?);
    Ok(Backlog {
        pending,
        oldest_created_at,
    })
}

pub async fn any_due(db: &Db, now: i64) -> Result<bool, DbError> {
    let (count,): (i64,) = crate::on_pool!(db, pool => {
        sqlx::query_as(ANY_DUE).bind(now).fetch_one(pool).await?
    });
    Ok(count > 0)
}

/// Claims up to `limit` due messages until `lease_until`, oldest first.
pub async fn claim(db: &Db, now: i64, lease_until: i64, limit: i64) -> Result<Vec<Claimed>, DbError> {
    let sql = match db.backend() {
        Backend::Postgres => CLAIM_POSTGRES,
        Backend::Sqlite => CLAIM_SQLITE,
    };
    let rows: Vec<(Uuid, String, String, i32)> = crate::on_pool!(db, pool => {
        sqlx::query_as(sql).bind(lease_until).bind(now).bind(limit).fetch_all(pool).await?
    });
    Ok(rows
        .into_iter()
        .map(|(id, kind, payload, attempts)| Claimed {
            id,
            kind,
            payload,
            attempts,
        })
        .collect())
}

/// Records a delivery; false when the claim was lost to another worker.
pub async fn mark_delivered(db: &Db, claimed: &Claimed, now: i64) -> Result<bool, DbError> {
    let affected = crate::on_pool!(db, pool => {
        sqlx::query(
            "UPDATE keel_outbox SET status = 'delivered', delivered_at = $1, locked_until = NULL, last_error = NULL \
             WHERE id = $2 AND attempts = $3 AND status = 'pending'",
        )
        .bind(now)
        .bind(claimed.id)
        .bind(claimed.attempts)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(affected == 1)
}

/// Records a failure: tried again at `retry_at`, or dead when `None`.
pub async fn mark_failed(db: &Db, claimed: &Claimed, retry_at: Option<i64>, reason: &str) -> Result<bool, DbError> {
    let (status, next) = match retry_at {
        Some(at) => (Status::Pending, Some(at)),
        None => (Status::Dead, None),
    };
    let affected = crate::on_pool!(db, pool => {
        sqlx::query(
            "UPDATE keel_outbox SET status = $1, next_attempt_at = COALESCE($2, next_attempt_at), \
                 locked_until = NULL, last_error = $3 \
             WHERE id = $4 AND attempts = $5 AND status = 'pending'",
        )
        .bind(status.as_str())
        .bind(next)
        .bind(reason)
        .bind(claimed.id)
        .bind(claimed.attempts)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(affected == 1)
}

type EntryRow = (
    Uuid,
    String,
    String,
    i32,
    i64,
    Option<i64>,
    Option<String>,
    i64,
    Option<i64>,
);

/// The row of one message, without its payload.
pub async fn find(db: &Db, id: Uuid) -> Result<Option<Entry>, DbError> {
    let row: Option<EntryRow> = crate::on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, kind, status, attempts, next_attempt_at, locked_until, last_error, created_at, delivered_at \
             FROM keel_outbox WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
    });
    row.map(
        |(id, kind, status, attempts, next_attempt_at, locked_until, last_error, created_at, delivered_at)| {
            Ok(Entry {
                id,
                kind,
                status: Status::parse(&status)?,
                attempts,
                next_attempt_at,
                locked_until,
                last_error,
                created_at,
                delivered_at,
            })
        },
    )
    .transpose()
}
