//! `GET /api/forms/{id}/responses/{rid}/files/{fid}`: an uploaded file, for
//! the form's owner only (the query names the owner, so another user's
//! file is 404 like everything else of theirs). The answer itself (an
//! attachment, `nosniff`, a sandbox CSP, Range, or `X-Accel-Redirect`
//! behind nginx) is the core's `keel::storage::download`.

use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use keel::accounts::CurrentUser;
use keel::http::extract::ApiPath;
use keel::storage::download::{self, Download};
use keel::storage::ObjectKey;
use keel::Problem;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use super::FormsState;
use crate::repo::files;
use crate::FormsError;

pub(super) fn router(state: FormsState) -> Router {
    Router::new()
        .route("/api/forms/{id}/responses/{rid}/files/{fid}", get(download_file))
        .with_state(state)
}

/// The bytes of a downloaded file.
enum FileBytes {}

impl PartialSchema for FileBytes {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .content_media_type("application/octet-stream")
            .into()
    }
}

impl ToSchema for FileBytes {}

#[utoipa::path(
    get,
    path = "/api/forms/{id}/responses/{rid}/files/{fid}",
    tag = "responses",
    summary = "An uploaded file",
    description = "Always an attachment with `nosniff` and a sandboxing CSP; markup types are sent as \
        application/octet-stream. A single byte `Range` gets 206. HEAD answers the headers only.",
    params(
        ("id" = uuid::Uuid, Path, description = "The form's id."),
        ("rid" = uuid::Uuid, Path, description = "The response's id."),
        ("fid" = uuid::Uuid, Path, description = "The file's id (`files[].id` of the response)."),
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "The file.", content_type = "*/*", body = FileBytes,
            headers(("Content-Disposition" = String, description = "`attachment` with the sanitised original name."))),
        (status = 206, description = "The requested byte range of the file.", content_type = "*/*",
            body = FileBytes,
            headers(("Content-Range" = String, description = "`bytes first-last/size`."))),
        (status = 401, response = keel::http::openapi::Unauthorized),
        (status = 404, response = keel::http::openapi::NotFound),
        (status = 416, response = keel::http::openapi::RangeNotSatisfiable),
        keel::http::openapi::SiteErrors,
    )
)]
async fn download_file(
    State(state): State<FormsState>,
    user: CurrentUser,
    ApiPath((id, rid, fid)): ApiPath<(Uuid, Uuid, Uuid)>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let file = files::get_for_owner(&state.core.db, user.user.id, id, rid, fid)
        .await?
        .ok_or(FormsError::NotFound)?;
    let key = ObjectKey::parse(&file.storage_key)
        .ok_or_else(|| FormsError::Corrupt(format!("the storage key of file {}", file.id)))?;
    let wanted = Download {
        key: &key,
        name: &file.name,
        content_type: &file.content_type,
    };
    let accel = state.core.settings.files.media_accel_redirect.as_deref();
    Ok(download::respond(&state.core.media, wanted, &method, &headers, accel).await?)
}
