//! Reading a multipart submission (SPEC section 3): a part
//! `submission_token`, a part `answers` holding the JSON object of the
//! non-file answers, an optional honeypot part `_hp`, and one part per file
//! named by its field key.
//!
//! Files are streamed to the media store as they arrive, never held whole,
//! by [`Uploads::store`], which applies the field's rules (a file its
//! `accept` refuses is 422 on its field, one over `KEEL_MAX_UPLOAD_BYTES`
//! is 413). A body over the form's own limit (its `max_files` uploads plus
//! 1 MiB) is 413 too. Whatever goes wrong, the files already written are
//! deleted before the answer goes out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::multipart::{Field as Part, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use futures_util::{stream, StreamExt};
use keel::http::extract::parse_json;
use keel::storage::sniff::SNIFF_LEN;
use keel::{FieldError, Problem};
use serde_json::{Map, Value};

use super::FormsState;
use crate::domain::media::multipart_limit;
use crate::domain::{Field, FieldType};
use crate::repo::forms::StoredForm;
use crate::submissions::Uploads;

/// The longest `submission_token` or `_hp` part.
const SHORT_PART: u64 = 4096;

/// The non-file parts of a multipart submission.
#[derive(Debug, Default)]
pub(super) struct Parts {
    pub(super) token: Option<String>,
    pub(super) answers: Map<String, Value>,
    pub(super) honeypot: Option<String>,
}

/// The submission route's own body limit: the largest any form could
/// allow. Each body is then held to its own form's limit while it streams
/// (and a JSON body to `KEEL_MAX_BODY_BYTES`).
pub(super) fn route_limit(limits: &keel::settings::LimitSettings) -> usize {
    let most_files = (crate::domain::form::MAX_FIELDS as u64) * u64::from(crate::domain::field::MAX_FILES);
    let bytes = most_files
        .saturating_mul(limits.max_upload_bytes)
        .saturating_add(crate::domain::media::MULTIPART_OVERHEAD);
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

/// Reads the whole body, storing its files into `uploads`. On error the
/// files are already deleted.
pub(super) async fn receive(
    state: &FormsState,
    form: &StoredForm,
    request: Request,
    mut uploads: Uploads,
) -> Result<(Parts, Uploads), Problem> {
    let limit = multipart_limit(&form.definition.fields, state.core.settings.limits.max_upload_bytes);
    let over = Arc::new(AtomicBool::new(false));
    let result = match limit_body(request, limit, over.clone()) {
        Ok(request) => read_parts(state, form, request, &mut uploads).await,
        Err(problem) => Err(problem),
    };
    match result {
        Ok(parts) => Ok((parts, uploads)),
        Err(problem) => {
            uploads.discard().await;
            Err(if over.load(Ordering::SeqCst) {
                too_large(limit)
            } else {
                problem
            })
        }
    }
}

fn too_large(limit: u64) -> Problem {
    Problem::payload_too_large(format!("This form takes multipart bodies of at most {limit} bytes."))
}

/// Refuses a declared length over `limit` at once, and counts the bytes of
/// a body that declared none (or lied), setting `over` past `limit`.
fn limit_body(request: Request, limit: u64, over: Arc<AtomicBool>) -> Result<Request, Problem> {
    let declared = request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let (head, body) = request.into_parts();
    let mut seen = 0_u64;
    let counted = body.into_data_stream().map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len() as u64;
        if seen > limit {
            over.store(true, Ordering::SeqCst);
            return Err(axum::Error::new("the body is over the form's limit"));
        }
        Ok(chunk)
    });
    Ok(Request::from_parts(head, Body::from_stream(counted)))
}

async fn read_parts(
    state: &FormsState,
    form: &StoredForm,
    request: Request,
    uploads: &mut Uploads,
) -> Result<Parts, Problem> {
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|_| Problem::bad_request("The body is not multipart/form-data with a boundary."))?;
    let mut parts = Parts::default();
    while let Some(part) = multipart.next_field().await.map_err(broken)? {
        let name = part.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "submission_token" => parts.token = Some(read_text(part, &name, SHORT_PART).await?),
            "_hp" => parts.honeypot = Some(read_text(part, &name, SHORT_PART).await?),
            "answers" => {
                let max = state.core.settings.limits.max_body_bytes;
                let text = read_text(part, &name, max).await?;
                parts.answers = parse_json(text.as_bytes()).map_err(|p| renamed(p, "answers"))?;
            }
            key => match file_field(&form.definition.fields, key) {
                Some(field) => store_file(state, form, field, part, uploads).await?,
                None => {
                    return Err(field_problem(
                        &format!("answers.{key}"),
                        "This form has no such file field.",
                    ))
                }
            },
        }
    }
    Ok(parts)
}

fn file_field<'a>(fields: &'a [Field], key: &str) -> Option<&'a Field> {
    fields.iter().find(|f| f.key == key && f.kind == FieldType::File)
}

fn field_problem(field: &str, message: &str) -> Problem {
    Problem::invalid(vec![FieldError::new(field, message)])
}

/// A JSON error inside the `answers` part names that part.
fn renamed(mut problem: Problem, part: &str) -> Problem {
    for error in &mut problem.errors {
        error.field = format!("{part}.{}", error.field).trim_end_matches('.').to_owned();
    }
    problem
}

/// A part that broke off: the client went away, or the body was cut.
fn broken(err: MultipartError) -> Problem {
    if err.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
        return Problem::payload_too_large("The request body is larger than this endpoint accepts.");
    }
    Problem::bad_request(format!("The multipart body could not be read: {}", err.body_text()))
}

async fn read_text(mut part: Part<'_>, name: &str, max: u64) -> Result<String, Problem> {
    let mut bytes = Vec::new();
    while let Some(chunk) = part.chunk().await.map_err(broken)? {
        if (bytes.len() + chunk.len()) as u64 > max {
            return Err(Problem::payload_too_large(format!("The part {name:?} is too large.")));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| field_problem(name, "This part is not UTF-8 text."))
}

/// Reads the first bytes of a file part (enough to sniff its type), then
/// hands it to [`Uploads::store`], which streams the rest.
async fn store_file(
    state: &FormsState,
    form: &StoredForm,
    field: &Field,
    mut part: Part<'_>,
    uploads: &mut Uploads,
) -> Result<(), Problem> {
    let declared_name = part.file_name().unwrap_or_default().to_owned();
    let mut head = Vec::new();
    while head.len() < SNIFF_LEN {
        match part.chunk().await.map_err(broken)? {
            Some(chunk) => head.extend_from_slice(&chunk),
            None => break,
        }
    }
    // A file input left empty sends a part with no name and no bytes.
    if head.is_empty() && declared_name.is_empty() {
        return Ok(());
    }
    let rest = stream::unfold(part, |mut part| async move {
        part.chunk().await.transpose().map(|r| (r, part))
    });
    let limit = state.core.settings.limits.max_upload_bytes;
    Ok(uploads.store(form.id, field, &declared_name, head, rest, limit).await?)
}
