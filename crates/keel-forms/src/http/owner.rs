//! `/api/forms` and `/api/forms/{id}`: the owner's forms. Authorization is
//! in the repository (every query names the owner): another user's form is
//! 404. PATCH changes only the members it names, then the whole definition
//! is validated again.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use keel::accounts::CurrentUser;
use keel::http::extract::{ApiJson, ApiPath, ApiQuery};
use keel::Problem;
use serde::Deserialize;
use uuid::Uuid;

use super::bodies::{FormPage, OwnerForm};
use super::FormsState;
use crate::domain::{FormDefinition, FormInput, FormPatch};
use crate::repo::{self, forms, media, published};
use crate::FormsError;

pub(super) fn router(state: FormsState) -> Router {
    Router::new()
        .route("/api/forms", get(list_forms).post(create_form))
        .route("/api/forms/{id}", get(get_form).patch(update_form).delete(delete_form))
        .with_state(state)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PageQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1 to 100 (clamped); 50 when absent.
    limit: Option<i64>,
}

impl PageQuery {
    /// The keyset position and page size; a foreign cursor is a 400.
    pub(super) fn parse(&self) -> Result<(Option<i64>, i64), Problem> {
        let before = match &self.cursor {
            Some(c) => Some(repo::decode_cursor(c).ok_or_else(|| Problem::bad_request("The cursor is not valid."))?),
            None => None,
        };
        Ok((before, self.limit.unwrap_or(50).clamp(1, 100)))
    }
}

fn webhook_policy(state: &FormsState) -> impl Fn(&str) -> Result<String, String> + '_ {
    |url| keel::outbox::validate_webhook_url(url, &state.core.settings).map(|u| u.to_string())
}

/// The secret of a form's webhook deliveries: the `current` one while
/// the form keeps a webhook, a new one when it gets one, none without.
fn webhook_secret(def: &FormDefinition, current: Option<String>) -> Option<String> {
    def.webhook_url.as_ref()?;
    Some(current.unwrap_or_else(keel::settings::secret::generate_key))
}

#[utoipa::path(
    get,
    path = "/api/forms",
    tag = "forms",
    summary = "The owner's forms",
    params(PageQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "A page of forms, newest first.", body = FormPage),
        (status = 401, response = keel::http::openapi::Unauthorized),
        keel::http::openapi::SiteErrors,
    )
)]
async fn list_forms(
    State(state): State<FormsState>,
    user: CurrentUser,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<FormPage>, Problem> {
    let (before, limit) = page.parse()?;
    let (items, next) = forms::list_for_owner(&state.core.db, user.user.id, before, limit).await?;
    Ok(Json(FormPage::new(items, next.map(repo::encode_cursor))))
}

#[utoipa::path(
    post,
    path = "/api/forms",
    tag = "forms",
    summary = "Create a form",
    description = "The definition is validated as a whole; each invalid member is one entry of the 422's `errors`.",
    request_body = FormInput,
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "The new form.", body = OwnerForm),
        (status = 401, response = keel::http::openapi::Unauthorized),
        (status = 403, response = keel::http::openapi::Forbidden),
        keel::http::openapi::JsonBodyErrors,
        keel::http::openapi::SiteErrors,
    )
)]
async fn create_form(
    State(state): State<FormsState>,
    user: CurrentUser,
    ApiJson(input): ApiJson<FormInput>,
) -> Result<Response, Problem> {
    let def = FormDefinition::parse(input, webhook_policy(&state)).map_err(FormsError::InvalidDefinition)?;
    let secret = webhook_secret(&def, None);
    let form = forms::insert(&state.core.db, user.user.id, &def, secret.as_deref()).await?;
    tracing::info!(form.id = %form.id, "form created");
    Ok((StatusCode::CREATED, Json(OwnerForm::from(form))).into_response())
}

#[utoipa::path(
    get,
    path = "/api/forms/{id}",
    tag = "forms",
    summary = "One of the owner's forms",
    params(("id" = uuid::Uuid, Path, description = "The form's id.")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The form.", body = OwnerForm),
        (status = 401, response = keel::http::openapi::Unauthorized),
        (status = 404, response = keel::http::openapi::NotFound),
        keel::http::openapi::SiteErrors,
    )
)]
async fn get_form(
    State(state): State<FormsState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<OwnerForm>, Problem> {
    let form = forms::get_for_owner(&state.core.db, user.user.id, id)
        .await?
        .ok_or(FormsError::NotFound)?;
    Ok(Json(form.into()))
}

#[utoipa::path(
    patch,
    path = "/api/forms/{id}",
    tag = "forms",
    summary = "Change a form",
    description = "Changes only the members given, then validates the whole definition again.",
    params(("id" = uuid::Uuid, Path, description = "The form's id.")),
    request_body = FormPatch,
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The changed form.", body = OwnerForm),
        (status = 401, response = keel::http::openapi::Unauthorized),
        (status = 403, response = keel::http::openapi::Forbidden),
        (status = 404, response = keel::http::openapi::NotFound),
        keel::http::openapi::JsonBodyErrors,
        keel::http::openapi::SiteErrors,
    )
)]
async fn update_form(
    State(state): State<FormsState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<FormPatch>,
) -> Result<Json<OwnerForm>, Problem> {
    let db = &state.core.db;
    let stored = forms::get_for_owner(db, user.user.id, id)
        .await?
        .ok_or(FormsError::NotFound)?;
    let def = FormDefinition::parse(patch.apply(&stored.definition), webhook_policy(&state))
        .map_err(FormsError::InvalidDefinition)?;
    let secret = webhook_secret(&def, stored.webhook_secret);
    let form = forms::update(db, user.user.id, id, &def, secret.as_deref())
        .await?
        .ok_or(FormsError::NotFound)?;
    let version = u64::try_from(form.version).unwrap_or(0);
    published::forget(&state.core.cache, &stored.slug, version).await;
    Ok(Json(form.into()))
}

#[utoipa::path(
    delete,
    path = "/api/forms/{id}",
    tag = "forms",
    summary = "Delete a form",
    description = "Deletes the form and its responses.",
    params(("id" = uuid::Uuid, Path, description = "The form's id.")),
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = keel::http::openapi::Unauthorized),
        (status = 403, response = keel::http::openapi::Forbidden),
        (status = 404, response = keel::http::openapi::NotFound),
        keel::http::openapi::SiteErrors,
    )
)]
async fn delete_form(
    State(state): State<FormsState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, Problem> {
    let slug = forms::delete(&state.core.db, user.user.id, id)
        .await?
        .ok_or(FormsError::NotFound)?;
    // A deleted form has no later version: nothing older may be cached.
    published::forget(&state.core.cache, &slug, u64::MAX).await;
    media::delete_form_files(&state.core.media, id).await;
    tracing::info!(form.slug = %slug, "form deleted");
    Ok(StatusCode::NO_CONTENT)
}
