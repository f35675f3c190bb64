//! The forms API against hostile input, over HTTP on SQLite and
//! PostgreSQL: formulas hidden behind a `;` in the CSV export, control
//! characters in text, error lists amplified by a flood of answer keys,
//! and path parameters that do not decode.

use keel_testkit::{on_both_backends, Backend, TestServer};
use serde_json::{json, Value};

fn form() -> Value {
    json!({
        "title": "Hostile",
        "fields": [
            {"key": "name", "label": "Name", "type": "short_text", "required": true},
            {"key": "bio", "label": "Bio", "type": "long_text"},
            {"key": "label", "label": "Bob;=1+1", "type": "short_text"}
        ]
    })
}

/// A logged-in owner with [`form`]: its id, slug and a submission token.
async fn owner_with_form(server: &TestServer) -> (String, String, String) {
    assert_eq!(server.signup("owner@example.com").await.status(), 201);
    let form = server.publish_form(&form()).await;
    (form.id, form.slug, form.token)
}

async fn submit(server: &TestServer, slug: &str, body: &Value) -> reqwest::Response {
    server.submit_public(slug, body).await
}

/// Asserts `response` is a problem of `status` carrying its request id;
/// returns the body.
async fn problem(response: reqwest::Response, status: u16, why: &str) -> Value {
    assert_eq!(response.status(), status, "{why}");
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/problem+json", "{why}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["request_id"].as_str(),
        headers["x-request-id"].to_str().ok(),
        "{why}: the request id"
    );
    body
}

