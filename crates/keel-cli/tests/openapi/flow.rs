//! The steps of the live check: each drives part of the API, good
//! requests and bad, and checks every answer against the document.

use keel_testkit::{TestServer, GOOD_PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{every_kind_of_field, good_answers, send_raw, submit, submit_multipart, FILE, PDF, SUBMIT};
use crate::contract::Contract;

pub(crate) async fn accounts(server: &TestServer, api: &Contract) {
    let invalid = server
        .post_json(
            "/api/auth/signup",
            &json!({"email": "not-an-email", "password": "short"}),
        )
        .await;
    let invalid = api.check("POST", "/api/auth/signup", invalid).await;
    assert_eq!(invalid.status, 422);
    assert!(
        invalid.json["errors"].as_array().is_some_and(|e| e.len() >= 2),
        "{}",
        invalid.json
    );
    let credentials = json!({"email": "owner@example.com", "password": GOOD_PASSWORD});
    api.check_request("POST", "/api/auth/signup", &credentials);
    let no_csrf = reqwest::Client::new()
        .post(server.url("/api/auth/signup"))
        .json(&credentials)
        .send()
        .await;
    assert_eq!(
        api.check("POST", "/api/auth/signup", no_csrf.expect("up")).await.status,
        403
    );
    let created = api
        .check("POST", "/api/auth/signup", server.signup("owner@example.com").await)
        .await;
    assert_eq!(created.status, 201);
    assert_eq!(created.json["email"], "owner@example.com");
    let cookies: Vec<_> = created
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("sessionid=")),
        "signup sets the session cookie: {cookies:?}"
    );
    assert_eq!(
        api.check("GET", "/api/auth/me", server.get("/api/auth/me").await)
            .await
            .status,
        200
    );

    let out = server.post_json("/api/auth/logout", &json!({})).await;
    assert_eq!(api.check("POST", "/api/auth/logout", out).await.status, 204);
    assert_eq!(
        api.check("GET", "/api/auth/me", server.get("/api/auth/me").await)
            .await
            .status,
        401
    );
    let wrong = server.login("owner@example.com", "not the password at all").await;
    assert_eq!(api.check("POST", "/api/auth/login", wrong).await.status, 401);
    api.check_request("POST", "/api/auth/login", &credentials);
    let login = server.login("owner@example.com", GOOD_PASSWORD).await;
    assert_eq!(api.check("POST", "/api/auth/login", login).await.status, 200);
}

/// Creates, lists, reads and changes a form, with each way a body can be
/// wrong; returns the form.
pub(crate) async fn owner_forms(server: &TestServer, api: &Contract) -> Value {
    let invalid = json!({"title": "", "fields": [
        {"key": "a", "label": "A", "type": "short_text"},
        {"key": "a", "label": "B", "type": "choice"}
    ]});
    let invalid = api
        .check("POST", "/api/forms", server.post_json("/api/forms", &invalid).await)
        .await;
    assert_eq!(invalid.status, 422);
    let unknown_type = json!({"title": "T", "fields": [{"key": "a", "label": "A", "type": "nonsense"}]});
    let unknown_type = server.post_json("/api/forms", &unknown_type).await;
    assert_eq!(api.check("POST", "/api/forms", unknown_type).await.status, 422);
    let broken = send_raw(server, Method::POST, "/api/forms", "application/json", "{\"title\": ").await;
    assert_eq!(api.check("POST", "/api/forms", broken).await.status, 400);
    let text = send_raw(server, Method::POST, "/api/forms", "text/plain", "title=T").await;
    assert_eq!(api.check("POST", "/api/forms", text).await.status, 415);
    let huge = format!("{{\"title\": \"{}\"}}", "x".repeat(2 << 20));
    let huge = send_raw(server, Method::POST, "/api/forms", "application/json", huge).await;
    assert_eq!(api.check("POST", "/api/forms", huge).await.status, 413);

    let definition = every_kind_of_field();
    api.check_request("POST", "/api/forms", &definition);
    let created = api
        .check("POST", "/api/forms", server.post_json("/api/forms", &definition).await)
        .await;
    assert_eq!(created.status, 201);
    let form = created.json;
    let id = form["id"].as_str().expect("an id");
    let listed = api
        .check("GET", "/api/forms", server.get("/api/forms?limit=1").await)
        .await;
    assert_eq!(listed.json["items"][0]["id"], form["id"]);
    let foreign_cursor = server.get("/api/forms?cursor=garbage").await;
    assert_eq!(api.check("GET", "/api/forms", foreign_cursor).await.status, 400);
    let got = api
        .check("GET", "/api/forms/{id}", server.get(&format!("/api/forms/{id}")).await)
        .await;
    assert_eq!(got.json, form);
    let not_a_uuid = server.get("/api/forms/not-a-uuid").await;
    assert_eq!(api.check("GET", "/api/forms/{id}", not_a_uuid).await.status, 404);

    let patch = json!({"title": "Renamed", "webhook_url": null, "embed_origins": ["https://embed.example.com"]});
    api.check_request("PATCH", "/api/forms/{id}", &patch);
    let patched = server
        .send_json(Method::PATCH, &format!("/api/forms/{id}"), &patch)
        .await;
    let patched = api.check("PATCH", "/api/forms/{id}", patched).await;
    assert_eq!(patched.json["title"], "Renamed");
    let unknown_member = server
        .send_json(Method::PATCH, &format!("/api/forms/{id}"), &json!({"colour": "red"}))
        .await;
    assert_eq!(api.check("PATCH", "/api/forms/{id}", unknown_member).await.status, 422);
    form
}

