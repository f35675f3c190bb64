//! Files of responses: inserted in the response's transaction, listed with
//! a page of responses, and found for a download only through the form's
//! owner (another user's file is simply not found).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use keel::db::{Db, DbError, Tx};
use uuid::Uuid;

use crate::domain::ResponseFile;

/// A stored file's row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredFile {
    pub id: Uuid,
    pub response_id: Uuid,
    pub field_key: String,
    /// Where the bytes are in the media store.
    pub storage_key: String,
    /// The sanitised original name.
    pub name: String,
    pub size: i64,
    /// The type sniffed from the content.
    pub content_type: String,
    pub created_at: DateTime<Utc>,
}

/// The columns of a file (of the table as `f`), in [`StoredFile`]'s order.
const COLUMNS: &str = "f.id, f.response_id, f.field_key, f.storage_key, f.name, f.size, f.content_type, f.created_at";

impl From<&StoredFile> for ResponseFile {
    fn from(file: &StoredFile) -> Self {
        Self {
            id: file.id,
            field: file.field_key.clone(),
            name: file.name.clone(),
            size: u64::try_from(file.size).unwrap_or(0),
            content_type: file.content_type.clone(),
        }
    }
}

/// Inserts `file` (of response `file.response_id`, form `form_id`) in `tx`.
pub async fn insert(tx: &mut Tx, form_id: Uuid, file: &StoredFile) -> Result<(), DbError> {
    keel::on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO form_response_files \
             (id, response_id, form_id, field_key, storage_key, name, size, content_type, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(file.id)
        .bind(file.response_id)
        .bind(form_id)
        .bind(&file.field_key)
        .bind(&file.storage_key)
        .bind(&file.name)
        .bind(file.size)
        .bind(&file.content_type)
        .bind(file.created_at)
        .execute(&mut **conn)
        .await?;
    });
    Ok(())
}

/// The files of each of `response_ids`, in upload order.
pub async fn for_responses(db: &Db, response_ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<StoredFile>>, DbError> {
    let mut by_response: HashMap<Uuid, Vec<StoredFile>> = HashMap::new();
    if response_ids.is_empty() {
        return Ok(by_response);
    }
    let placeholders: Vec<String> = (1..=response_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM form_response_files f WHERE f.response_id IN ({}) ORDER BY f.seq",
        placeholders.join(", ")
    );
    let rows: Vec<StoredFile> = keel::on_pool!(db, pool => {
        let mut query = sqlx::query_as(&sql);
        for id in response_ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool).await?
    });
    for file in rows {
        by_response.entry(file.response_id).or_default().push(file);
    }
    Ok(by_response)
}

/// File `file_id` of response `response_id` of form `form_id`, when
/// `owner_id` owns that form.
pub async fn get_for_owner(
    db: &Db,
    owner_id: Uuid,
    form_id: Uuid,
    response_id: Uuid,
    file_id: Uuid,
) -> Result<Option<StoredFile>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM form_response_files f JOIN forms o ON o.id = f.form_id \
         WHERE f.id = $1 AND f.response_id = $2 AND f.form_id = $3 AND o.owner_id = $4"
    );
    let file: Option<StoredFile> = keel::on_pool!(db, pool => {
        sqlx::query_as(&sql)
            .bind(file_id)
            .bind(response_id)
            .bind(form_id)
            .bind(owner_id)
            .fetch_optional(pool)
            .await?
    });
    Ok(file)
}
