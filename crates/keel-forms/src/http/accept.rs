//! Accepting one public submission, JSON or multipart alike (the caller
//! has checked its token and counted it against the rate limit): the
//! honeypot, an open form, answers valid with the uploaded files counted,
//! then one transaction with the response, its files' rows and its outbox
//! rows, made only while the form is at the version checked. 201 only after
//! the commit; on any refusal the uploaded files are deleted first.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use keel::db::DbError;
use keel::outbox::{self, EmailMessage, OutboxMessage, WebhookMessage};
use keel::Problem;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::uploads::Uploads;
use super::FormsState;
use crate::domain::validate_answers;
use crate::domain::FormSlug;
use crate::repo::files::{self, StoredFile};
use crate::repo::forms::{self, StoredForm};
use crate::repo::responses::{self, FormAt};
use crate::FormsError;

/// What a submission says, whichever encoding it came in.
#[derive(Clone)]
pub(super) struct Entry {
    pub(super) answers: Map<String, Value>,
    pub(super) honeypot: Option<String>,
}

/// How many times a submission without files is checked again after the
/// form changed under it (each time against the form as it is now).
const ATTEMPTS: usize = 3;

/// Why a response was not written.
enum WriteError {
    Db(DbError),
    /// The form is no longer at the version the answers were checked
    /// against (changed or deleted since it was read, from the cache say).
    Stale,
}

/// Checks and stores one submission; 201 only after the commit. The
/// caller has checked the token. The response is stored only while the
/// form is at the version it was checked against; when it changed, the
/// submission is checked again against the form as it is now (and the
/// cache learns the new version), so a closed form or an old webhook URL
/// never takes a response.
pub(super) async fn accept(
    state: &FormsState,
    form: &StoredForm,
    entry: Entry,
    mut uploads: Uploads,
) -> Result<Response, Problem> {
    if entry.honeypot.as_deref().is_some_and(|h| !h.is_empty()) {
        tracing::info!(form.id = %form.id, "honeypot submission dropped");
        uploads.discard().await;
        return Ok(created(Uuid::new_v4()));
    }
    let mut fresh: Option<StoredForm> = None;
    for _ in 0..ATTEMPTS {
        let current = fresh.as_ref().unwrap_or(form);
        let has_files = !uploads.files.is_empty();
        let response_id = uploads.response_id;
        match store(state, current, entry.clone(), uploads).await {
            Err(Some(WriteError::Stale)) if !has_files => {}
            Err(Some(WriteError::Stale)) => return Err(form_changed()),
            Err(Some(WriteError::Db(err))) => return Err(err.into()),
            Err(None) => return Err(Problem::internal()),
            Ok(result) => return result,
        }
        tracing::info!(form.id = %current.id, "form changed during a submission; checking again");
        let slug = FormSlug::parse(&current.slug).ok_or_else(Problem::internal)?;
        let now = forms::get_by_slug(&state.core.db, &slug).await?;
        let now = now.filter(|now| now.id == current.id).ok_or(FormsError::NotFound)?;
        super::public::remember(state, now.clone()).await;
        fresh = Some(now);
        uploads = Uploads::new(state.core.media.clone(), response_id);
    }
    Err(form_changed())
}

