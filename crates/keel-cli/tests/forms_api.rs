//! The forms owner API over HTTP on SQLite and PostgreSQL: create, read,
//! list, update and delete, ownership, and definitions refused member by
//! member.

mod forms_common;

use forms_common::{fetch_public, good_answers, owner_with_form, submit};
use keel_testkit::{on_both_backends, Backend, TestServer};
use serde_json::{json, Value};

on_both_backends!(
    owners_create_read_list_update_and_delete_forms,
    another_users_form_is_404,
    invalid_definitions_get_one_error_per_member,
    deleting_a_form_removes_its_responses,
);

async fn owners_create_read_list_update_and_delete_forms(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let form = owner_with_form(&server).await;
    let id = form["id"].as_str().unwrap();
    let slug = form["slug"].as_str().unwrap();
    assert!(
        slug.len() >= 10 && slug.chars().all(|c| c.is_ascii_alphanumeric()),
        "{slug}"
    );
    assert_eq!(form["fields"][0]["key"], "name");
    assert_eq!(form["accepting_responses"], true);

    let got: Value = server.get(&format!("/api/forms/{id}")).await.json().await.unwrap();
    assert_eq!(got, form);

    let patched = server
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/forms/{id}"),
            &json!({"title": "Renamed"}),
        )
        .await;
    assert_eq!(patched.status(), 200);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["title"], "Renamed");
    assert_eq!(patched["fields"], form["fields"], "PATCH changes only what it names");
    assert_eq!(patched["description"], form["description"]);

    let list: Value = server.get("/api/forms").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["next_cursor"].is_null());

    let deleted = server
        .send_json(reqwest::Method::DELETE, &format!("/api/forms/{id}"), &json!({}))
        .await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(server.get(&format!("/api/forms/{id}")).await.status(), 404);
    assert_eq!(server.get("/api/forms").await.status(), 200);
    let anonymous = reqwest::get(server.url("/api/forms")).await.unwrap();
    assert_eq!(anonymous.status(), 401, "the owner API needs a login");
}

async fn another_users_form_is_404(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let form = owner_with_form(&server).await;
    let id = form["id"].as_str().unwrap();
    let intruder = server.new_client();
    let signup = server
        .send_json_with(
            &intruder,
            reqwest::Method::POST,
            "/api/auth/signup",
            &json!({"email": "eve@example.com", "password": keel_testkit::GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(signup.status(), 201);
    for (method, path) in [
        (reqwest::Method::GET, format!("/api/forms/{id}")),
        (reqwest::Method::PATCH, format!("/api/forms/{id}")),
        (reqwest::Method::DELETE, format!("/api/forms/{id}")),
        (reqwest::Method::GET, format!("/api/forms/{id}/responses")),
        (reqwest::Method::GET, format!("/api/forms/{id}/responses.csv")),
    ] {
        let response = server
            .send_json_with(&intruder, method.clone(), &path, &json!({"title": "mine"}))
            .await;
        assert_eq!(response.status(), 404, "{method} {path}");
    }
    let list: Value = intruder
        .get(server.url("/api/forms"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list["items"].as_array().unwrap().is_empty());
    assert_eq!(server.get("/api/forms/not-a-uuid").await.status(), 404);
}

async fn invalid_definitions_get_one_error_per_member(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    server.signup("owner@example.com").await;
    let response = server
        .post_json(
            "/api/forms",
            &json!({
                "title": "",
                "fields": [
                    {"key": "a", "label": "A", "type": "short_text"},
                    {"key": "a", "label": "B", "type": "choice"},
                    {"key": "c", "label": "C", "type": "nonsense"}
                ]
            }),
        )
        .await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert!(!problem["errors"].as_array().unwrap().is_empty(), "{problem}");

    let response = server
        .post_json("/api/forms", &json!({"title": "", "fields": [{"key": "a", "label": "A", "type": "short_text"}, {"key": "a", "label": "B", "type": "choice"}]}))
        .await;
    let problem: Value = response.json().await.unwrap();
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for expected in ["title", "fields[1].key", "fields[1].options"] {
        assert!(fields.contains(&expected), "{expected} in {fields:?}");
    }
    let webhook = server
        .post_json("/api/forms", &json!({"title": "T", "webhook_url": "ftp://x.example"}))
        .await;
    assert_eq!(webhook.status(), 422, "a webhook URL that is not http(s)");
}

async fn deleting_a_form_removes_its_responses(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let form = owner_with_form(&server).await;
    let (slug, id) = (form["slug"].as_str().unwrap(), form["id"].as_str().unwrap());
    let token = fetch_public(&server, slug).await["submission_token"]
        .as_str()
        .unwrap()
        .to_owned();
    submit(
        &server,
        slug,
        &json!({"submission_token": token, "answers": good_answers()}),
    )
    .await;
    server
        .send_json(reqwest::Method::DELETE, &format!("/api/forms/{id}"), &json!({}))
        .await;
    let left: i64 = keel::on_pool!(&server.core.db, pool => {
        sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM form_responses").fetch_one(pool).await.unwrap().0
    });
    assert_eq!(left, 0);
}
