use super::*;
use serde_json::json;

fn parse(value: serde_json::Value) -> Result<Field, Vec<String>> {
    let input: FieldInput = serde_json::from_value(value).map_err(|e| vec![e.to_string()])?;
    let mut errors = Vec::new();
    Field::parse(input, "fields[0]", &mut errors).ok_or_else(|| errors.into_iter().map(|e| e.path).collect())
}

#[test]
fn good_fields_get_their_type_defaults() {
    let f = parse(json!({"key": "name", "label": "Name", "type": "short_text"})).unwrap();
    assert_eq!(f.max_length, Some(200));
    let f =
        parse(json!({"key": "cv", "label": "CV", "type": "file", "accept": ["application/pdf", "image/*"]})).unwrap();
    assert_eq!(f.max_files, Some(1));
    let f = parse(json!({"key": "when", "label": "When", "type": "date", "min": "2026-01-01", "max": "2026-12-31"}))
        .unwrap();
    assert_eq!(f.min, Some(json!("2026-01-01")));
}

#[test]
fn bad_fields_are_reported_per_member() {
    let cases = [
        (
            json!({"key": "Name", "label": "x", "type": "short_text"}),
            "fields[0].key",
            "an uppercase key",
        ),
        (
            json!({"key": "1a", "label": "x", "type": "short_text"}),
            "fields[0].key",
            "a key starting with a digit",
        ),
        (
            json!({"key": "a", "label": " ", "type": "short_text"}),
            "fields[0].label",
            "a blank label",
        ),
        (
            json!({"key": "a", "label": "x", "type": "short_text", "max_length": 0}),
            "fields[0].max_length",
            "a zero length",
        ),
        (
            json!({"key": "a", "label": "x", "type": "short_text", "options": ["a"]}),
            "fields[0].options",
            "options on text",
        ),
        (
            json!({"key": "a", "label": "x", "type": "choice"}),
            "fields[0].options",
            "a choice without options",
        ),
        (
            json!({"key": "a", "label": "x", "type": "choice", "options": ["a", "a"]}),
            "fields[0].options",
            "duplicate options",
        ),
        (
            json!({"key": "a", "label": "x", "type": "integer", "min": 5, "max": 1}),
            "fields[0].max",
            "max below min",
        ),
        (
            json!({"key": "a", "label": "x", "type": "integer", "min": 1.5}),
            "fields[0].min",
            "a fractional integer bound",
        ),
        (
            json!({"key": "a", "label": "x", "type": "date", "min": "2026-13-01"}),
            "fields[0].min",
            "an impossible date",
        ),
        (
            json!({"key": "a", "label": "x", "type": "file", "max_files": 11}),
            "fields[0].max_files",
            "too many files",
        ),
        (
            json!({"key": "a", "label": "x", "type": "file", "accept": ["pdf"]}),
            "fields[0].accept",
            "not a media type",
        ),
        (
            json!({"key": "a", "label": "x", "type": "boolean", "max": 1}),
            "fields[0].max",
            "a limit on a boolean",
        ),
    ];
    for (input, path, why) in cases {
        let errors = parse(input).expect_err(why);
        assert!(
            errors.iter().any(|p| p == path),
            "{why}: {errors:?} should include {path}"
        );
    }
}

proptest::proptest! {
    #[test]
    fn keys_are_accepted_exactly_when_well_formed(key in "\\PC{0,70}") {
        let result = parse(json!({"key": key, "label": "x", "type": "boolean"}));
        let well_formed = valid_key(&key);
        proptest::prop_assert_eq!(result.is_ok(), well_formed);
    }
}