/// One attempt: checks `entry` against `form`, then writes the response
/// guarded by the form's version. `Ok(Err(problem))` for a refusal.
async fn store(
    state: &FormsState,
    form: &StoredForm,
    entry: Entry,
    uploads: Uploads,
) -> Result<Result<Response, Problem>, Option<WriteError>> {
    let (answers, messages) = match check(state, form, entry, &uploads).await {
        Ok(checked) => checked,
        Err(problem) => {
            uploads.discard().await;
            return Ok(Err(problem));
        }
    };
    let db = state.core.db.clone();
    let (at, id) = (
        FormAt {
            id: form.id,
            version: form.version,
        },
        uploads.response_id,
    );
    let enqueues = !messages.is_empty();
    let stored: Vec<StoredFile> = uploads.files.clone();
    uploads
        .commit(async move {
            if stored.is_empty() && messages.is_empty() {
                let inserted = responses::insert_alone(&db, id, at, &answers)
                    .await
                    .map_err(WriteError::Db)?;
                return if inserted { Ok(()) } else { Err(WriteError::Stale) };
            }
            let mut tx = db.begin().await.map_err(WriteError::Db)?;
            let inserted = responses::insert_with_id(&mut tx, id, at, &answers)
                .await
                .map_err(WriteError::Db)?;
            let Some(created_at) = inserted else {
                return Err(WriteError::Stale);
            };
            for file in &stored {
                files::insert(&mut tx, at.id, file).await.map_err(WriteError::Db)?;
            }
            for message in messages {
                let message = message.finish(id, created_at, &stored);
                outbox::enqueue(&mut tx, &message).await.map_err(WriteError::Db)?;
            }
            tx.commit().await.map_err(WriteError::Db)
        })
        .await?;
    if enqueues {
        // The outbox rows are committed: wake this instance's worker now
        // rather than at its next poll. (Only then: a wake is a query.)
        outbox::wake_workers();
    }
    // The access log has the 201; this line adds which response it was.
    tracing::debug!(form.id = %form.id, response.id = %id, "response stored");
    Ok(Ok(created(id)))
}

fn form_changed() -> Problem {
    FormsError::FormChanged.into()
}

async fn check(
    state: &FormsState,
    form: &StoredForm,
    entry: Entry,
    uploads: &Uploads,
) -> Result<(Map<String, Value>, Vec<Pending>), Problem> {
    if !form.definition.accepting_responses {
        return Err(form_closed());
    }
    let answers = validate_answers(&form.definition.fields, entry.answers, &uploads.counts())
        .map_err(FormsError::InvalidAnswers)?;
    let messages = side_effects(state, form, &answers).await?;
    Ok((answers, messages))
}

pub(super) fn form_closed() -> Problem {
    FormsError::FormClosed.into()
}

pub(super) fn created(id: Uuid) -> Response {
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

/// A side effect whose payload needs the response id.
enum Pending {
    Email {
        to: String,
        subject: String,
        text: String,
    },
    Webhook {
        url: String,
        secret: String,
        payload: Value,
    },
}

impl Pending {
    fn finish(self, id: Uuid, created_at: chrono::DateTime<chrono::Utc>, stored: &[StoredFile]) -> OutboxMessage {
        match self {
            Pending::Email { to, subject, text } => OutboxMessage::Email(EmailMessage {
                to: vec![to],
                subject,
                text: format!("{text}\nResponse id: {id}\n"),
            }),
            Pending::Webhook {
                url,
                secret,
                mut payload,
            } => {
                payload["response"]["id"] = json!(id);
                payload["response"]["created_at"] = json!(created_at);
                if !stored.is_empty() {
                    payload["response"]["files"] = json!(stored.iter().map(super::view::file).collect::<Vec<_>>());
                }
                OutboxMessage::Webhook(WebhookMessage {
                    url,
                    secret,
                    event: "response.created".to_owned(),
                    payload,
                })
            }
        }
    }
}

async fn side_effects(
    state: &FormsState,
    form: &StoredForm,
    answers: &Map<String, Value>,
) -> Result<Vec<Pending>, Problem> {
    let def = &form.definition;
    let mut pending = Vec::new();
    if def.notify_owner {
        if let Some(owner) = keel::accounts::users::find_by_id(&state.core.db, form.owner_id).await? {
            let mut text = format!("A new response arrived for \"{}\".\n\n", def.title);
            for field in &def.fields {
                if let Some(value) = answers.get(&field.key) {
                    text.push_str(&format!("{}: {}\n", field.label, crate::csv::plain(value)));
                }
            }
            pending.push(Pending::Email {
                to: owner.email,
                subject: format!("New response: {}", def.title),
                text,
            });
        }
    }
    if let (Some(url), Some(secret)) = (&def.webhook_url, &form.webhook_secret) {
        pending.push(Pending::Webhook {
            url: url.clone(),
            secret: secret.clone(),
            payload: json!({
                "event": "response.created",
                "form": { "id": form.id, "slug": form.slug },
                "response": { "answers": answers },
            }),
        });
    }
    Ok(pending)
}
