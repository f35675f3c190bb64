//! Uploaded files in the media store. A response's file is written under
//! `forms/<form id>/<response id>/<file id>` (a generated key: the client's
//! name is kept as data only), so deleting a form deletes its objects by
//! the prefix `forms/<form id>` once its rows are gone.

use keel::storage::{MediaStore, ObjectKey};
use uuid::Uuid;

/// Where file `file_id` of response `response_id` of form `form_id` goes.
pub fn upload_key(form_id: Uuid, response_id: Uuid, file_id: Uuid) -> Option<ObjectKey> {
    ObjectKey::parse(&format!("forms/{form_id}/{response_id}/{file_id}"))
}

/// The prefix of every object of form `id`.
fn form_prefix(id: Uuid) -> Option<ObjectKey> {
    ObjectKey::parse(&format!("forms/{id}"))
}

/// Deletes the objects of a deleted form. Its rows are gone already, so a
/// failure here leaves only unreachable bytes: logged, not an error.
pub async fn delete_form_files(media: &MediaStore, id: Uuid) {
    let Some(prefix) = form_prefix(id) else { return };
    match media.delete_prefix(&prefix).await {
        Ok(0) => {}
        Ok(count) => tracing::info!(form.id = %id, files = count, "form files deleted"),
        Err(err) => tracing::warn!(form.id = %id, error = %err, "could not delete a deleted form's files"),
    }
}
