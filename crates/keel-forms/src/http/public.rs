//! The public endpoints: fetching a published form and submitting to it.
//!
//! They carry no cookies and no CSRF token, so forms can be embedded on
//! other sites. Instead the fetch hands out a submission token signed with
//! the secret key and bound to the form (reusable for
//! `KEEL_SUBMISSION_TOKEN_AGE`), the submission must carry it, a non-empty
//! honeypot member `_hp` is answered like a success with nothing stored,
//! and submissions are rate-limited per client address and form. CORS is
//! without credentials and only for the form's `embed_origins`.
//!
//! The public form is served from the cache (memory or Redis), versioned by
//! the form's `version` column: an update or delete marks the new version
//! for every instance sharing the cache, and a fetch that read the form
//! before the change cannot put it back (see `keel::cache`'s versioned
//! entries). A form whose public JSON is over `MAX_CACHED_BYTES` is not
//! cached. Submissions are stored only while the form is at the version
//! they were checked against (see `accept`). Submissions are counted
//! against the rate limit only once well formed and with a valid token.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use keel::cache::HeapSize;
use keel::http::extract::{is_json, is_multipart, parse_json, read_body_within, ApiPath};
use keel::security::client_ip::ClientIp;
use keel::{FieldError, Problem};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::accept::{accept, form_closed, Entry};
use super::uploads::Uploads;
use super::{multipart, view, FormsState};
use crate::domain::FormSlug;
use crate::repo::forms::{self, StoredForm};
use crate::FormsError;

const TOKEN_SALT: &str = "keel.forms.submission";
/// How long a public form stays cached when nothing invalidates it.
const CACHE_TTL: Duration = Duration::from_secs(300);
/// A form whose public JSON is larger is served from the database and not
/// cached: a few forms near the body limit (1 MiB) would otherwise fill the
/// memory cache and the decoded-value memo, pushing everything else out.
const MAX_CACHED_BYTES: usize = 256 << 10;

pub(super) fn router(state: FormsState) -> Router {
    let limit = DefaultBodyLimit::max(multipart::route_limit(&state.core.settings.limits));
    Router::new()
        .route("/api/public/forms/{slug}", get(get_public_form))
        .route("/api/public/forms/{slug}/responses", post(submit_response).layer(limit))
        .with_state(state)
}

pub(crate) fn cache_key(slug: &str) -> String {
    format!("forms:public:{slug}")
}

/// What the cache holds for a slug: the form, without its webhook secret,
/// and its public JSON, ready to send. Neither the fetch nor a submission
/// reads the form from the database while it is cached (a submission's
/// insert checks its version), and each instance decodes an entry once
/// ([`keel::cache::Cache::get_versioned`]).
#[derive(Serialize, Deserialize)]
pub(super) struct CachedForm {
    form: StoredForm,
    public: Box<RawValue>,
}

impl CachedForm {
    fn from_stored(mut form: StoredForm) -> Option<Self> {
        form.webhook_secret = None;
        let public = serde_json::to_string(&view::PublicForm::of(&form)).ok()?;
        let public = RawValue::from_string(public).ok()?;
        Some(Self { form, public })
    }
}

impl HeapSize for CachedForm {
    fn heap_size(&self) -> usize {
        self.form.heap_size() + self.public.get().len()
    }
}

/// The form of `slug`, from the cache, or else from the database (and then
/// cached).
async fn load_cached(state: &FormsState, slug: &FormSlug) -> Result<Option<Arc<CachedForm>>, Problem> {
    let key = cache_key(slug.as_str());
    if let Ok(Some((_, cached))) = state.core.cache.get_versioned::<CachedForm>(&key).await {
        return Ok(Some(cached));
    }
    let Some(form) = forms::get_by_slug(&state.core.db, slug).await? else {
        return Ok(None);
    };
    Ok(Some(remember(state, form).await.ok_or_else(Problem::internal)?))
}

/// Caches `form` as read from the database, unless the cache already holds
/// it at its version or newer, or a change to a newer version marked it
/// (so a read that raced an update cannot put the old form back), or its
/// public JSON is over [`MAX_CACHED_BYTES`].
pub(super) async fn remember(state: &FormsState, form: StoredForm) -> Option<Arc<CachedForm>> {
    let cached = CachedForm::from_stored(form)?;
    if cached.public.get().len() > MAX_CACHED_BYTES {
        return Some(Arc::new(cached));
    }
    let key = cache_key(&cached.form.slug);
    let version = u64::try_from(cached.form.version).unwrap_or(0);
    let stored = match serde_json::to_vec(&cached) {
        Ok(bytes) => state.core.cache.set_if_newer(&key, version, &bytes, CACHE_TTL).await,
        Err(err) => Err(err.into()),
    };
    match stored {
        // The cache being away is logged once, by its breaker.
        Err(err) if !err.is_outage() => tracing::warn!(error = %err, "could not cache a public form"),
        _ => {}
    }
    Some(Arc::new(cached))
}

