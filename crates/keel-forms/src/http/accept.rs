//! `POST /api/public/forms/{slug}/responses`: a submission to a published
//! form, as JSON or as multipart with files (see `multipart`).
//!
//! Like the fetch, it carries no cookies and no CSRF token, so forms can be
//! embedded on other sites. Instead it must bring the submission token of
//! the fetch ([`crate::token`]), and it is rate-limited per client address
//! and form. It is counted against the limit only once well formed and
//! with a valid token. Accepting it (honeypot, answers, the transaction)
//! is [`crate::submissions`]'s; this only reads it and answers.

use std::net::IpAddr;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use keel::http::extract::{is_json, is_multipart, parse_json, read_body_within, ApiPath};
use keel::security::client_ip::ClientIp;
use keel::{FieldError, Problem};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use super::bodies::SubmissionCreated;
use super::embed::allow_embedding;
use super::{multipart, FormsState};
use crate::domain::FormSlug;
use crate::repo::forms::StoredForm;
use crate::repo::published;
use crate::submissions::{self, Entry, Uploads};
use crate::{token, FormsError};

pub(super) fn router(state: FormsState) -> Router {
    let limit = DefaultBodyLimit::max(multipart::route_limit(&state.core.settings.limits));
    Router::new()
        .route("/api/public/forms/{slug}/responses", post(submit_response).layer(limit))
        .with_state(state)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Submission {
    /// The token of the public form fetch.
    submission_token: String,
    /// Answers by field key, validated against the form's fields.
    #[serde(default)]
    #[schema(value_type = Object)]
    answers: Map<String, Value>,
    /// The honeypot: leave it out or empty. A non-empty one is answered 201 and nothing is stored.
    #[serde(default, rename = "_hp")]
    honeypot: Option<String>,
}

/// A submission with files, as `multipart/form-data`: the parts
/// `submission_token`, `answers` (the JSON object of the non-file answers),
/// an optional honeypot `_hp`, and one part per file, named by its field's key.
enum MultipartSubmission {}

impl PartialSchema for MultipartSubmission {
    fn schema() -> RefOr<Schema> {
        let file = ObjectBuilder::new()
            .schema_type(Type::String)
            .content_media_type("application/octet-stream")
            .description(Some("A file of the file field whose key names the part."));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "The parts of a submission with files. A file over KEEL_MAX_UPLOAD_BYTES, or a body over the \
                 form's limit (its max_files uploads plus 1 MiB), is 413; a file its field's `accept` refuses is 422.",
            ))
            .property("submission_token", ObjectBuilder::new().schema_type(Type::String))
            .required("submission_token")
            .property(
                "answers",
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .description(Some("The non-file answers by field key, as a JSON part.")),
            )
            .property(
                "_hp",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("The honeypot: leave it out or empty.")),
            )
            .additional_properties(Some(file))
            .into()
    }
}

impl ToSchema for MultipartSubmission {}

#[utoipa::path(
    post,
    path = "/api/public/forms/{slug}/responses",
    tag = "public",
    summary = "Submit a response",
    description = "No cookies and no CSRF token: protected by the signed submission token, a honeypot and a rate limit \
        per client address and form (KEEL_SUBMISSION_RATE). 201 only after the response is durably stored.",
    params(("slug" = String, Path, description = "The form's public slug.")),
    request_body(content(
        (Submission = "application/json"),
        (MultipartSubmission = "multipart/form-data"),
    )),
    responses(
        (status = 201, description = "Stored.", body = SubmissionCreated),
        (status = 403, response = keel::http::openapi::Forbidden),
        (status = 404, response = keel::http::openapi::NotFound),
        (status = 409, response = keel::http::openapi::Conflict),
        (status = 429, response = keel::http::openapi::TooManyRequests),
        keel::http::openapi::JsonBodyErrors,
        keel::http::openapi::SiteErrors,
    )
)]
async fn submit_response(
    State(state): State<FormsState>,
    ApiPath(slug): ApiPath<String>,
    ClientIp(address): ClientIp,
    request: Request,
) -> Result<Response, Problem> {
    let result = receive(&state, &slug, address, request).await;
    count(&result);
    result.map(|(response, _)| response)
}

