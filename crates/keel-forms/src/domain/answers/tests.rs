use super::*;
use crate::domain::field::FieldInput;
use serde_json::json;

fn fields() -> Vec<Field> {
    let defs = json!([
        {"key": "name", "label": "Name", "type": "short_text", "required": true, "max_length": 10},
        {"key": "email", "label": "Email", "type": "email"},
        {"key": "age", "label": "Age", "type": "integer", "min": 0, "max": 150},
        {"key": "score", "label": "Score", "type": "number", "min": 0.5},
        {"key": "agree", "label": "Agree", "type": "boolean", "required": true},
        {"key": "day", "label": "Day", "type": "date", "min": "2026-01-01"},
        {"key": "color", "label": "Color", "type": "choice", "options": ["red", "blue"]},
        {"key": "tags", "label": "Tags", "type": "choices", "options": ["a", "b"]},
        {"key": "cv", "label": "CV", "type": "file", "max_files": 2}
    ]);
    let inputs: Vec<FieldInput> = serde_json::from_value(defs).unwrap();
    let mut errors = Vec::new();
    inputs
        .into_iter()
        .filter_map(|i| Field::parse(i, "f", &mut errors))
        .collect()
}

fn check(answers: Value) -> Result<Map<String, Value>, Vec<String>> {
    let map = answers.as_object().unwrap().clone();
    validate_answers(&fields(), map, &Default::default()).map_err(|e| e.into_iter().map(|e| e.key).collect())
}

#[test]
fn good_answers_are_normalized() {
    let clean = check(json!({"name": "  Ada ", "email": "ADA@X.ORG", "agree": true, "tags": ["a"]})).unwrap();
    assert_eq!(clean["name"], "Ada");
    assert_eq!(clean["email"], "ada@x.org");
    assert!(!clean.contains_key("age"), "unanswered optional fields are not stored");
}

#[test]
fn each_bad_answer_is_reported_on_its_field() {
    let base = json!({"name": "Ada", "agree": true});
    let cases = [
        ("name", json!(null), "a missing required answer"),
        ("name", json!("x".repeat(11)), "too long"),
        ("name", json!("a\u{0}b"), "a control character"),
        ("name", json!(5), "a number for text"),
        ("email", json!("not-an-email"), "a bad email"),
        ("age", json!(1.5), "a fraction for an integer"),
        ("age", json!(151), "over the max"),
        ("age", json!("12"), "a string for an integer"),
        ("score", json!(0.1), "under the min"),
        ("agree", json!(false), "a required box left unchecked"),
        ("day", json!("2025-12-31"), "before the min date"),
        ("day", json!("31/12/2026"), "a date in another format"),
        ("color", json!("green"), "an unlisted option"),
        ("tags", json!(["a", "a"]), "a repeated option"),
        ("tags", json!("a"), "a string for a list"),
        ("cv", json!("file.pdf"), "a file as JSON"),
        ("unknown", json!("x"), "an unknown key"),
    ];
    for (key, value, why) in cases {
        let mut answers = base.clone();
        answers[key] = value;
        let errors = check(answers).expect_err(why);
        assert!(errors.contains(&key.to_owned()), "{why}: {errors:?}");
    }
}

#[test]
fn more_answers_than_fields_are_one_error_on_the_answers() {
    let field_count = fields().len();
    // (answers, errors expected, why)
    let cases = [
        (field_count + 1, 1, "one key too many"),
        (100_000, 1, "a flood of unknown keys"),
    ];
    for (n, expected, why) in cases {
        let answers: Map<String, Value> = (0..n).map(|i| (format!("k{i}"), json!(0))).collect();
        let errors = validate_answers(&fields(), answers, &Default::default()).expect_err(why);
        assert_eq!(errors.len(), expected, "{why}");
        assert_eq!(errors[0].key, "", "{why}: about the answers as a whole");
        assert!(
            errors[0].message.contains(&n.to_string()),
            "{why}: {}",
            errors[0].message
        );
    }
    let at_the_limit: Map<String, Value> = (0..field_count).map(|i| (format!("k{i}"), json!(0))).collect();
    let errors = validate_answers(&fields(), at_the_limit, &Default::default()).unwrap_err();
    assert!(
        errors.iter().filter(|e| e.key.starts_with('k')).count() == field_count,
        "as many keys as fields: each unknown one is named"
    );
}

#[test]
fn file_counts_satisfy_file_fields() {
    let mut required = fields();
    required[8].required = true;
    let answers = json!({"name": "Ada", "agree": true}).as_object().unwrap().clone();
    assert!(validate_answers(&required, answers.clone(), &Default::default()).is_err());
    let counts = [("cv".to_owned(), 1)].into_iter().collect();
    assert!(validate_answers(&required, answers.clone(), &counts).is_ok());
    let too_many = [("cv".to_owned(), 3)].into_iter().collect();
    assert!(validate_answers(&required, answers, &too_many).is_err());
}
