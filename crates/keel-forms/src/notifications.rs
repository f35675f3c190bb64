//! What a form's owner is told of a new response: an email listing the
//! answers (when the form has `notify_owner`) and a signed
//! `response.created` webhook (when it has a webhook). Pure functions of
//! the form and the response: the submission puts them in the outbox in
//! the response's own transaction, and the outbox delivers them after the
//! commit.

use chrono::{DateTime, Utc};
use keel::outbox::{EmailMessage, WebhookMessage};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::csv::plain;
use crate::domain::{FormDefinition, ResponseFile};
use crate::repo::files::StoredFile;
use crate::repo::forms::StoredForm;

/// The event name of a new response's webhook delivery.
pub(crate) const RESPONSE_CREATED: &str = "response.created";

/// A response as it was just written.
pub(crate) struct NewResponse<'a> {
    pub(crate) id: Uuid,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) answers: &'a Map<String, Value>,
    pub(crate) files: &'a [StoredFile],
}

/// The email to the owner at `to` about response `id`: each answer on a
/// line of its own, by label, in form order, as plain text.
pub(crate) fn owner_email(def: &FormDefinition, to: String, answers: &Map<String, Value>, id: Uuid) -> EmailMessage {
    let mut text = format!("A new response arrived for \"{}\".\n\n", def.title);
    for field in &def.fields {
        if let Some(value) = answers.get(&field.key) {
            text.push_str(&format!("{}: {}\n", field.label, plain(value)));
        }
    }
    text.push_str(&format!("\nResponse id: {id}\n"));
    EmailMessage {
        from: None,
        to: vec![to],
        subject: format!("New response: {}", def.title),
        text,
    }
}

/// Where a form's webhook deliveries go and what signs them.
#[derive(Clone)]
pub(crate) struct Webhook {
    url: String,
    secret: String,
    form_id: Uuid,
    slug: String,
}

/// The webhook of `form`, when it has one and its secret was read (the
/// cached form holds no secret).
pub(crate) fn webhook(form: &StoredForm) -> Option<Webhook> {
    let (url, secret) = (form.definition.webhook_url.as_ref()?, form.webhook_secret.as_ref()?);
    Some(Webhook {
        url: url.clone(),
        secret: secret.clone(),
        form_id: form.id,
        slug: form.slug.clone(),
    })
}

/// The `response.created` delivery of `response` to `hook`: the form, and
/// the response with its answers (and its files, when it has some).
pub(crate) fn response_created(hook: Webhook, response: &NewResponse<'_>) -> WebhookMessage {
    let mut payload = json!({
        "event": RESPONSE_CREATED,
        "form": { "id": hook.form_id, "slug": hook.slug },
        "response": { "answers": response.answers, "id": response.id, "created_at": response.created_at },
    });
    if !response.files.is_empty() {
        let files: Vec<ResponseFile> = response.files.iter().map(ResponseFile::from).collect();
        payload["response"]["files"] = json!(files);
    }
    WebhookMessage {
        url: hook.url,
        secret: hook.secret,
        event: RESPONSE_CREATED.to_owned(),
        payload,
    }
}

#[cfg(test)]
mod tests;
