//! A form's responses for its owner: cursor pages, and the CSV export
//! (made by [`crate::export`], streamed as it is read).

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use keel::accounts::CurrentUser;
use keel::http::extract::{ApiPath, ApiQuery};
use keel::Problem;

use super::bodies::ResponsePage;
use super::owner::PageQuery;
use super::FormsState;
use crate::export;
use crate::repo::{self, files, forms, responses};
use crate::FormsError;

pub(super) fn router(state: FormsState) -> Router {
    Router::new()
        .route("/api/forms/{id}/responses", get(list_responses))
        .route("/api/forms/{id}/responses.csv", get(export_responses_csv))
        .with_state(state)
}

#[utoipa::path(
    get,
    path = "/api/forms/{id}/responses",
    tag = "responses",
    summary = "A form's responses",
    params(("id" = uuid::Uuid, Path, description = "The form's id."), super::owner::PageQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "A page of responses, newest first.", body = ResponsePage),
        (status = 400, response = keel::http::openapi::BadRequest),
        (status = 401, response = keel::http::openapi::Unauthorized),
        (status = 404, response = keel::http::openapi::NotFound),
        keel::http::openapi::SiteErrors,
    )
)]
async fn list_responses(
    State(state): State<FormsState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ResponsePage>, Problem> {
    let (before, limit) = page.parse()?;
    let form = forms::get_for_owner(&state.core.db, user.user.id, id)
        .await?
        .ok_or(FormsError::NotFound)?;
    let (items, next) = responses::page(&state.core.db, form.id, before, limit).await?;
    let ids: Vec<_> = items.iter().map(|r| r.id).collect();
    let files = files::for_responses(&state.core.db, &ids).await?;
    Ok(Json(ResponsePage::new(items, files, next.map(repo::encode_cursor))))
}

#[utoipa::path(
    get,
    path = "/api/forms/{id}/responses.csv",
    tag = "responses",
    summary = "A form's responses as CSV",
    description = "Streamed. Columns `response_id`, `created_at`, then one per field in form order headed by its label; \
        every cell, labels included, is quoted and neutralised against spreadsheet formulas \
        (prefixed with `'` when a formula trigger starts it or follows a `,` `;` tab or line break).",
    params(("id" = uuid::Uuid, Path, description = "The form's id.")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The CSV file, as an attachment.", body = String, content_type = "text/csv",
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"responses-<slug>.csv\"`"))),
        (status = 401, response = keel::http::openapi::Unauthorized),
        (status = 404, response = keel::http::openapi::NotFound),
        keel::http::openapi::SiteErrors,
    )
)]
async fn export_responses_csv(
    State(state): State<FormsState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Response, Problem> {
    let form = forms::get_for_owner(&state.core.db, user.user.id, id)
        .await?
        .ok_or(FormsError::NotFound)?;
    let disposition = format!("attachment; filename=\"{}\"", export::file_name(&form));
    let body = Body::from_stream(export::responses_csv(state.core.db.clone(), &form));
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    Ok((headers, body).into_response())
}
