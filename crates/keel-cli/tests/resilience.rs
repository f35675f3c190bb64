//! Resilience under abuse and outages, over HTTP on the real server: slow
//! and abusive clients, connection and request caps, a drain that loses no
//! request sent on a pooled connection, bounded password hashing and
//! race-free login throttles, and Redis, PostgreSQL and SQLite going away
//! and coming back.

#[path = "resilience/connections.rs"]
mod connections;
#[path = "resilience/downloads.rs"]
mod downloads;
#[path = "resilience/draining.rs"]
mod draining;
#[path = "resilience/logins.rs"]
mod logins;
#[path = "media/mod.rs"]
mod media;
#[path = "resilience/outages.rs"]
mod outages;
#[path = "resilience/unread.rs"]
mod unread;

use keel_testkit::TestServer;
use serde_json::json;

/// Signs up an owner on the server's client and publishes a one-field
/// form; returns its slug.
pub(crate) async fn published_form(server: &TestServer) -> String {
    published_form_with_id(server).await.1
}

/// Like [`published_form`]; returns the form's id and slug.
pub(crate) async fn published_form_with_id(server: &TestServer) -> (String, String) {
    assert_eq!(server.signup("owner@example.com").await.status(), 201);
    let form = server
        .publish_form(&json!({
            "title": "Resilience",
            "fields": [{"key": "name", "label": "Name", "type": "short_text", "required": true}],
            "notify_owner": false
        }))
        .await;
    (form.id, form.slug)
}

/// The public form's submission token.
pub(crate) async fn submission_token(server: &TestServer, slug: &str) -> String {
    server.public_form(slug).await["submission_token"]
        .as_str()
        .expect("a submission token")
        .to_owned()
}

/// What one request got.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// 0 when no answer came (connection error).
    pub status: u16,
    pub retry_after: bool,
    /// The stored response's id, for a 201.
    pub id: Option<String>,
}

/// One cookie-less JSON submission.
pub(crate) async fn submit(client: &reqwest::Client, server: &TestServer, slug: &str, token: &str) -> Outcome {
    let response = client
        .post(server.url(&format!("/api/public/forms/{slug}/responses")))
        .json(&json!({"submission_token": token, "answers": {"name": "Ada"}}))
        .send()
        .await;
    let Ok(response) = response else {
        return Outcome {
            status: 0,
            retry_after: false,
            id: None,
        };
    };
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let id = body["id"].as_str().map(str::to_owned);
    Outcome {
        status,
        retry_after,
        id,
    }
}
