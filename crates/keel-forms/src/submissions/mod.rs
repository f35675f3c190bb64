//! Accepting one public submission, JSON or multipart alike. The caller has
//! read it (its files are in [`Uploads`] already), checked its token and
//! counted it against the rate limit; what is left is the honeypot, an open
//! form, answers valid with the uploaded files counted, then one
//! transaction with the response, its files' rows and its outbox rows,
//! made only while the form is at the version checked. The response id is
//! returned only after the commit; on any refusal the uploaded files are
//! deleted first.
//!
//! A form changed under a submission (read from the cache, say) is not
//! taken at its old version: a submission without files is checked again
//! against the form as it is now (and the cache learns the new version), so
//! a closed form or an old webhook URL never takes a response; one with
//! files, whose keys were chosen already, is refused as `FormChanged`.

mod uploads;
mod write;

use std::borrow::Cow;

use keel::db::Db;
use keel::Core;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::{validate_answers, FormSlug};
use crate::repo::forms::{self, StoredForm};
use crate::repo::published;
use crate::FormsError;
pub(crate) use uploads::Uploads;

/// What a submission says, whichever encoding it came in.
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) answers: Map<String, Value>,
    /// The honeypot: a bot fills it, a person never sees it.
    pub(crate) honeypot: Option<String>,
}

impl Entry {
    /// Whether a bot filled the honeypot (the submission is then dropped).
    pub(crate) fn is_bot(&self) -> bool {
        self.honeypot.as_deref().is_some_and(|h| !h.is_empty())
    }
}

/// How many times a submission without files is checked again after the
/// form changed under it (each time against the form as it is now).
const ATTEMPTS: usize = 3;

/// `form` with its webhook secret when it has a webhook: the cache never
/// holds secrets, so it is read when a delivery needs it.
pub(crate) async fn with_secret<'a>(db: &Db, form: &'a StoredForm) -> Result<Cow<'a, StoredForm>, FormsError> {
    if form.definition.webhook_url.is_none() {
        return Ok(Cow::Borrowed(form));
    }
    Ok(Cow::Owned(StoredForm {
        webhook_secret: forms::webhook_secret(db, form.id).await?,
        ..form.clone()
    }))
}

/// Checks and stores one submission to `form`; the stored response's id.
/// A filled honeypot is answered like a success with nothing stored (and
/// an id that names nothing), so a bot learns nothing.
pub(crate) async fn accept(
    core: &Core,
    form: &StoredForm,
    entry: Entry,
    mut uploads: Uploads,
) -> Result<Uuid, FormsError> {
    if entry.is_bot() {
        tracing::info!(form.id = %form.id, "honeypot submission dropped");
        uploads.discard().await;
        return Ok(Uuid::new_v4());
    }
    let mut fresh: Option<StoredForm> = None;
    for _ in 0..ATTEMPTS {
        let current = fresh.as_ref().unwrap_or(form);
        let has_files = !uploads.files.is_empty();
        let response_id = uploads.response_id;
        match attempt(core, current, entry.clone(), uploads).await {
            Err(FormsError::FormChanged) if !has_files => {}
            done => return done,
        }
        tracing::info!(form.id = %current.id, "form changed during a submission; checking again");
        fresh = Some(reread(core, current).await?);
        uploads = Uploads::new(core.media.clone(), response_id);
    }
    Err(FormsError::FormChanged)
}

/// One attempt: checks `entry` against `form`, then writes the response
/// guarded by the form's version (`FormChanged` when it moved on).
async fn attempt(core: &Core, form: &StoredForm, entry: Entry, uploads: Uploads) -> Result<Uuid, FormsError> {
    match check(core, form, entry, &uploads).await {
        Ok((answers, owner_email)) => write::write(&core.db, form, answers, owner_email, uploads).await,
        Err(err) => {
            uploads.discard().await;
            Err(err)
        }
    }
}

/// The normalized answers, and the owner's address when the owner is to
/// be emailed.
async fn check(
    core: &Core,
    form: &StoredForm,
    entry: Entry,
    uploads: &Uploads,
) -> Result<(Map<String, Value>, Option<String>), FormsError> {
    let def = &form.definition;
    if !def.accepting_responses {
        return Err(FormsError::FormClosed);
    }
    let answers =
        validate_answers(&def.fields, entry.answers, &uploads.counts()).map_err(FormsError::InvalidAnswers)?;
    let owner_email = if def.notify_owner {
        let owner = keel::accounts::users::find_by_id(&core.db, form.owner_id).await?;
        owner.map(|owner| owner.email)
    } else {
        None
    };
    Ok((answers, owner_email))
}

/// The form `current` as it is now (`NotFound` when it is gone), which the
/// cache learns too.
async fn reread(core: &Core, current: &StoredForm) -> Result<StoredForm, FormsError> {
    let slug = FormSlug::parse(&current.slug)
        .ok_or_else(|| FormsError::Corrupt(format!("the slug of form {}", current.id)))?;
    let now = forms::get_by_slug(&core.db, &slug).await?;
    let now = now.filter(|now| now.id == current.id).ok_or(FormsError::NotFound)?;
    if let Err(err) = published::remember(&core.cache, now.clone()).await {
        tracing::warn!(error = %err, "could not cache a public form");
    }
    Ok(now)
}
