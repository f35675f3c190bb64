//! Schemas of the forms app's OpenAPI description that no Rust type has.
//!
//! The handlers build their response bodies with `serde_json::json!` (see
//! `http::view`); the structs here mirror those bodies member for member,
//! for the document only, and `http::openapi`'s tests check that the JSON
//! the handlers build has exactly the members listed here, so the two
//! cannot drift apart. Also the schema of a field's `min` and `max`, which
//! the domain keeps as raw JSON (a number, or a date for date fields).
//!
//! Nothing here is used at run time but to describe; it knows no handler.

#![expect(dead_code, reason = "schema-only types: their fields are never read or written")]

use chrono::{DateTime, Utc};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::Field;

/// A form as its owner sees it.
#[derive(ToSchema)]
pub(crate) struct Form {
    id: Uuid,
    /// The public, unguessable name of the form in URLs.
    slug: String,
    title: String,
    description: String,
    /// The fields, in form order.
    fields: Vec<Field>,
    accepting_responses: bool,
    notify_owner: bool,
    #[schema(required = true)]
    webhook_url: Option<String>,
    /// The key webhook deliveries are signed with (owner only); `null` without a webhook.
    #[schema(required = true)]
    webhook_secret: Option<String>,
    embed_origins: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A page of the owner's forms, newest first.
#[derive(ToSchema)]
pub(crate) struct FormPage {
    items: Vec<Form>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// A stored response.
#[derive(ToSchema)]
#[schema(as = FormResponse)]
pub(crate) struct FormResponse {
    id: Uuid,
    created_at: DateTime<Utc>,
    /// The normalized answers, by field key; unanswered optional fields are absent.
    #[schema(value_type = Object)]
    answers: serde_json::Map<String, serde_json::Value>,
    files: Vec<ResponseFile>,
}

/// A file uploaded with a response.
#[derive(ToSchema)]
pub(crate) struct ResponseFile {
    id: Uuid,
    /// The key of the file field.
    field: String,
    name: String,
    /// Bytes.
    size: u64,
    content_type: String,
}

/// A page of a form's responses, newest first.
#[derive(ToSchema)]
pub(crate) struct ResponsePage {
    items: Vec<FormResponse>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// A submission with files, as `multipart/form-data`: the parts
/// `submission_token`, `answers` (the JSON object of the non-file answers),
/// an optional honeypot `_hp`, and one part per file, named by its field's key.
pub(crate) struct MultipartSubmission;

impl utoipa::PartialSchema for MultipartSubmission {
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
pub(crate) struct FileBytes;

impl utoipa::PartialSchema for FileBytes {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .content_media_type("application/octet-stream")
            .into()
    }
}

impl ToSchema for FileBytes {}
