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
//! The public form is served from the cache (memory or Redis) and
//! invalidated on update and delete, for every instance sharing the cache.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use keel::http::extract::{is_json, parse_json, read_body};
use keel::outbox::{self, EmailMessage, OutboxMessage, WebhookMessage};
use keel::security::client_ip::ClientIp;
use keel::Problem;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{view, FormsState};
use crate::domain::{validate_answers, FormSlug};
use crate::error::answers_problem;
use crate::repo::forms::{self, StoredForm};
use crate::repo::responses;

const TOKEN_SALT: &str = "keel.forms.submission";
/// How long a public form stays cached when nothing invalidates it.
const CACHE_TTL: Duration = Duration::from_secs(300);

pub(super) fn router(state: FormsState) -> Router {
    Router::new()
        .route("/api/public/forms/{slug}", get(get_public_form))
        .route("/api/public/forms/{slug}/responses", post(submit_response))
        .with_state(state)
}

pub(crate) fn cache_key(slug: &str) -> String {
    format!("forms:public:{slug}")
}

/// What the cache holds for a slug: the public JSON, ready to send, and
/// what the handlers need besides.
#[derive(Serialize, Deserialize)]
struct CachedForm {
    id: Uuid,
    origins: Vec<String>,
    public: Box<RawValue>,
}

impl CachedForm {
    fn from_stored(form: &StoredForm) -> Option<Self> {
        Some(Self {
            id: form.id,
            origins: form.definition.embed_origins.clone(),
            public: RawValue::from_string(view::public_form(form).to_string()).ok()?,
        })
    }
}

async fn load_cached(state: &FormsState, slug: &FormSlug) -> Result<Option<CachedForm>, Problem> {
    let key = cache_key(slug.as_str());
    if let Ok(Some(cached)) = state.core.cache.get_json::<CachedForm>(&key).await {
        return Ok(Some(cached));
    }
    let Some(form) = forms::get_by_slug(&state.core.db, slug).await? else {
        return Ok(None);
    };
    let cached = CachedForm::from_stored(&form).ok_or_else(Problem::internal)?;
    if let Err(err) = state.core.cache.set_json(&key, &cached, CACHE_TTL).await {
        tracing::warn!(error = %err, "could not cache a public form");
    }
    Ok(Some(cached))
}

/// CORS for the form's embedding origins (no credentials) and the
/// cross-origin resource policy of embeddable endpoints.
fn public_headers(response: &mut Response, origins: &[String], request_origin: Option<&HeaderValue>) {
    let headers = response.headers_mut();
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = request_origin {
        let allowed = origin.to_str().is_ok_and(|o| origins.iter().any(|allowed| allowed == o));
        if allowed {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        }
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn get_public_form(State(state): State<FormsState>, Path(slug): Path<String>, headers: HeaderMap) -> Result<Response, Problem> {
    let slug = FormSlug::parse(&slug).ok_or_else(Problem::not_found)?;
    let cached = load_cached(&state, &slug).await?.ok_or_else(Problem::not_found)?;
    let token = state.core.signer.sign_timestamped(TOKEN_SALT, &cached.id.to_string(), now());
    // Splice the token into the cached JSON object instead of re-encoding it.
    let public = cached.public.get();
    let body = format!("{{\"submission_token\":\"{token}\",{}", &public[1..]);
    let mut response = ([(header::CONTENT_TYPE, "application/json")], Body::from(body)).into_response();
    public_headers(&mut response, &cached.origins, headers.get(header::ORIGIN));
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Submission {
    submission_token: String,
    #[serde(default)]
    answers: Map<String, Value>,
    #[serde(default, rename = "_hp")]
    honeypot: Option<String>,
}

fn check_token(state: &FormsState, token: &str, form_id: Uuid) -> Result<(), Problem> {
    let age = i64::try_from(state.core.settings.security.submission_token_age.as_secs()).unwrap_or(i64::MAX);
    match state.core.signer.unsign_timestamped(TOKEN_SALT, token, age, now()) {
        Ok(id) if id == form_id.to_string() => Ok(()),
        Err(keel::security::signing::SignatureError::Expired) => Err(Problem::forbidden(
            "submission-token-expired",
            "The submission token has expired; fetch the form again.",
        )),
        _ => Err(Problem::forbidden("submission-token-invalid", "The submission token is not valid for this form.")),
    }
}

async fn submit_response(
    State(state): State<FormsState>,
    Path(slug): Path<String>,
    ClientIp(address): ClientIp,
    request: Request,
) -> Result<Response, Problem> {
    let slug = FormSlug::parse(&slug).ok_or_else(Problem::not_found)?;
    let origin = request.headers().get(header::ORIGIN).cloned();
    let form = forms::get_by_slug(&state.core.db, &slug).await?.ok_or_else(Problem::not_found)?;
    let subject = format!("{address}:{}", form.id);
    if let Err(retry) = state.submissions.hit(&subject).await {
        return Err(Problem::too_many_requests(retry.0));
    }
    if !is_json(&request) {
        return Err(Problem::unsupported_media_type("Submit application/json."));
    }
    let submission: Submission = parse_json(&read_body(request).await?)?;
    let mut response = accept(&state, &form, submission).await?;
    public_headers(&mut response, &form.definition.embed_origins, origin.as_ref());
    Ok(response)
}

/// Checks and stores one submission; 201 only after the commit.
async fn accept(state: &FormsState, form: &StoredForm, submission: Submission) -> Result<Response, Problem> {
    if submission.honeypot.as_deref().is_some_and(|h| !h.is_empty()) {
        tracing::info!(form.id = %form.id, "honeypot submission dropped");
        return Ok(created(Uuid::new_v4()));
    }
    check_token(state, &submission.submission_token, form.id)?;
    if !form.definition.accepting_responses {
        return Err(Problem::conflict("form-closed", "This form is not accepting responses."));
    }
    let answers = validate_answers(&form.definition.fields, submission.answers, &Default::default()).map_err(answers_problem)?;
    let messages = side_effects(state, form, &answers).await?;
    let mut tx = state.core.db.begin().await?;
    let (id, created_at) = responses::insert(&mut tx, form.id, &answers).await?;
    for message in messages {
        outbox::enqueue(&mut tx, &message.finish(id, created_at)).await?;
    }
    tx.commit().await?;
    tracing::info!(form.id = %form.id, response.id = %id, "response stored");
    Ok(created(id))
}

fn created(id: Uuid) -> Response {
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

/// A side effect whose payload needs the response id.
enum Pending {
    Email { to: String, subject: String, text: String },
    Webhook { url: String, secret: String, payload: Value },
}

impl Pending {
    fn finish(self, id: Uuid, created_at: chrono::DateTime<chrono::Utc>) -> OutboxMessage {
        match self {
            Pending::Email { to, subject, text } => OutboxMessage::Email(EmailMessage {
                to: vec![to],
                subject,
                text: format!("{text}\nResponse id: {id}\n"),
            }),
            Pending::Webhook { url, secret, mut payload } => {
                payload["response"]["id"] = json!(id);
                payload["response"]["created_at"] = json!(created_at);
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

async fn side_effects(state: &FormsState, form: &StoredForm, answers: &Map<String, Value>) -> Result<Vec<Pending>, Problem> {
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
