//! The JSON bodies of the app's answers (SPEC section 3), each one type:
//! what it serializes is what is sent, and its schema is what the OpenAPI
//! document says of it.

use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::Field;
use crate::repo::published::PublicPart;

/// A published form as anyone sees it.
#[derive(Serialize, ToSchema)]
pub(crate) struct PublicForm<'a> {
    /// Signed, bound to this form, reusable until it expires (KEEL_SUBMISSION_TOKEN_AGE).
    submission_token: String,
    slug: &'a str,
    title: &'a str,
    description: &'a str,
    // Encoded when the form was cached, sent as it is.
    #[schema(value_type = Vec<Field>)]
    fields: &'a RawValue,
    accepting_responses: bool,
}

impl<'a> PublicForm<'a> {
    pub(crate) fn new(submission_token: String, public: &'a PublicPart) -> Self {
        Self {
            submission_token,
            slug: &public.slug,
            title: &public.title,
            description: &public.description,
            fields: &public.fields,
            accepting_responses: public.accepting_responses,
        }
    }
}

/// A submission was accepted.
#[derive(Serialize, ToSchema)]
pub(crate) struct SubmissionCreated {
    /// The stored response's id.
    pub(crate) id: Uuid,
}
