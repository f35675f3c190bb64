//! Responses: insert (inside the caller's transaction, with its outbox
//! rows), pages for the owner, and batches for the CSV export.

use chrono::{DateTime, Utc};
use keel::db::{Db, DbError, Tx};
use serde_json::{Map, Value};
use uuid::Uuid;

/// A stored response.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub seq: i64,
    pub id: Uuid,
    pub answers: Map<String, Value>,
    pub created_at: DateTime<Utc>,
}

type Row = (i64, Uuid, String, DateTime<Utc>);

fn from_row((seq, id, answers, created_at): Row) -> StoredResponse {
    let answers = serde_json::from_str(&answers).unwrap_or_default();
    StoredResponse {
        seq,
        id,
        answers,
        created_at,
    }
}

/// Inserts a response in `tx`; returns its id and time.
pub async fn insert(
    tx: &mut Tx,
    form_id: Uuid,
    answers: &Map<String, Value>,
) -> Result<(Uuid, DateTime<Utc>), DbError> {
    insert_with_id(tx, Uuid::new_v4(), form_id, answers).await
}

const INSERT: &str = "INSERT INTO form_responses (id, form_id, answers, created_at) VALUES ($1, $2, $3, $4)";

/// Inserts a response whose id was chosen beforehand (its files were
/// stored under it while the body arrived); returns its id and time.
pub async fn insert_with_id(
    tx: &mut Tx,
    id: Uuid,
    form_id: Uuid,
    answers: &Map<String, Value>,
) -> Result<(Uuid, DateTime<Utc>), DbError> {
    let now = Utc::now();
    let answers = serde_json::to_string(answers).unwrap_or_else(|_| "{}".to_owned());
    keel::on_tx!(tx, conn => {
        sqlx::query(INSERT)
            .bind(id)
            .bind(form_id)
            .bind(answers)
            .bind(now)
            .execute(&mut **conn)
            .await?;
    });
    Ok((id, now))
}

/// Stores a response that comes with nothing else (no files, no outbox
/// messages): one autocommit statement, atomic by itself, taking its turn
/// to write like a transaction would.
pub async fn insert_alone(db: &Db, id: Uuid, form_id: Uuid, answers: &Map<String, Value>) -> Result<(), DbError> {
    let answers = serde_json::to_string(answers).unwrap_or_else(|_| "{}".to_owned());
    let _turn = db.write_turn().await;
    keel::on_pool!(db, pool => {
        sqlx::query(INSERT)
            .bind(id)
            .bind(form_id)
            .bind(answers)
            .bind(Utc::now())
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// A page of a form's responses, newest first, and the next page's cursor.
pub async fn page(
    db: &Db,
    form_id: Uuid,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<StoredResponse>, Option<i64>), DbError> {
    let rows: Vec<Row> = keel::on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT seq, id, answers, created_at FROM form_responses WHERE form_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
        )
        .bind(form_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit + 1)
        .fetch_all(pool)
        .await?
    });
    let mut items: Vec<StoredResponse> = rows.into_iter().map(from_row).collect();
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|r| r.seq)
    } else {
        None
    };
    Ok((items, next))
}

/// The next batch of responses after `after`, oldest first (CSV export).
pub async fn batch_after(db: &Db, form_id: Uuid, after: i64, limit: i64) -> Result<Vec<StoredResponse>, DbError> {
    let rows: Vec<Row> = keel::on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT seq, id, answers, created_at FROM form_responses WHERE form_id = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3",
        )
        .bind(form_id)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    Ok(rows.into_iter().map(from_row).collect())
}
