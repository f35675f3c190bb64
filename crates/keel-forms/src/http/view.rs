//! The JSON shapes of SPEC section 3, built from stored values.

use serde_json::{json, Value};

use crate::repo::files::StoredFile;
use crate::repo::forms::StoredForm;
use crate::repo::responses::StoredResponse;

/// A form as its owner sees it (with the webhook secret, which only the
/// owner needs, to verify deliveries).
pub(crate) fn owner_form(form: &StoredForm) -> Value {
    let def = &form.definition;
    json!({
        "id": form.id,
        "slug": form.slug,
        "title": def.title,
        "description": def.description,
        "fields": def.fields,
        "accepting_responses": def.accepting_responses,
        "notify_owner": def.notify_owner,
        "webhook_url": def.webhook_url,
        "webhook_secret": form.webhook_secret,
        "embed_origins": def.embed_origins,
        "created_at": form.created_at,
        "updated_at": form.updated_at,
    })
}

pub(crate) fn response(r: &StoredResponse, files: &[StoredFile]) -> Value {
    json!({
        "id": r.id,
        "created_at": r.created_at,
        "answers": r.answers,
        "files": files.iter().map(file).collect::<Vec<_>>(),
    })
}

/// A file of a response; its bytes are at
/// `/api/forms/{form}/responses/{response}/files/{id}`.
pub(crate) fn file(f: &StoredFile) -> Value {
    json!({
        "id": f.id,
        "field": f.field_key,
        "name": f.name,
        "size": f.size,
        "content_type": f.content_type,
    })
}
