//! The JSON bodies of the app's answers (SPEC section 3), each one type:
//! what it serializes is what is sent, and its schema is what the OpenAPI
//! document says of it, so the two cannot drift apart. Every member is
//! always sent (a missing value is `null`), so every member is required.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{Field, ResponseFile};
use crate::repo::files::StoredFile;
use crate::repo::forms::StoredForm;
use crate::repo::published::PublicPart;
use crate::repo::responses::StoredResponse;

/// A form as its owner sees it.
// With the webhook secret, which only the owner needs, to verify deliveries.
#[derive(Serialize, ToSchema)]
#[schema(as = Form)]
pub(crate) struct OwnerForm {
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

impl From<StoredForm> for OwnerForm {
    fn from(form: StoredForm) -> Self {
        let def = form.definition;
        Self {
            id: form.id,
            slug: form.slug,
            title: def.title,
            description: def.description,
            fields: def.fields,
            accepting_responses: def.accepting_responses,
            notify_owner: def.notify_owner,
            webhook_url: def.webhook_url,
            webhook_secret: form.webhook_secret,
            embed_origins: def.embed_origins,
            created_at: form.created_at,
            updated_at: form.updated_at,
        }
    }
}

/// A page of the owner's forms, newest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct FormPage {
    items: Vec<OwnerForm>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

impl FormPage {
    pub(crate) fn new(forms: Vec<StoredForm>, next_cursor: Option<String>) -> Self {
        let items = forms.into_iter().map(OwnerForm::from).collect();
        Self { items, next_cursor }
    }
}

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

/// A stored response.
#[derive(Serialize, ToSchema)]
pub(crate) struct FormResponse {
    id: Uuid,
    created_at: DateTime<Utc>,
    /// The normalized answers, by field key; unanswered optional fields are absent.
    #[schema(value_type = Object)]
    answers: Map<String, Value>,
    files: Vec<ResponseFile>,
}

/// A page of a form's responses, newest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct ResponsePage {
    items: Vec<FormResponse>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

impl ResponsePage {
    /// `responses` with their files (by response id).
    pub(crate) fn new(
        responses: Vec<StoredResponse>,
        mut files: HashMap<Uuid, Vec<StoredFile>>,
        next_cursor: Option<String>,
    ) -> Self {
        let items = responses
            .into_iter()
            .map(|r| FormResponse {
                files: files
                    .remove(&r.id)
                    .unwrap_or_default()
                    .iter()
                    .map(ResponseFile::from)
                    .collect(),
                id: r.id,
                created_at: r.created_at,
                answers: r.answers,
            })
            .collect();
        Self { items, next_cursor }
    }
}

/// A submission was accepted.
#[derive(Serialize, ToSchema)]
pub(crate) struct SubmissionCreated {
    /// The stored response's id.
    pub(crate) id: Uuid,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use utoipa::PartialSchema;

    use super::*;
    use crate::domain::FormInput;

    fn properties<T: PartialSchema>() -> BTreeSet<String> {
        let schema = serde_json::to_value(T::schema()).expect("a schema encodes");
        schema["properties"]
            .as_object()
            .expect("an object schema")
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn create_takes_the_members_of_a_form_but_the_server_made_ones() {
        let (input, form) = (properties::<FormInput>(), properties::<OwnerForm>());
        let made: BTreeSet<String> = form.difference(&input).cloned().collect();
        let expected = ["created_at", "id", "slug", "updated_at", "webhook_secret"];
        assert_eq!(made, expected.iter().map(|m| (*m).to_owned()).collect());
    }
}
