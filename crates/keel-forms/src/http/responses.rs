//! A form's responses for its owner: cursor pages, and the CSV export,
//! streamed in batches so memory stays flat however many responses there
//! are.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::stream;
use keel::accounts::CurrentUser;
use keel::http::extract::{ApiPath, ApiQuery};
use keel::Problem;
use serde_json::json;

use super::owner::PageQuery;
use super::{view, FormsState};
use crate::csv::{self, plain};
use crate::domain::Field;
use crate::repo::{self, files, forms, responses};
use crate::FormsError;

/// Rows fetched per round trip of the export.
const EXPORT_BATCH: i64 = 500;

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
        (status = 200, description = "A page of responses, newest first.", body = crate::openapi::ResponsePage),
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
) -> Result<Json<serde_json::Value>, Problem> {
    let (before, limit) = page.parse()?;
    let form = forms::get_for_owner(&state.core.db, user.user.id, id)
        .await?
        .ok_or(FormsError::NotFound)?;
    let (items, next) = responses::page(&state.core.db, form.id, before, limit).await?;
    let ids: Vec<_> = items.iter().map(|r| r.id).collect();
    let files = files::for_responses(&state.core.db, &ids).await?;
    let items: Vec<_> = items
        .iter()
        .map(|r| view::response(r, files.get(&r.id).map(Vec::as_slice).unwrap_or_default()))
        .collect();
    Ok(Json(
        json!({ "items": items, "next_cursor": next.map(repo::encode_cursor) }),
    ))
}

fn header_line(fields: &[Field]) -> Vec<u8> {
    let mut cells = vec!["response_id".to_owned(), "created_at".to_owned()];
    cells.extend(fields.iter().map(|f| f.label.clone()));
    csv::line(cells)
}

fn rows(fields: &[Field], batch: &[responses::StoredResponse]) -> Bytes {
    let mut out = Vec::new();
    for r in batch {
        let mut cells = vec![r.id.to_string(), r.created_at.to_rfc3339()];
        cells.extend(
            fields
                .iter()
                .map(|f| r.answers.get(&f.key).map(plain).unwrap_or_default()),
        );
        out.extend(csv::line(cells));
    }
    Bytes::from(out)
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
    let fields = form.definition.fields.clone();
    let head = Bytes::from(header_line(&fields));
    let db = state.core.db.clone();
    let form_id = form.id;
    // Keyset batches: (last seq, finished).
    let body = stream::unfold((0_i64, false), move |(after, done)| {
        let db = db.clone();
        let fields = fields.clone();
        async move {
            if done {
                return None;
            }
            match responses::batch_after(&db, form_id, after, EXPORT_BATCH).await {
                Ok(batch) if batch.is_empty() => None,
                Ok(batch) => {
                    let last = batch.last().map_or(after, |r| r.seq);
                    let finished = (batch.len() as i64) < EXPORT_BATCH;
                    Some((Ok::<_, std::io::Error>(rows(&fields, &batch)), (last, finished)))
                }
                Err(err) => {
                    tracing::error!(error = %err, "CSV export failed mid-stream");
                    Some((Err(std::io::Error::other("export failed")), (after, true)))
                }
            }
        }
    });
    let stream = stream::iter([Ok::<_, std::io::Error>(head)]).chain(body);
    let filename = format!("attachment; filename=\"responses-{}.csv\"", form.slug);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

use futures_util::StreamExt as _;
