//! The forms app's part of the OpenAPI document: its operations (from the
//! handlers' `#[utoipa::path]`), its schemas (from the body types of
//! `bodies` and the domain's inputs, which the handlers really send and
//! take) and its tags. The core merges it with its own part through
//! `App::openapi` and serves the whole at `GET /api/openapi.json`; the
//! error responses named here (`keel::http::openapi::NotFound`, ...) and
//! the `Problem` schema are the core's.
//!
//! Also the two schemas no Rust value holds: a multipart submission and a
//! downloaded file's bytes.

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{OpenApi, PartialSchema, ToSchema};

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

/// A submission with files, as `multipart/form-data`: the parts
/// `submission_token`, `answers` (the JSON object of the non-file answers),
/// an optional honeypot `_hp`, and one part per file, named by its field's key.
pub(super) enum MultipartSubmission {}

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

/// The bytes of a downloaded file.
pub(super) enum FileBytes {}

impl PartialSchema for FileBytes {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .content_media_type("application/octet-stream")
            .into()
    }
}

impl ToSchema for FileBytes {}
