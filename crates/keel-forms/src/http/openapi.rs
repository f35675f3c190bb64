//! The forms app's part of the OpenAPI document: its operations (from the
//! handlers' `#[utoipa::path]`), its schemas and its tags. The core merges
//! it with its own part through `App::openapi` and serves the whole at
//! `GET /api/openapi.json`; the error responses named here
//! (`keel::http::openapi::NotFound`, ...) and the `Problem` schema are the
//! core's.
//!
//! The tests below keep `crate::openapi`'s schema-only structs in step with
//! the JSON `view` builds.

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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::Utc;
    use serde_json::{json, Value};
    use utoipa::PartialSchema;
    use uuid::Uuid;

    use super::super::view;
    use crate::domain::{FieldInput, FormDefinition, FormInput};
    use crate::openapi;
    use crate::repo::forms::StoredForm;
    use crate::repo::responses::StoredResponse;

    /// A schema's property names and its required ones.
    fn members<T: PartialSchema>() -> (BTreeSet<String>, BTreeSet<String>) {
        let schema = serde_json::to_value(T::schema()).expect("a schema encodes");
        let properties = schema["properties"].as_object().expect("an object schema");
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        (
            properties.keys().cloned().collect(),
            required.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        )
    }

    fn keys(value: &Value) -> BTreeSet<String> {
        value.as_object().expect("a JSON object").keys().cloned().collect()
    }

    /// Asserts that `body` has exactly the members of `T`, all required.
    fn assert_exact<T: PartialSchema>(body: &Value, what: &str) {
        let (properties, required) = members::<T>();
        assert_eq!(
            keys(body),
            properties,
            "{what}: the built JSON and the schema list the same members"
        );
        assert_eq!(
            required, properties,
            "{what}: every member is always sent, so all are required"
        );
    }

    /// A form with a field of every type.
    fn stored_form() -> StoredForm {
        let fields: Vec<FieldInput> = serde_json::from_value(json!([
            {"key": "name", "label": "Name", "type": "short_text", "required": true, "help": "Yours"},
            {"key": "bio", "label": "Bio", "type": "long_text"},
            {"key": "email", "label": "Email", "type": "email"},
            {"key": "score", "label": "Score", "type": "number", "min": 0.5, "max": 9.5},
            {"key": "age", "label": "Age", "type": "integer", "min": 0},
            {"key": "agree", "label": "Agree", "type": "boolean"},
            {"key": "day", "label": "Day", "type": "date", "min": "2026-01-01"},
            {"key": "color", "label": "Color", "type": "choice", "options": ["red", "blue"]},
            {"key": "tags", "label": "Tags", "type": "choices", "options": ["a", "b"]},
            {"key": "cv", "label": "CV", "type": "file", "accept": ["application/pdf"]}
        ]))
        .expect("field inputs");
        let input = FormInput {
            title: "T".to_owned(),
            description: String::new(),
            fields,
            accepting_responses: true,
            notify_owner: false,
            webhook_url: Some("https://hooks.example.com/x".to_owned()),
            embed_origins: vec!["https://embed.example.com".to_owned()],
        };
        let definition = FormDefinition::parse(input, |u| Ok(u.to_owned())).expect("a valid definition");
        StoredForm {
            seq: 1,
            id: Uuid::new_v4(),
            owner_id: Uuid::new_v4(),
            slug: "abcdefghij12".to_owned(),
            definition,
            webhook_secret: Some("secret".to_owned()),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 1,
        }
    }

    #[test]
    fn the_owner_form_has_exactly_the_members_of_its_schema() {
        assert_exact::<openapi::Form>(&view::owner_form(&stored_form()), "Form");
    }

    #[test]
    fn a_response_has_exactly_the_members_of_its_schema() {
        let stored = StoredResponse {
            seq: 1,
            id: Uuid::new_v4(),
            answers: json!({"name": "Ada"}).as_object().cloned().unwrap_or_default(),
            created_at: Utc::now(),
        };
        assert_exact::<openapi::FormResponse>(&view::response(&stored, &[]), "FormResponse");
    }
}
