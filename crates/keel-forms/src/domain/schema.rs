//! Schemas of domain values that no Rust type describes: a field's `min`
//! and `max` are kept as raw JSON (a number, or a date for date fields),
//! so their OpenAPI schema is written out here.

use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{KnownFormat, RefOr, SchemaFormat};

/// A field's `min` or `max`: a number (number and integer fields) or a
/// `YYYY-MM-DD` date (date fields).
pub fn bound() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))),
        )
        .description(Some(
            "A number (number, integer fields) or a YYYY-MM-DD date (date fields).",
        ))
        .into()
}

/// [`bound`], or `null` for none.
pub fn optional_bound() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "A number (number, integer fields) or a YYYY-MM-DD date (date fields); null for none.",
        ))
        .into()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{json, Value};
    use utoipa::PartialSchema;

    use crate::domain::{Field, FieldInput, FormInput, FormPatch};

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

    /// A field of every type.
    fn fields() -> Vec<Field> {
        let inputs: Vec<FieldInput> = serde_json::from_value(json!([
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
        let mut errors = Vec::new();
        let fields: Vec<Field> = inputs
            .into_iter()
            .filter_map(|input| Field::parse(input, "fields[0]", &mut errors))
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        fields
    }

    #[test]
    fn every_field_member_sent_is_in_the_field_schema() {
        let (properties, required) = members::<Field>();
        let mut seen = BTreeSet::new();
        for field in &fields() {
            let body = serde_json::to_value(field).expect("a field encodes");
            let sent: BTreeSet<String> = body.as_object().expect("an object").keys().cloned().collect();
            assert!(sent.is_subset(&properties), "{sent:?} within {properties:?}");
            assert!(required.is_subset(&sent), "{required:?} always sent, in {sent:?}");
            seen.extend(sent);
        }
        assert_eq!(
            seen, properties,
            "every member the schema lists is sent by some field type"
        );
    }

    #[test]
    fn the_input_schemas_list_every_member_the_inputs_accept() {
        let (field_input, _) = members::<FieldInput>();
        let (field, _) = members::<Field>();
        assert_eq!(
            field_input, field,
            "a field is sent back with the members it was created with"
        );
        let (form_input, required) = members::<FormInput>();
        let (form_patch, patch_required) = members::<FormPatch>();
        assert_eq!(form_input, form_patch, "PATCH takes the members of create");
        assert_eq!(required, BTreeSet::from(["title".to_owned()]));
        assert!(patch_required.is_empty());
    }
}
