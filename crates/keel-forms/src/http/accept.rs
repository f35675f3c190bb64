//! Accepting one public submission, JSON or multipart alike: the honeypot,
//! the token, an open form, answers valid with the uploaded files counted,
//! then one transaction with the response, its files' rows and its outbox
//! rows. 201 only after the commit; on any refusal the uploaded files are
//! deleted first.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use keel::outbox::{self, EmailMessage, OutboxMessage, WebhookMessage};
use keel::Problem;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::uploads::Uploads;
use super::FormsState;
use crate::domain::validate_answers;
use crate::error::answers_problem;
use crate::repo::files::{self, StoredFile};
use crate::repo::forms::StoredForm;
use crate::repo::responses;

/// What a submission says, whichever encoding it came in.
pub(super) struct Entry {
    pub(super) token: String,
    pub(super) answers: Map<String, Value>,
    pub(super) honeypot: Option<String>,
}

/// Checks and stores one submission; 201 only after the commit.
pub(super) async fn accept(
    state: &FormsState,
    form: &StoredForm,
    entry: Entry,
    uploads: Uploads,
) -> Result<Response, Problem> {
    if entry.honeypot.as_deref().is_some_and(|h| !h.is_empty()) {
        tracing::info!(form.id = %form.id, "honeypot submission dropped");
        uploads.discard().await;
        return Ok(created(Uuid::new_v4()));
    }
    let (answers, messages) = match check(state, form, entry, &uploads).await {
        Ok(checked) => checked,
        Err(problem) => {
            uploads.discard().await;
            return Err(problem);
        }
    };
    let (db, form_id, id) = (state.core.db.clone(), form.id, uploads.response_id);
    let enqueues = !messages.is_empty();
    let stored: Vec<StoredFile> = uploads.files.clone();
    let written = uploads
        .commit(async move {
            if stored.is_empty() && messages.is_empty() {
                return responses::insert_alone(&db, id, form_id, &answers).await;
            }
            let mut tx = db.begin().await?;
            let (id, created_at) = responses::insert_with_id(&mut tx, id, form_id, &answers).await?;
            for file in &stored {
                files::insert(&mut tx, form_id, file).await?;
            }
            for message in messages {
                outbox::enqueue(&mut tx, &message.finish(id, created_at, &stored)).await?;
            }
            tx.commit().await
        })
        .await;
    match written {
        Ok(()) => {}
        // The form was deleted after it was read (from the cache, say).
        Err(Some(err)) if err.is_foreign_key_violation() => return Err(Problem::not_found()),
        Err(Some(err)) => return Err(err.into()),
        Err(None) => return Err(Problem::internal()),
    }
    if enqueues {
        // The outbox rows are committed: wake this instance's worker now
        // rather than at its next poll. (Only then: a wake is a query.)
        outbox::wake_workers();
    }
    // The access log has the 201; this line adds which response it was.
    tracing::debug!(form.id = %form.id, response.id = %id, "response stored");
    Ok(created(id))
}

async fn check(
    state: &FormsState,
    form: &StoredForm,
    entry: Entry,
    uploads: &Uploads,
) -> Result<(Map<String, Value>, Vec<Pending>), Problem> {
    super::public::check_token(state, &entry.token, form.id)?;
    if !form.definition.accepting_responses {
        return Err(form_closed());
    }
    let answers =
        validate_answers(&form.definition.fields, entry.answers, &uploads.counts()).map_err(answers_problem)?;
    let messages = side_effects(state, form, &answers).await?;
    Ok((answers, messages))
}

pub(super) fn form_closed() -> Problem {
    Problem::conflict("form-closed", "This form is not accepting responses.")
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
