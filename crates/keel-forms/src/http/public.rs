//! `GET /api/public/forms/{slug}`: a published form as anyone sees it,
//! with a submission token for it (see [`crate::token`]).
//!
//! It carries no cookies, so forms can be embedded on other sites (CORS
//! without credentials, for the form's `embed_origins` only: see `embed`).
//! The form comes from the cache while it is there (see
//! `repo::published`), with its fields encoded once, when it was cached.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use keel::http::extract::ApiPath;
use keel::Problem;

use super::bodies::PublicForm;
use super::embed::allow_embedding;
use super::FormsState;
use crate::domain::FormSlug;
use crate::repo::published;
use crate::{token, FormsError};

pub(super) fn router(state: FormsState) -> Router {
    Router::new()
        .route("/api/public/forms/{slug}", get(get_public_form))
        .with_state(state)
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
        (status = 200, description = "The form and a submission token.", body = PublicForm),
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
    let cached = published::load(&state.core.db, &state.core.cache, &slug)
        .await?
        .ok_or(FormsError::NotFound)?;
    let submission_token = token::issue(&state.core, cached.form.id);
    let mut response = Json(PublicForm::new(submission_token, &cached.public)).into_response();
    let origins = &cached.form.definition.embed_origins;
    allow_embedding(&mut response, origins, headers.get(header::ORIGIN));
    Ok(response)
}
