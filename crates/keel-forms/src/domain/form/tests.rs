use super::*;
use serde_json::json;

fn parse(value: serde_json::Value) -> Result<FormDefinition, Vec<String>> {
    let input: FormInput = serde_json::from_value(value).map_err(|e| vec![e.to_string()])?;
    FormDefinition::parse(input, |u| Ok(u.to_owned())).map_err(|e| e.into_iter().map(|e| e.path).collect())
}

#[test]
fn a_definition_is_validated_as_a_whole() {
    let errors = parse(json!({
        "title": "",
        "fields": [
            {"key": "a", "label": "A", "type": "short_text"},
            {"key": "a", "label": "Again", "type": "integer"},
            {"key": "c", "label": "C", "type": "choice"}
        ],
        "embed_origins": ["https://ok.example", "https://x.example/path"]
    }))
    .unwrap_err();
    for path in ["title", "fields[1].key", "fields[2].options", "embed_origins[1]"] {
        assert!(errors.contains(&path.to_owned()), "{path} in {errors:?}");
    }
}

#[test]
fn control_characters_are_refused_in_every_text_member() {
    let field = |member: &str, value: &str| {
        let mut f = json!({"key": "a", "label": "A", "type": "choice", "options": ["x"]});
        f[member] = if member == "options" {
            json!([value])
        } else {
            json!(value)
        };
        json!({"title": "T", "fields": [f]})
    };
    let cases = [
        (json!({"title": "A\u{0}B"}), "title", "a NUL in the title"),
        (json!({"title": "A\nB"}), "title", "a newline inside the title"),
        (
            json!({"title": "T", "description": "a\u{0}"}),
            "description",
            "a NUL in the description",
        ),
        (
            json!({"title": "T", "description": "a\u{1b}"}),
            "description",
            "an escape in the description",
        ),
        (field("label", "A\u{7}"), "fields[0].label", "a bell in a label"),
        (field("help", "h\u{0}"), "fields[0].help", "a NUL in help text"),
        (field("options", "x\ty"), "fields[0].options", "a tab in an option"),
        (
            json!({"title": "T", "webhook_url": "https://a.exa\tmple/"}),
            "webhook_url",
            "a tab the URL parser would drop",
        ),
        (
            json!({"title": "T", "embed_origins": ["https://a.exa\nmple"]}),
            "embed_origins[0]",
            "a newline in an origin",
        ),
    ];
    for (input, path, why) in cases {
        let errors = parse(input).expect_err(why);
        assert!(errors.contains(&path.to_owned()), "{why}: {errors:?}");
    }
    let multiline = parse(json!({"title": " T\t", "description": "one\r\n\ttwo"})).unwrap();
    assert_eq!(multiline.title, "T", "surrounding whitespace is trimmed, not refused");
    assert_eq!(multiline.description, "one\r\n\ttwo");
}

#[test]
fn lists_over_their_limit_are_one_error() {
    let field = json!({"key": "Bad", "label": "", "type": "choice"});
    let cases = [
        (
            json!({"title": "T", "fields": vec![field; MAX_FIELDS + 1]}),
            "fields",
            "too many bad fields",
        ),
        (
            json!({"title": "T", "embed_origins": vec!["x"; MAX_EMBED_ORIGINS + 1]}),
            "embed_origins",
            "too many bad origins",
        ),
    ];
    for (input, path, why) in cases {
        assert_eq!(
            parse(input).expect_err(why),
            [path],
            "{why}: one error, not one per item"
        );
    }
}

#[test]
fn origins_are_normalized() {
    let form = parse(json!({"title": "T", "embed_origins": ["HTTPS://Site.Example/"]})).unwrap();
    assert_eq!(form.embed_origins, vec!["https://site.example"]);
}

#[test]
fn a_definition_as_input_parses_back_to_itself() {
    let def = parse(json!({
        "title": "T",
        "description": "D",
        "fields": [
            {"key": "name", "label": "Name", "type": "short_text", "required": true, "help": "Yours"},
            {"key": "age", "label": "Age", "type": "integer", "min": 0, "max": 150},
            {"key": "day", "label": "Day", "type": "date", "min": "2026-01-01"},
            {"key": "tags", "label": "Tags", "type": "choices", "options": ["a", "b"]},
            {"key": "cv", "label": "CV", "type": "file", "max_files": 2, "accept": ["image/*"]}
        ],
        "accepting_responses": false,
        "notify_owner": true,
        "webhook_url": "https://hooks.example.com/x",
        "embed_origins": ["https://embed.example.com"]
    }))
    .unwrap();
    let again = FormDefinition::parse(FormInput::from(&def), |u| Ok(u.to_owned())).unwrap();
    assert_eq!(again, def);
}

#[test]
fn a_patch_changes_only_the_members_it_names() {
    let def = parse(json!({
        "title": "T",
        "fields": [{"key": "a", "label": "A", "type": "boolean"}],
        "webhook_url": "https://hooks.example.com/x"
    }))
    .unwrap();
    let patch: FormPatch = serde_json::from_value(json!({"title": "New", "webhook_url": null})).unwrap();
    let patched = FormDefinition::parse(patch.apply(&def), |u| Ok(u.to_owned())).unwrap();
    assert_eq!(patched.title, "New");
    assert_eq!(patched.webhook_url, None, "null removes the webhook");
    assert_eq!(patched.fields, def.fields, "fields left out are kept");
    let untouched = FormDefinition::parse(FormPatch::default().apply(&def), |u| Ok(u.to_owned())).unwrap();
    assert_eq!(untouched, def, "an empty patch changes nothing");
}
