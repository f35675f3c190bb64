//! Forms: insert, read (by owner or by slug), list, update, delete.

use chrono::{DateTime, Utc};
use keel::db::{Db, DbError};
use uuid::Uuid;

use crate::domain::{Field, FormDefinition, FormSlug};
use crate::FormsError;

/// A stored form. It serializes without its webhook secret (the form
/// cache holds it that way); [`webhook_secret`] reads the secret.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredForm {
    pub seq: i64,
    pub id: Uuid,
    pub owner_id: Uuid,
    pub slug: String,
    pub definition: FormDefinition,
    #[serde(skip)]
    pub webhook_secret: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// 1 when created, one more with every update (in the same statement).
    pub version: i64,
}

/// The columns of a form, in [`FormRow`]'s order: every query that reads
/// a form reads these.
const COLUMNS: &str = "seq, id, owner_id, slug, title, description, fields, accepting_responses, notify_owner, \
                       webhook_url, webhook_secret, embed_origins, created_at, updated_at, version";

/// A `forms` row as stored: the lists are JSON text.
#[derive(sqlx::FromRow)]
struct FormRow {
    seq: i64,
    id: Uuid,
    owner_id: Uuid,
    slug: String,
    title: String,
    description: String,
    fields: String,
    accepting_responses: bool,
    notify_owner: bool,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
    embed_origins: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

impl TryFrom<FormRow> for StoredForm {
    type Error = DbError;

    /// A row whose JSON lists do not decode is an error, not an empty form.
    fn try_from(row: FormRow) -> Result<Self, DbError> {
        let corrupt = |e: serde_json::Error| DbError::Query(sqlx::Error::Decode(Box::new(e)));
        let fields: Vec<Field> = serde_json::from_str(&row.fields).map_err(corrupt)?;
        let embed_origins: Vec<String> = serde_json::from_str(&row.embed_origins).map_err(corrupt)?;
        Ok(StoredForm {
            seq: row.seq,
            id: row.id,
            owner_id: row.owner_id,
            slug: row.slug,
            definition: FormDefinition {
                title: row.title,
                description: row.description,
                fields,
                accepting_responses: row.accepting_responses,
                notify_owner: row.notify_owner,
                webhook_url: row.webhook_url,
                embed_origins,
            },
            webhook_secret: row.webhook_secret,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        })
    }
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

/// How many fresh slugs a new form tries before giving up: with 71 bits
/// each, a second collision in a row means something else is wrong.
const SLUG_TRIES: usize = 3;

/// Inserts a new form with a fresh slug (retried on the rare collision);
/// the form as stored.
pub async fn insert(
    db: &Db,
    owner_id: Uuid,
    def: &FormDefinition,
    webhook_secret: Option<&str>,
) -> Result<StoredForm, FormsError> {
    let id = Uuid::new_v4();
    let now = Utc::now();
    let sql = format!(
        "INSERT INTO forms (id, owner_id, slug, title, description, fields, accepting_responses, notify_owner, \
         webhook_url, webhook_secret, embed_origins, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING {COLUMNS}"
    );
    for _ in 0..SLUG_TRIES {
        let slug = FormSlug::generate();
        let result: Result<FormRow, sqlx::Error> = keel::on_pool!(db, pool => {
            sqlx::query_as(&sql)
                .bind(id)
                .bind(owner_id)
                .bind(slug.as_str())
                .bind(&def.title)
                .bind(&def.description)
                .bind(json(&def.fields))
                .bind(def.accepting_responses)
                .bind(def.notify_owner)
                .bind(&def.webhook_url)
                .bind(webhook_secret)
                .bind(json(&def.embed_origins))
                .bind(now)
                .fetch_one(pool)
                .await
        });
        match result {
            Ok(row) => return Ok(StoredForm::try_from(row)?),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
            Err(e) => return Err(DbError::from(e).into()),
        }
    }
    Err(FormsError::SlugsExhausted(SLUG_TRIES))
}

/// Form `id`, when `owner_id` owns it.
pub async fn get_for_owner(db: &Db, owner_id: Uuid, id: Uuid) -> Result<Option<StoredForm>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM forms WHERE id = $1 AND owner_id = $2");
    let row: Option<FormRow> = keel::on_pool!(db, pool => {
        sqlx::query_as(&sql).bind(id).bind(owner_id).fetch_optional(pool).await?
    });
    row.map(StoredForm::try_from).transpose()
}

/// The form published under `slug`, whoever owns it.
pub async fn get_by_slug(db: &Db, slug: &FormSlug) -> Result<Option<StoredForm>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM forms WHERE slug = $1");
    let row: Option<FormRow> = keel::on_pool!(db, pool => {
        sqlx::query_as(&sql).bind(slug.as_str()).fetch_optional(pool).await?
    });
    row.map(StoredForm::try_from).transpose()
}

