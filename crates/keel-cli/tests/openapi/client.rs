//! Requests the tests send: the document, forms and answers, JSON and
//! multipart submissions, and unsafe requests with any body.

use keel_testkit::TestServer;
use reqwest::Method;
use serde_json::{json, Value};

use crate::contract::{errors_of, essence, Contract};

pub(crate) async fn fetch_document(server: &TestServer) -> Value {
    let response = reqwest::get(server.url("/api/openapi.json"))
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 200);
    let media = response.headers()["content-type"]
        .to_str()
        .expect("a content type")
        .to_owned();
    assert_eq!(essence(&media), "application/json");
    response.json().await.expect("the document is JSON")
}

/// A 405 fits `#/components/responses/MethodNotAllowed`.
pub(crate) async fn check_method_not_allowed(contract: &Contract, response: reqwest::Response) {
    let documented = contract.resolve(&json!({"$ref": "#/components/responses/MethodNotAllowed"}));
    let media = essence(response.headers()["content-type"].to_str().expect("a content type"));
    let body: Value = response.json().await.expect("a JSON body");
    let schema = &documented["content"][media.as_str()]["schema"];
    assert!(schema.is_object(), "405 documents {media}");
    let errors = errors_of(schema, &body);
    assert!(errors.is_empty(), "a 405 fits its schema: {errors:?}");
}

/// A form with a field of every type but file (which is multipart).
pub(crate) fn every_kind_of_field() -> Value {
    json!({
        "title": "Conference sign-up",
        "description": "Tell us who you are.",
        "fields": [
            {"key": "name", "label": "Name", "type": "short_text", "required": true, "max_length": 50, "help": "Full name"},
            {"key": "bio", "label": "Bio", "type": "long_text"},
            {"key": "email", "label": "Email", "type": "email", "required": true},
            {"key": "score", "label": "Score", "type": "number", "min": 0.5, "max": 10},
            {"key": "age", "label": "Age", "type": "integer", "min": 0, "max": 150},
            {"key": "agree", "label": "Agree", "type": "boolean"},
            {"key": "day", "label": "Day", "type": "date", "min": "2020-01-01"},
            {"key": "track", "label": "Track", "type": "choice", "options": ["web", "systems"]},
            {"key": "topics", "label": "Topics", "type": "choices", "options": ["rust", "sql"]},
            {"key": "cv", "label": "CV", "type": "file", "max_files": 2, "accept": ["application/pdf", "image/*"]}
        ],
        "notify_owner": false,
        "embed_origins": ["https://embed.example.com"]
    })
}

pub(crate) fn good_answers() -> Value {
    json!({"name": "Ada", "bio": "Engines.", "email": "ada@example.com", "score": 9.5, "age": 36,
           "agree": true, "day": "2026-03-01", "track": "systems", "topics": ["rust"]})
}

/// An unsafe request with a CSRF token and this site's Origin, and any body.
pub(crate) async fn send_raw(
    server: &TestServer,
    method: Method,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let token = server.csrf_token_for(&server.client).await;
    server
        .client
        .request(method, server.url(path))
        .header("x-csrftoken", token)
        .header("origin", server.origin())
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("the server answers")
}

/// A cookie-less submission, as an embedded form sends it.
pub(crate) async fn submit(server: &TestServer, slug: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url(&format!("/api/public/forms/{slug}/responses")))
        .json(body)
        .send()
        .await
        .expect("the server answers")
}

pub(crate) const SUBMIT: &str = "/api/public/forms/{slug}/responses";
pub(crate) const FILE: &str = "/api/forms/{id}/responses/{rid}/files/{fid}";
pub(crate) const BOUNDARY: &str = "openapi-test-boundary";

/// Bytes that sniff as PDF.
pub(crate) const PDF: &[u8] = b"%PDF-1.7\n% a tiny test file\n";

/// A multipart submission: a token, the answers, and a PDF for `cv`.
pub(crate) async fn submit_multipart(server: &TestServer, slug: &str, token: &str) -> reqwest::Response {
    let mut body = Vec::new();
    for (name, value) in [
        ("submission_token", token.to_owned()),
        ("answers", good_answers().to_string()),
    ] {
        let head = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n");
        body.extend(head.as_bytes());
    }
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"cv\"; filename=\"cv.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    );
    body.extend(head.as_bytes());
    body.extend(PDF);
    body.extend(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    reqwest::Client::new()
        .post(server.url(&format!("/api/public/forms/{slug}/responses")))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(body)
        .send()
        .await
        .expect("the server answers")
}
