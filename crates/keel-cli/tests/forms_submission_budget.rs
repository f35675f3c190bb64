//! The public submission budget (`KEEL_SUBMISSION_RATE`, per client
//! address and form) is spent only by submissions that are well formed and
//! carry a valid token. Behind a proxy many visitors share one address, so
//! junk from one of them must not use up everyone's budget.

use keel_testkit::{on_both_backends, Backend, TestServer};
use serde_json::json;

on_both_backends!(junk_posts_do_not_use_up_the_submission_budget);

async fn post(server: &TestServer, slug: &str, content_type: &str, body: String) -> u16 {
    reqwest::Client::new()
        .post(server.url(&format!("/api/public/forms/{slug}/responses")))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("the submission reaches the server")
        .status()
        .as_u16()
}

async fn junk_posts_do_not_use_up_the_submission_budget(backend: Backend) {
    // The default rate, 30 a minute, as in the proxied setup of the README.
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    assert_eq!(server.signup("owner@example.com").await.status(), 201);
    let definition = json!({"title": "Contact", "fields": [{"key": "name", "label": "Name", "type": "short_text"}]});
    let form = server.publish_form(&definition).await;
    let (id, slug, token) = (form.id.as_str(), form.slug.as_str(), form.token.as_str());

    let forged = json!({"submission_token": format!("{id}.1.AAAA"), "answers": {}}).to_string();
    let junk = [
        ("text/plain", "name=eve".to_owned(), 415, "a wrong content type"),
        (
            "application/json",
            "{\"submission_token\": ".to_owned(),
            400,
            "malformed JSON",
        ),
        ("application/json", forged, 403, "a bad token"),
    ];
    for round in 0..40 {
        let (content_type, body, expected, why) = &junk[round % junk.len()];
        let status = post(&server, slug, content_type, body.clone()).await;
        assert_eq!(status, *expected, "junk post {round}, {why}");
    }
    let good = json!({"submission_token": token, "answers": {"name": "Ada"}}).to_string();
    assert_eq!(
        post(&server, slug, "application/json", good).await,
        201,
        "after 40 junk posts a valid submission is still accepted"
    );
}