/// The webhook secret of a form (`None` when it has none or is gone).
pub async fn webhook_secret(db: &Db, id: Uuid) -> Result<Option<String>, DbError> {
    let row: Option<(Option<String>,)> = keel::on_pool!(db, pool => {
        sqlx::query_as("SELECT webhook_secret FROM forms WHERE id = $1").bind(id).fetch_optional(pool).await?
    });
    Ok(row.and_then(|(secret,)| secret))
}

/// A page of the owner's forms, newest first; the cursor of the next page.
pub async fn list_for_owner(
    db: &Db,
    owner_id: Uuid,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<StoredForm>, Option<i64>), DbError> {
    let sql = format!("SELECT {COLUMNS} FROM forms WHERE owner_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3");
    let rows: Vec<FormRow> = keel::on_pool!(db, pool => {
        sqlx::query_as(&sql).bind(owner_id).bind(before.unwrap_or(i64::MAX)).bind(limit + 1).fetch_all(pool).await?
    });
    let mut forms = rows
        .into_iter()
        .map(StoredForm::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let next = (forms.len() as i64 > limit).then(|| {
        forms.truncate(limit as usize);
        forms.last().map(|f| f.seq)
    });
    Ok((forms, next.flatten()))
}

/// Replaces the definition and bumps the version in the same statement;
/// the form as changed, or `None` when the owner has no such form.
pub async fn update(
    db: &Db,
    owner_id: Uuid,
    id: Uuid,
    def: &FormDefinition,
    webhook_secret: Option<&str>,
) -> Result<Option<StoredForm>, DbError> {
    let sql = format!(
        "UPDATE forms SET title = $1, description = $2, fields = $3, accepting_responses = $4, notify_owner = $5, \
         webhook_url = $6, webhook_secret = $7, embed_origins = $8, updated_at = $9, version = version + 1 \
         WHERE id = $10 AND owner_id = $11 RETURNING {COLUMNS}"
    );
    let row: Option<FormRow> = keel::on_pool!(db, pool => {
        sqlx::query_as(&sql)
            .bind(&def.title)
            .bind(&def.description)
            .bind(json(&def.fields))
            .bind(def.accepting_responses)
            .bind(def.notify_owner)
            .bind(&def.webhook_url)
            .bind(webhook_secret)
            .bind(json(&def.embed_origins))
            .bind(Utc::now())
            .bind(id)
            .bind(owner_id)
            .fetch_optional(pool)
            .await?
    });
    row.map(StoredForm::try_from).transpose()
}

/// Deletes a form and (by cascade) its responses; returns its slug.
pub async fn delete(db: &Db, owner_id: Uuid, id: Uuid) -> Result<Option<String>, DbError> {
    let slug: Option<(String,)> = keel::on_pool!(db, pool => {
        sqlx::query_as("DELETE FROM forms WHERE id = $1 AND owner_id = $2 RETURNING slug")
            .bind(id)
            .bind(owner_id)
            .fetch_optional(pool)
            .await?
    });
    Ok(slug.map(|(s,)| s))
}
