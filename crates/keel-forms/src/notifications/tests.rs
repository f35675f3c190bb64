use super::*;
use serde_json::json;

use crate::domain::{FieldInput, FormInput};

fn form(webhook: bool) -> StoredForm {
    let fields: Vec<FieldInput> = serde_json::from_value(json!([
        {"key": "name", "label": "Name", "type": "short_text"},
        {"key": "tags", "label": "Tags", "type": "choices", "options": ["a", "b"]},
        {"key": "note", "label": "Note", "type": "long_text"}
    ]))
    .unwrap();
    let input = FormInput {
        title: "Sign-up".to_owned(),
        description: String::new(),
        fields,
        accepting_responses: true,
        notify_owner: true,
        webhook_url: webhook.then(|| "https://hooks.example.com/x".to_owned()),
        embed_origins: Vec::new(),
    };
    StoredForm {
        seq: 1,
        id: Uuid::new_v4(),
        owner_id: Uuid::new_v4(),
        slug: "abcdefghij12".to_owned(),
        definition: FormDefinition::parse(input, |u| Ok(u.to_owned())).unwrap(),
        webhook_secret: webhook.then(|| "secret".to_owned()),
        created_at: Utc::now(),
        updated_at: Utc::now(),
        version: 1,
    }
}

fn answers() -> Map<String, Value> {
    json!({"tags": ["a", "b"], "name": "Ada"}).as_object().cloned().unwrap()
}

#[test]
fn the_email_lists_the_answers_by_label_in_form_order() {
    let id = Uuid::new_v4();
    let email = owner_email(&form(false).definition, "owner@example.com".to_owned(), &answers(), id);
    assert_eq!(email.to, ["owner@example.com"]);
    assert_eq!(email.subject, "New response: Sign-up");
    assert_eq!(
        email.text,
        format!("A new response arrived for \"Sign-up\".\n\nName: Ada\nTags: a; b\n\nResponse id: {id}\n"),
        "unanswered fields are left out"
    );
}

#[test]
fn a_form_without_a_webhook_or_its_secret_has_no_delivery() {
    assert!(webhook(&form(false)).is_none());
    let mut without_secret = form(true);
    without_secret.webhook_secret = None;
    assert!(webhook(&without_secret).is_none(), "the cached form holds no secret");
}

#[test]
fn the_webhook_carries_the_form_and_the_response() {
    let form = form(true);
    let answers = answers();
    let created_at = Utc::now();
    let response = NewResponse {
        id: Uuid::new_v4(),
        created_at,
        answers: &answers,
        files: &[],
    };
    let message = response_created(webhook(&form).unwrap(), &response);
    assert_eq!(
        (message.url.as_str(), message.secret.as_str()),
        ("https://hooks.example.com/x", "secret")
    );
    assert_eq!(message.event, "response.created");
    assert_eq!(
        message.payload,
        json!({
            "event": "response.created",
            "form": {"id": form.id, "slug": form.slug},
            "response": {"answers": answers, "id": response.id, "created_at": created_at},
        }),
        "no `files` member without files"
    );

    let file = StoredFile {
        id: Uuid::new_v4(),
        response_id: response.id,
        field_key: "cv".to_owned(),
        storage_key: "forms/x/y/z".to_owned(),
        name: "cv.pdf".to_owned(),
        size: 3,
        content_type: "application/pdf".to_owned(),
        created_at,
    };
    let with_files = NewResponse {
        files: std::slice::from_ref(&file),
        ..response
    };
    let message = response_created(webhook(&form).unwrap(), &with_files);
    assert_eq!(
        message.payload["response"]["files"],
        json!([{"id": file.id, "field": "cv", "name": "cv.pdf", "size": 3, "content_type": "application/pdf"}]),
        "files by their public members, never their storage key"
    );
}