/// `keel_submissions_total` by outcome and reason.
fn count(result: &Result<(Response, Stored), Problem>) {
    let (outcome, reason) = match result {
        Ok((_, Stored::Yes)) => ("accepted", "none"),
        Ok((_, Stored::Honeypot)) => ("rejected", "honeypot"),
        Err(problem) => (
            "rejected",
            match problem.status.as_u16() {
                429 => "rate_limit",
                409 => "closed",
                403 => "token",
                404 => "not_found",
                413 => "too_large",
                400 | 415 | 422 => "validation",
                _ => "error",
            },
        ),
    };
    metrics::counter!("keel_submissions_total", "outcome" => outcome, "reason" => reason).increment(1);
}

/// Whether an answered submission was stored.
enum Stored {
    Yes,
    Honeypot,
}

async fn receive(
    state: &FormsState,
    slug: &str,
    address: IpAddr,
    request: Request,
) -> Result<(Response, Stored), Problem> {
    let slug = FormSlug::parse(slug).ok_or(FormsError::NotFound)?;
    let origin = request.headers().get(header::ORIGIN).cloned();
    let cached = published::load(&state.core.db, &state.core.cache, &slug)
        .await?
        .ok_or(FormsError::NotFound)?;
    let form = submissions::with_secret(&state.core.db, &cached.form).await?;
    let uploads = Uploads::new(state.core.media.clone(), Uuid::new_v4());
    let (submission, uploads) = read_submission(state, &form, request, uploads).await?;
    if let Err(problem) = admit(state, &submission.submission_token, form.id, address).await {
        uploads.discard().await;
        return Err(problem);
    }
    let entry = Entry {
        answers: submission.answers,
        honeypot: submission.honeypot,
    };
    let stored = if entry.is_bot() { Stored::Honeypot } else { Stored::Yes };
    let id = submissions::accept(&state.core, &form, entry, uploads).await?;
    let mut response = (StatusCode::CREATED, Json(SubmissionCreated { id })).into_response();
    allow_embedding(&mut response, &form.definition.embed_origins, origin.as_ref());
    Ok((response, stored))
}

/// Checks the token, then spends one of the budget of `address` for this
/// form. Only a well-formed submission with a valid token spends it: behind
/// a proxy many visitors share an address, and one visitor's junk must not
/// use up the others'.
async fn admit(state: &FormsState, token: &str, form_id: Uuid, address: IpAddr) -> Result<(), Problem> {
    token::verify(&state.core, token, form_id)?;
    let subject = format!("{address}:{form_id}");
    (state.submissions.hit(&subject).await).map_err(|retry| Problem::too_many_requests(retry.0))
}

/// The submission as JSON (within `KEEL_MAX_BODY_BYTES`), or as multipart
/// with its files streamed into the media store (see `multipart`).
async fn read_submission(
    state: &FormsState,
    form: &StoredForm,
    request: Request,
    uploads: Uploads,
) -> Result<(Submission, Uploads), Problem> {
    if is_multipart(&request) {
        if !form.definition.accepting_responses {
            return Err(FormsError::FormClosed.into());
        }
        let (parts, uploads) = multipart::receive(state, form, request, uploads).await?;
        let Some(submission_token) = parts.token else {
            uploads.discard().await;
            let missing = FieldError::new("submission_token", "missing part `submission_token`");
            return Err(Problem::invalid(vec![missing]));
        };
        let submission = Submission {
            submission_token,
            answers: parts.answers,
            honeypot: parts.honeypot,
        };
        return Ok((submission, uploads));
    }
    if !is_json(&request) {
        let expected = "Submit application/json or multipart/form-data.";
        return Err(Problem::unsupported_media_type(expected));
    }
    let body = read_body_within(request, state.core.settings.limits.max_body_bytes).await?;
    Ok((parse_json(&body)?, uploads))
}
