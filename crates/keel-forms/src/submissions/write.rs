//! The write of one accepted response: the response row, its files' rows
//! and its outbox rows in one transaction, made only while the form is at
//! the version the answers were checked against. It runs on a task of its
//! own ([`Uploads::commit`]), so a request dropped mid-commit cannot leave
//! objects without a row, or a row without its objects.

use keel::db::Db;
use keel::outbox::{self, OutboxMessage};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::Uploads;
use crate::notifications::{self, NewResponse};
use crate::repo::files;
use crate::repo::forms::StoredForm;
use crate::repo::responses::{self, FormAt};
use crate::FormsError;

/// Writes the response of `uploads` with `answers` to `form`, emailing
/// `owner_email` when given and calling the form's webhook when it has
/// one; its id. `FormChanged` when the form is no longer at the version
/// checked: nothing is written and the files are deleted.
pub(super) async fn write(
    db: &Db,
    form: &StoredForm,
    answers: Map<String, Value>,
    owner_email: Option<String>,
    uploads: Uploads,
) -> Result<Uuid, FormsError> {
    let id = uploads.response_id;
    let at = FormAt {
        id: form.id,
        version: form.version,
    };
    let email = owner_email.map(|to| notifications::owner_email(&form.definition, to, &answers, id));
    let webhook = notifications::webhook(form);
    let notifies = email.is_some() || webhook.is_some();
    let stored = uploads.files.clone();
    let db = db.clone();
    uploads
        .commit(async move {
            if stored.is_empty() && !notifies {
                let inserted = responses::insert_alone(&db, id, at, &answers).await?;
                return if inserted { Ok(()) } else { Err(FormsError::FormChanged) };
            }
            let mut tx = db.begin().await?;
            let Some(created_at) = responses::insert_with_id(&mut tx, id, at, &answers).await? else {
                return Err(FormsError::FormChanged);
            };
            for file in &stored {
                files::insert(&mut tx, at.id, file).await?;
            }
            let response = NewResponse {
                id,
                created_at,
                answers: &answers,
                files: &stored,
            };
            let delivery = webhook.map(|hook| notifications::response_created(hook, &response));
            let messages = email.map(OutboxMessage::Email).into_iter();
            for message in messages.chain(delivery.map(OutboxMessage::Webhook)) {
                outbox::enqueue(&mut tx, &message).await?;
            }
            Ok(tx.commit().await?)
        })
        .await?;
    if notifies {
        // The outbox rows are committed: wake this instance's worker now
        // rather than at its next poll. (Only then: a wake is a query.)
        outbox::wake_workers();
    }
    // The access log has the 201; this line adds which response it was.
    tracing::debug!(form.id = %form.id, response.id = %id, "response stored");
    Ok(id)
}