pub(crate) async fn public_submissions(server: &TestServer, api: &Contract, id: &str, slug: &str) {
    let public = reqwest::get(server.url(&format!("/api/public/forms/{slug}")))
        .await
        .expect("up");
    let public = api.check("GET", "/api/public/forms/{slug}", public).await;
    assert_eq!(public.status, 200);
    let token = public.json["submission_token"].as_str().expect("a token").to_owned();
    let missing = reqwest::get(server.url("/api/public/forms/doesnotexist0"))
        .await
        .expect("up");
    assert_eq!(api.check("GET", "/api/public/forms/{slug}", missing).await.status, 404);

    let good = json!({"submission_token": token, "answers": good_answers()});
    api.check_request("POST", SUBMIT, &good);
    let stored = api.check("POST", SUBMIT, submit(server, slug, &good).await).await;
    assert_eq!(stored.status, 201);
    let parts = json!({"submission_token": token, "answers": good_answers(), "cv": "%PDF-1.7"});
    api.check_request_as("POST", SUBMIT, "multipart/form-data", &parts);
    let with_file = api
        .check("POST", SUBMIT, submit_multipart(server, slug, &token).await)
        .await;
    assert_eq!(with_file.status, 201, "{}", with_file.text);
    let honeypot = json!({"submission_token": token, "answers": good_answers(), "_hp": ""});
    api.check_request("POST", SUBMIT, &honeypot);
    assert_eq!(
        api.check("POST", SUBMIT, submit(server, slug, &honeypot).await)
            .await
            .status,
        201
    );
    let bad_answers = json!({"submission_token": token, "answers": {"email": "nope", "age": "old", "shoe": 44}});
    let bad_answers = api
        .check("POST", SUBMIT, submit(server, slug, &bad_answers).await)
        .await;
    assert_eq!(bad_answers.status, 422);
    let forged = json!({"submission_token": format!("{id}.1.AAAA"), "answers": good_answers()});
    assert_eq!(
        api.check("POST", SUBMIT, submit(server, slug, &forged).await)
            .await
            .status,
        403
    );
    let to_missing = api
        .check("POST", SUBMIT, submit(server, "doesnotexist0", &good).await)
        .await;
    assert_eq!(to_missing.status, 404);
    let url = server.url(&format!("/api/public/forms/{slug}/responses"));
    for (content_type, body, status, why) in [
        ("application/json", "{", 400, "broken JSON"),
        ("text/plain", "name=Ada", 415, "not JSON"),
        ("application/json", r#"{"answers": {}}"#, 422, "no token"),
    ] {
        let response = reqwest::Client::new()
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("up");
        assert_eq!(api.check("POST", SUBMIT, response).await.status, status, "{why}");
    }
}

pub(crate) async fn another_owner_sees_404(server: &TestServer, api: &Contract, id: &str) {
    let intruder = server.new_client();
    let signup = json!({"email": "eve@example.com", "password": GOOD_PASSWORD});
    let signup = server
        .send_json_with(&intruder, Method::POST, "/api/auth/signup", &signup)
        .await;
    assert_eq!(signup.status(), 201);
    for (method, template) in [
        ("GET", "/api/forms/{id}"),
        ("PATCH", "/api/forms/{id}"),
        ("DELETE", "/api/forms/{id}"),
        ("GET", "/api/forms/{id}/responses"),
        ("GET", "/api/forms/{id}/responses.csv"),
    ] {
        let method_value = Method::from_bytes(method.as_bytes()).expect("a method");
        let path = template.replace("{id}", id);
        let response = server
            .send_json_with(&intruder, method_value, &path, &json!({"title": "mine"}))
            .await;
        assert_eq!(
            api.check(method, template, response).await.status,
            404,
            "{method} {template}"
        );
    }
}

pub(crate) async fn responses_and_closing(server: &TestServer, api: &Contract, id: &str, slug: &str) {
    let page = server.get(&format!("/api/forms/{id}/responses?limit=1")).await;
    let page = api.check("GET", "/api/forms/{id}/responses", page).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.json["items"][0]["answers"]["name"], "Ada");
    let cursor = page.json["next_cursor"].as_str().expect("a second page").to_owned();
    let next = server
        .get(&format!("/api/forms/{id}/responses?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(api.check("GET", "/api/forms/{id}/responses", next).await.status, 200);
    let foreign = server.get(&format!("/api/forms/{id}/responses?cursor=garbage")).await;
    assert_eq!(api.check("GET", "/api/forms/{id}/responses", foreign).await.status, 400);
    downloads(server, api, id).await;
    let csv = api
        .check(
            "GET",
            "/api/forms/{id}/responses.csv",
            server.get(&format!("/api/forms/{id}/responses.csv")).await,
        )
        .await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.text.starts_with(r#""response_id","created_at","Name""#),
        "every cell quoted: {}",
        csv.text
    );

    let token = reqwest::get(server.url(&format!("/api/public/forms/{slug}")))
        .await
        .expect("up")
        .json::<Value>()
        .await
        .expect("a public form")["submission_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let close = json!({"accepting_responses": false});
    let closed = server
        .send_json(Method::PATCH, &format!("/api/forms/{id}"), &close)
        .await;
    assert_eq!(api.check("PATCH", "/api/forms/{id}", closed).await.status, 200);
    let refused = submit(
        server,
        slug,
        &json!({"submission_token": token, "answers": good_answers()}),
    )
    .await;
    assert_eq!(api.check("POST", SUBMIT, refused).await.status, 409);
}

/// The uploaded PDF: whole, a range, and a range past its end.
async fn downloads(server: &TestServer, api: &Contract, id: &str) {
    let all: Value = server
        .get(&format!("/api/forms/{id}/responses?limit=100"))
        .await
        .json()
        .await
        .expect("a page");
    let items = all["items"].as_array().expect("items");
    let with_file = items
        .iter()
        .find(|r| r["files"][0].is_object())
        .expect("the multipart response");
    let file = &with_file["files"][0];
    assert_eq!(
        (file["field"].as_str(), file["size"].as_u64()),
        (Some("cv"), Some(PDF.len() as u64))
    );
    let path = format!(
        "/api/forms/{id}/responses/{}/files/{}",
        with_file["id"].as_str().expect("an id"),
        file["id"].as_str().expect("a file id")
    );
    let whole = api.check("GET", FILE, server.get(&path).await).await;
    assert_eq!((whole.status, whole.text.as_bytes()), (200, PDF));
    let ranged = |range: &'static str| server.client.get(server.url(&path)).header("range", range).send();
    let part = api.check("GET", FILE, ranged("bytes=0-3").await.expect("up")).await;
    assert_eq!((part.status, part.text.as_str()), (206, "%PDF"));
    let past = api.check("GET", FILE, ranged("bytes=100000-").await.expect("up")).await;
    assert_eq!(past.status, 416);
    let unknown = server
        .get(&format!(
            "/api/forms/{id}/responses/{}/files/{id}",
            with_file["id"].as_str().expect("an id")
        ))
        .await;
    assert_eq!(api.check("GET", FILE, unknown).await.status, 404);
}