/// After a change to `version` (or a deletion, `u64::MAX`): every
/// instance sharing the cache drops the form, and no value older than
/// `version` can be cached for [`CACHE_TTL`].
pub(super) async fn forget(state: &FormsState, slug: &str, version: u64) {
    if let Err(err) = state
        .core
        .cache
        .mark_version(&cache_key(slug), version, CACHE_TTL)
        .await
    {
        // An outage's invalidations are replayed when the cache is back.
        tracing::warn!(error = %err, "could not invalidate a cached form now");
    }
}

/// CORS for the form's embedding origins (no credentials) and the
/// cross-origin resource policy of embeddable endpoints.
fn public_headers(response: &mut Response, origins: &[String], request_origin: Option<&HeaderValue>) {
    let headers = response.headers_mut();
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = request_origin {
        let allowed = origin
            .to_str()
            .is_ok_and(|o| origins.iter().any(|allowed| allowed == o));
        if allowed {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        }
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[utoipa::path(
    get,
    path = "/api/public/forms/{slug}",
    tag = "public",
    summary = "A published form",
    description = "No cookies needed; CORS for the form's `embed_origins`, without credentials. \
        Carries a signed submission token for this form.",
    params(("slug" = String, Path, description = "The form's public slug.")),
    responses(
        (status = 200, description = "The form and a submission token.", body = crate::openapi::PublicForm),
        (status = 404, response = keel::http::openapi::NotFound),
        keel::http::openapi::SiteErrors,
    )
)]
async fn get_public_form(
    State(state): State<FormsState>,
    ApiPath(slug): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let slug = FormSlug::parse(&slug).ok_or(FormsError::NotFound)?;
    let cached = load_cached(&state, &slug).await?.ok_or(FormsError::NotFound)?;
    let token = state
        .core
        .signer
        .sign_timestamped(TOKEN_SALT, &cached.form.id.to_string(), now());
    // Splice the token into the cached JSON object instead of re-encoding it.
    let public = cached.public.get();
    let body = format!("{{\"submission_token\":\"{token}\",{}", &public[1..]);
    let mut response = ([(header::CONTENT_TYPE, "application/json")], Body::from(body)).into_response();
    public_headers(
        &mut response,
        &cached.form.definition.embed_origins,
        headers.get(header::ORIGIN),
    );
    Ok(response)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
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

pub(super) fn check_token(state: &FormsState, token: &str, form_id: Uuid) -> Result<(), Problem> {
    let age = i64::try_from(state.core.settings.security.submission_token_age.as_secs()).unwrap_or(i64::MAX);
    match state.core.signer.unsign_timestamped(TOKEN_SALT, token, age, now()) {
        Ok(id) if id == form_id.to_string() => Ok(()),
        Err(keel::security::signing::SignatureError::Expired) => Err(FormsError::TokenExpired.into()),
        _ => Err(FormsError::TokenInvalid.into()),
    }
}

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
        (crate::openapi::MultipartSubmission = "multipart/form-data"),
    )),
    responses(
        (status = 201, description = "Stored.", body = crate::openapi::SubmissionCreated),
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
    let slug = FormSlug::parse(&slug).ok_or(FormsError::NotFound)?;
    let origin = request.headers().get(header::ORIGIN).cloned();
    let cached = load_cached(&state, &slug).await?.ok_or(FormsError::NotFound)?;
    let with_secret;
    let form = if cached.form.definition.webhook_url.is_some() {
        // The cache never holds secrets: read it when a delivery needs it.
        with_secret = StoredForm {
            webhook_secret: forms::webhook_secret(&state.core.db, cached.form.id).await?,
            ..cached.form.clone()
        };
        &with_secret
    } else {
        &cached.form
    };
    let uploads = Uploads::new(state.core.media.clone(), Uuid::new_v4());
    let (submission, uploads) = read_submission(&state, form, request, uploads).await?;
    // Only a well-formed submission with a valid token spends the budget:
    // behind a proxy many visitors share an address, and one visitor's
    // junk must not use up the others'.
    let subject = format!("{address}:{}", form.id);
    let admitted = match check_token(&state, &submission.submission_token, form.id) {
        Ok(()) => (state.submissions.hit(&subject).await).map_err(|retry| Problem::too_many_requests(retry.0)),
        Err(problem) => Err(problem),
    };
    if let Err(problem) = admitted {
        uploads.discard().await;
        return Err(problem);
    }
    let entry = Entry {
        answers: submission.answers,
        honeypot: submission.honeypot,
    };
    let mut response = accept(&state, form, entry, uploads).await?;
    public_headers(&mut response, &form.definition.embed_origins, origin.as_ref());
    Ok(response)
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
            return Err(form_closed());
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