fn fields_of(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

on_both_backends!(
    csv_export_quotes_every_cell_and_neutralises_formulas_after_separators,
    control_characters_in_single_line_text_are_422_on_their_member,
    a_flood_of_unknown_answer_keys_gets_a_small_422,
    validation_errors_are_capped_with_a_count_of_the_rest,
    undecodable_path_parameters_are_problems_with_a_request_id,
);

async fn csv_export_quotes_every_cell_and_neutralises_formulas_after_separators(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let (id, slug, token) = owner_with_form(&server).await;
    let answers = json!({"name": "Bob;+cmd|' /C calc'!A0", "bio": "ok\n=1+1", "label": "plain"});
    let response = submit(&server, &slug, &json!({"submission_token": token, "answers": answers})).await;
    assert_eq!(response.status(), 201);
    let text = server
        .get(&format!("/api/forms/{id}/responses.csv"))
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(
        lines[0].ends_with(r#","Name","Bio","'Bob;=1+1""#),
        "every header cell quoted, a label with a formula after `;` neutralised: {}",
        lines[0]
    );
    for (needle, why) in [
        (r#""'Bob;+cmd|' /C calc'!A0""#, "a formula after `;`"),
        ("\"'ok\n=1+1\"", "a formula after a newline"),
        (r#""plain""#, "plain text is quoted too"),
    ] {
        assert!(text.contains(needle), "{why}: {text}");
    }
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!(&row[2], "'Bob;+cmd|' /C calc'!A0", "a CSV reader reads the cell back");
}

async fn control_characters_in_single_line_text_are_422_on_their_member(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let (id, slug, token) = owner_with_form(&server).await;
    let field = |label: &str| json!([{"key": "a", "label": label, "type": "short_text"}]);
    let choice = |option: &str| json!([{"key": "a", "label": "A", "type": "choice", "options": ["x", option]}]);
    let cases = [
        (json!({"title": "A\u{0}B"}), "title", "a NUL in the title"),
        (json!({"title": "A\nB"}), "title", "a newline in the title"),
        (json!({"title": "A\u{1b}[31mB"}), "title", "an escape in the title"),
        (
            json!({"title": "T", "description": "a\u{0}b"}),
            "description",
            "a NUL in the description",
        ),
        (
            json!({"title": "T", "description": "a\u{7}b"}),
            "description",
            "a bell in the description",
        ),
        (
            json!({"title": "T", "fields": field("A\u{0}")}),
            "fields[0].label",
            "a NUL in a label",
        ),
        (
            json!({"title": "T", "fields": field("A\rB")}),
            "fields[0].label",
            "a CR in a label",
        ),
        (
            json!({"title": "T", "fields": choice("y\u{0}")}),
            "fields[0].options",
            "a NUL in an option",
        ),
        (
            json!({"title": "T", "fields": choice("y\u{85}z")}),
            "fields[0].options",
            "a C1 control in an option",
        ),
        (
            json!({"title": "T", "webhook_url": "https://a.example/\u{0}"}),
            "webhook_url",
            "a NUL in a URL",
        ),
    ];
    for (body, member, why) in &cases {
        let body = problem(server.post_json("/api/forms", body).await, 422, why).await;
        assert!(fields_of(&body).contains(&(*member).to_owned()), "{why}: {body}");
    }
    let patched = server
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/forms/{id}"),
            &json!({"title": "x\u{0}"}),
        )
        .await;
    let body = problem(patched, 422, "a NUL in a patched title").await;
    assert_eq!(fields_of(&body), ["title"]);

    let multiline = json!({"title": "T", "description": "line one\r\n\tline two"});
    assert_eq!(
        server.post_json("/api/forms", &multiline).await.status(),
        201,
        "newlines and tabs in a description"
    );

    let answers = [
        (json!({"name": "Ada\u{0}"}), "answers.name", "a NUL in a short answer"),
        (
            json!({"name": "Ada", "bio": "x\u{0}y"}),
            "answers.bio",
            "a NUL in a long answer",
        ),
    ];
    for (answers, member, why) in &answers {
        let response = submit(&server, &slug, &json!({"submission_token": token, "answers": answers})).await;
        let body = problem(response, 422, why).await;
        assert!(fields_of(&body).contains(&(*member).to_owned()), "{why}: {body}");
    }
    let fine = json!({"name": "Ada", "bio": "one\r\ntwo\tthree"});
    let response = submit(&server, &slug, &json!({"submission_token": token, "answers": fine})).await;
    assert_eq!(response.status(), 201, "a long answer keeps its newlines and tabs");
}

/// Short distinct keys, so 100,000 of them fit in the 1 MiB body limit.
fn key(mut n: u32) -> String {
    let mut key = String::from("k");
    loop {
        key.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
        if n == 0 {
            return key;
        }
    }
}

async fn a_flood_of_unknown_answer_keys_gets_a_small_422(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let (_, slug, token) = owner_with_form(&server).await;
    let answers: serde_json::Map<String, Value> = (0..100_000).map(|n| (key(n), json!(0))).collect();
    assert_eq!(answers.len(), 100_000);
    let response = submit(&server, &slug, &json!({"submission_token": token, "answers": answers})).await;
    let text_len = response.content_length();
    let body = problem(response, 422, "100,000 unknown keys").await;
    let size = body.to_string().len();
    assert!(size < 16 * 1024, "the body is small: {size} bytes ({text_len:?})");
    assert_eq!(fields_of(&body), ["answers"], "one error, on the answers: {body}");
    assert!(
        body["errors"][0]["message"].as_str().unwrap().contains("100000"),
        "it says how many keys were sent: {body}"
    );
}

async fn validation_errors_are_capped_with_a_count_of_the_rest(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    assert_eq!(server.signup("owner@example.com").await.status(), 201);
    // Each field is wrong three ways: key, label and missing options.
    let fields: Vec<Value> = (0..100)
        .map(|i| json!({"key": format!("Bad{i}"), "label": "", "type": "choice"}))
        .collect();
    let response = server
        .post_json("/api/forms", &json!({"title": "", "fields": fields}))
        .await;
    let body = problem(response, 422, "a definition with 301 errors").await;
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 50, "the first 50 errors");
    assert_eq!(errors[0]["field"], "title", "in order");
    assert_eq!(body["errors_truncated"], 251, "and how many more there were: {body}");
}

async fn undecodable_path_parameters_are_problems_with_a_request_id(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let (id, _, _) = owner_with_form(&server).await;
    let uuid = uuid::Uuid::nil();
    let cases = [
        ("/api/forms/%FF".to_owned(), "invalid UTF-8"),
        ("/api/forms/%C3%28".to_owned(), "an invalid UTF-8 sequence"),
        ("/api/forms/not-a-uuid".to_owned(), "not a UUID"),
        ("/api/forms/%FF/responses".to_owned(), "invalid UTF-8 before /responses"),
        (
            "/api/forms/%FF/responses.csv".to_owned(),
            "invalid UTF-8 before /responses.csv",
        ),
        (
            format!("/api/forms/{id}/responses/%FF/files/{uuid}"),
            "a bad response id",
        ),
        (format!("/api/forms/{id}/responses/{uuid}/files/12"), "a bad file id"),
        ("/api/public/forms/%FF".to_owned(), "a public slug of invalid UTF-8"),
    ];
    for (path, why) in &cases {
        let body = problem(server.get(path).await, 404, why).await;
        assert_eq!(body["type"], "urn:keel:problem:not-found", "{why}");
    }
    let post = reqwest::Client::new()
        .post(server.url("/api/public/forms/%FF%FE/responses"))
        .json(&json!({"submission_token": "x"}))
        .send()
        .await
        .unwrap();
    problem(post, 404, "a submission to a slug of invalid UTF-8").await;
    let patch = server
        .send_json(reqwest::Method::PATCH, "/api/forms/%FF", &json!({"title": "T"}))
        .await;
    problem(patch, 404, "PATCH with invalid UTF-8").await;
}
