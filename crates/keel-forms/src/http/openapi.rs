//! The forms app's part of the OpenAPI document: its operations (from the
//! handlers' `#[utoipa::path]`), its schemas (from the body types of
//! `bodies` and the domain's inputs, which the handlers really send and
//! take) and its tags. The core merges it with its own part through
//! `App::openapi` and serves the whole at `GET /api/openapi.json`; the
//! error responses named here (`keel::http::openapi::NotFound`, ...) and
//! the `Problem` schema are the core's.
//! The two schemas no Rust value holds are next to their operations: a
//! multipart submission in `accept`, a downloaded file's bytes in `files`.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::home,
        super::owner::list_forms,
        super::owner::create_form,
        super::owner::get_form,
        super::owner::update_form,
        super::owner::delete_form,
        super::responses::list_responses,
        super::responses::export_responses_csv,
        super::files::download_file,
        super::public::get_public_form,
        super::accept::submit_response,
    ),
    tags(
        (name = "ui", description = "The built-in user interface."),
        (name = "forms", description = "The owner's forms (session cookie; CSRF on unsafe methods). Another user's form is 404."),
        (name = "responses", description = "A form's responses, for its owner: cursor pages and CSV."),
        (name = "public", description = "Published forms and submissions: no cookies, embeddable on other sites."),
    )
)]
struct FormsApi;

/// The app's part of the document.
pub(crate) fn document() -> utoipa::openapi::OpenApi {
    FormsApi::openapi()
}
