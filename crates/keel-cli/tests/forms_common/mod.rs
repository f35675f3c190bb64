//! What the forms tests share: a sample form, an owner with it, a public
//! fetch and a cookie-less submission.

use keel_testkit::TestServer;
use serde_json::{json, Value};

pub(crate) fn sample_form() -> Value {
    json!({
        "title": "Conference sign-up",
        "description": "Tell us who you are.",
        "fields": [
            {"key": "name", "label": "Name", "type": "short_text", "required": true, "max_length": 50},
            {"key": "email", "label": "Email", "type": "email", "required": true},
            {"key": "age", "label": "Age", "type": "integer", "min": 0, "max": 150},
            {"key": "track", "label": "Track", "type": "choice", "options": ["web", "systems"]},
            {"key": "topics", "label": "=Topics", "type": "choices", "options": ["rust", "sql"]}
        ],
        "notify_owner": false,
        "embed_origins": ["https://embed.example.com"]
    })
}

/// An owner with one form; returns the form.
pub(crate) async fn owner_with_form(server: &TestServer) -> Value {
    assert_eq!(server.signup("owner@example.com").await.status(), 201);
    let response = server.post_json("/api/forms", &sample_form()).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

pub(crate) async fn fetch_public(server: &TestServer, slug: &str) -> Value {
    let response = reqwest::get(server.url(&format!("/api/public/forms/{slug}")))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// A cookie-less submission, as an embedded form on another site sends it.
pub(crate) async fn submit(server: &TestServer, slug: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url(&format!("/api/public/forms/{slug}/responses")))
        .json(body)
        .send()
        .await
        .unwrap()
}

pub(crate) fn good_answers() -> Value {
    json!({"name": "Ada", "email": "ada@example.com", "age": 36, "track": "systems", "topics": ["rust"]})
}
