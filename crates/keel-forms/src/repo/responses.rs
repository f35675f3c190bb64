//! Responses: insert (inside the caller's transaction, with its outbox
//! rows), pages for the owner, and every response as a stream of keyset
//! pages for the CSV export.

use chrono::{DateTime, Utc};
use futures_util::{stream, Stream};
use keel::db::{Backend, Db, DbError, Tx};
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

/// The columns of a response, in [`ResponseRow`]'s order.
const COLUMNS: &str = "seq, id, answers, created_at";

/// A `form_responses` row as stored: the answers are JSON text.
#[derive(sqlx::FromRow)]
struct ResponseRow {
    seq: i64,
    id: Uuid,
    answers: String,
    created_at: DateTime<Utc>,
}

impl From<ResponseRow> for StoredResponse {
    fn from(row: ResponseRow) -> Self {
        Self {
            seq: row.seq,
            id: row.id,
            answers: serde_json::from_str(&row.answers).unwrap_or_default(),
            created_at: row.created_at,
        }
    }
}

/// The insert, made only while the form is at the version the answers were
/// checked against: 0 rows when the form changed or went meanwhile.
/// PostgreSQL also share-locks the form row until the commit, so an update
/// that closes the form waits for the response and is acknowledged after
/// it; SQLite has one writer at a time, which orders them already.
fn guarded_insert(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "INSERT INTO form_responses (id, form_id, answers, created_at) \
             SELECT $1, id, $3, $4 FROM forms WHERE id = $2 AND version = $5"
        }
        Backend::Postgres => {
            "INSERT INTO form_responses (id, form_id, answers, created_at) \
             SELECT $1, id, $3, $4 FROM forms WHERE id = $2 AND version = $5 FOR SHARE"
        }
    }
}

/// A form at the version a submission was checked against.
#[derive(Debug, Clone, Copy)]
pub struct FormAt {
    pub id: Uuid,
    pub version: i64,
}

/// Inserts a response whose id was chosen beforehand (its files were
/// stored under it while the body arrived), in `tx`; its time, or `None`
/// when the form is no longer at `form.version` (nothing written).
pub async fn insert_with_id(
    tx: &mut Tx,
    id: Uuid,
    form: FormAt,
    answers: &Map<String, Value>,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let now = Utc::now();
    let answers = serde_json::to_string(answers).unwrap_or_else(|_| "{}".to_owned());
    let sql = guarded_insert(tx.backend());
    let inserted = keel::on_tx!(tx, conn => {
        sqlx::query(sql)
            .bind(id)
            .bind(form.id)
            .bind(answers)
            .bind(now)
            .bind(form.version)
            .execute(&mut **conn)
            .await?
            .rows_affected()
    });
    Ok((inserted == 1).then_some(now))
}

/// Stores a response that comes with nothing else (no files, no outbox
/// messages): one autocommit statement, atomic by itself, taking its turn
/// to write like a transaction would. False when the form is no longer at
/// `form.version` (nothing written).
pub async fn insert_alone(db: &Db, id: Uuid, form: FormAt, answers: &Map<String, Value>) -> Result<bool, DbError> {
    let answers = serde_json::to_string(answers).unwrap_or_else(|_| "{}".to_owned());
    let sql = guarded_insert(db.backend());
    let _turn = db.write_turn().await;
    let inserted = keel::on_pool!(db, pool => {
        sqlx::query(sql)
            .bind(id)
            .bind(form.id)
            .bind(answers)
            .bind(Utc::now())
            .bind(form.version)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(inserted == 1)
}

/// A page of a form's responses, newest first, and the next page's cursor.
pub async fn page(
    db: &Db,
    form_id: Uuid,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<StoredResponse>, Option<i64>), DbError> {
    let sql =
        format!("SELECT {COLUMNS} FROM form_responses WHERE form_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3");
    let rows: Vec<ResponseRow> = keel::on_pool!(db, pool => {
        sqlx::query_as(&sql)
            .bind(form_id)
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
    });
    let mut items: Vec<StoredResponse> = rows.into_iter().map(StoredResponse::from).collect();
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|r| r.seq)
    } else {
        None
    };
    Ok((items, next))
}

/// Every response of a form, oldest first, as a stream of keyset pages of
/// at most `page_size`: one query per page, so memory stays flat however
/// many there are. The stream ends after the last page, or after an error.
pub fn stream_pages(
    db: Db,
    form_id: Uuid,
    page_size: i64,
) -> impl Stream<Item = Result<Vec<StoredResponse>, DbError>> + Send + 'static {
    // The state: the seq of the last row sent, and whether that was all.
    stream::unfold((0_i64, false), move |(after, done)| {
        let db = db.clone();
        async move {
            if done {
                return None;
            }
            match page_after(&db, form_id, after, page_size).await {
                Ok(page) if page.is_empty() => None,
                Ok(page) => {
                    let last = page.last().map_or(after, |r| r.seq);
                    let finished = (page.len() as i64) < page_size;
                    Some((Ok(page), (last, finished)))
                }
                Err(err) => Some((Err(err), (after, true))),
            }
        }
    })
}

/// The responses after `after`, oldest first, at most `limit`.
async fn page_after(db: &Db, form_id: Uuid, after: i64, limit: i64) -> Result<Vec<StoredResponse>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM form_responses WHERE form_id = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3");
    let rows: Vec<ResponseRow> = keel::on_pool!(db, pool => {
        sqlx::query_as(&sql).bind(form_id).bind(after).bind(limit).fetch_all(pool).await?
    });
    Ok(rows.into_iter().map(StoredResponse::from).collect())
}
