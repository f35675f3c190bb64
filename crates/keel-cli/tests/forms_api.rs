//! The forms service over HTTP on SQLite and PostgreSQL: the owner API,
//! public fetch and submission, responses, CSV export, caching.

use keel_forms::settings::FormsSettings;
use keel_testkit::{on_both_backends, Backend, TestServer};
use serde_json::{json, Value};

fn sample_form() -> Value {
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
async fn owner_with_form(server: &TestServer) -> Value {
    assert_eq!(server.signup("owner@example.com").await.status(), 201);
    let response = server.post_json("/api/forms", &sample_form()).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn fetch_public(server: &TestServer, slug: &str) -> Value {
    let response = reqwest::get(server.url(&format!("/api/public/forms/{slug}")))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// A cookie-less submission, as an embedded form on another site sends it.
async fn submit(server: &TestServer, slug: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url(&format!("/api/public/forms/{slug}/responses")))
        .json(body)
        .send()
        .await
        .unwrap()
}

fn good_answers() -> Value {
    json!({"name": "Ada", "email": "ada@example.com", "age": 36, "track": "systems", "topics": ["rust"]})
}

on_both_backends!(
    owners_create_read_list_update_and_delete_forms,
    another_users_form_is_404,
    invalid_definitions_get_one_error_per_member,
    public_submission_is_stored_and_listed,
    submissions_are_validated_per_field_and_unknown_fields_refused,
    tokens_honeypot_closed_forms_and_rate_limits,
    pagination_stays_correct_while_responses_arrive,
    csv_export_neutralises_formulas,
    public_form_is_cached_and_invalidated_on_update,
    deleting_a_form_removes_its_responses,
    a_submission_against_a_stale_cached_form_is_404_and_stores_nothing,
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

async fn public_submission_is_stored_and_listed(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let form = owner_with_form(&server).await;
    let slug = form["slug"].as_str().unwrap();
    let public = fetch_public(&server, slug).await;
    assert_eq!(public["title"], "Conference sign-up");
    assert!(
        public.get("webhook_url").is_none() && public.get("id").is_none(),
        "the public view hides the owner's settings"
    );
    let token = public["submission_token"].as_str().unwrap();

    let response = submit(
        &server,
        slug,
        &json!({"submission_token": token, "answers": good_answers()}),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cross-origin-resource-policy"], "cross-origin");
    let created: Value = response.json().await.unwrap();
    let again = submit(
        &server,
        slug,
        &json!({"submission_token": token, "answers": good_answers()}),
    )
    .await;
    assert_eq!(again.status(), 201, "a token is reusable within its age");

    let id = form["id"].as_str().unwrap();
    let list = server.responses(id).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["id"], created["id"], "newest first");
    assert_eq!(items[1]["answers"]["name"], "Ada");

    let embedded = reqwest::Client::new()
        .get(server.url(&format!("/api/public/forms/{slug}")))
        .header("origin", "https://embed.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        embedded.headers()["access-control-allow-origin"],
        "https://embed.example.com"
    );
    assert!(
        embedded.headers().get("access-control-allow-credentials").is_none(),
        "never with credentials"
    );
    let foreign = reqwest::Client::new()
        .get(server.url(&format!("/api/public/forms/{slug}")))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(foreign.headers().get("access-control-allow-origin").is_none());
    let preflight = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            server.url(&format!("/api/public/forms/{slug}/responses")),
        )
        .header("origin", "https://embed.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert!(preflight.headers().get("access-control-allow-credentials").is_none());
}

async fn submissions_are_validated_per_field_and_unknown_fields_refused(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let form = owner_with_form(&server).await;
    let slug = form["slug"].as_str().unwrap();
    let token = fetch_public(&server, slug).await["submission_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = submit(
        &server,
        slug,
        &json!({"submission_token": token, "answers": {"email": "nope", "age": "old", "track": "cooking", "shoe_size": 44}}),
    )
    .await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for expected in [
        "answers.name",
        "answers.email",
        "answers.age",
        "answers.track",
        "answers.shoe_size",
    ] {
        assert!(fields.contains(&expected), "{expected} in {fields:?}");
    }
    let cases = [
        ("{", 400, "broken JSON"),
        (r#"{"answers": {}}"#, 422, "no token"),
        (
            r#"{"submission_token": "x", "answers": {}, "extra": 1}"#,
            422,
            "an unknown member",
        ),
    ];
    for (body, status, why) in cases {
        let response = reqwest::Client::new()
            .post(server.url(&format!("/api/public/forms/{slug}/responses")))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{why}");
    }
    let text = reqwest::Client::new()
        .post(server.url(&format!("/api/public/forms/{slug}/responses")))
        .header("content-type", "text/plain")
        .body("name=Ada")
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 415);
    let id = form["id"].as_str().unwrap();
    let list = server.responses(id).await;
    assert!(list["items"].as_array().unwrap().is_empty(), "nothing was stored");
}

async fn tokens_honeypot_closed_forms_and_rate_limits(backend: Backend) {
    let server = TestServer::spawn_with(keel_cli::site(), backend, |s| {
        s.update_section(|f: &mut FormsSettings| {
            f.submission_rate = keel::settings::Rate {
                count: 6,
                period: std::time::Duration::from_secs(60),
            }
        });
    })
    .await;
    let form = owner_with_form(&server).await;
    let slug = form["slug"].as_str().unwrap();
    let id = form["id"].as_str().unwrap();
    let token = fetch_public(&server, slug).await["submission_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let forged = submit(
        &server,
        slug,
        &json!({"submission_token": format!("{id}.1.AAAA"), "answers": good_answers()}),
    )
    .await;
    assert_eq!(forged.status(), 403, "a forged token");
    let other = server
        .post_json("/api/forms", &sample_form())
        .await
        .json::<Value>()
        .await
        .unwrap();
    let other_token = fetch_public(&server, other["slug"].as_str().unwrap()).await["submission_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong_form = submit(
        &server,
        slug,
        &json!({"submission_token": other_token, "answers": good_answers()}),
    )
    .await;
    assert_eq!(wrong_form.status(), 403, "a token of another form");

    let bot = submit(
        &server,
        slug,
        &json!({"submission_token": token, "answers": good_answers(), "_hp": "http://spam"}),
    )
    .await;
    assert_eq!(bot.status(), 201, "the honeypot answers like a success");

    let closed = server
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/forms/{id}"),
            &json!({"accepting_responses": false}),
        )
        .await;
    assert_eq!(closed.status(), 200);
    let refused = submit(
        &server,
        slug,
        &json!({"submission_token": token, "answers": good_answers()}),
    )
    .await;
    assert_eq!(refused.status(), 409);
    let problem: Value = refused.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("not accepting"));

    let list = server.responses(id).await;
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "the bot's submission was not stored"
    );

    // Counted so far: the honeypot and the refused one (the two 403s are
    // not: a bad token does not spend the budget).
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            submit(
                &server,
                slug,
                &json!({"submission_token": token, "answers": good_answers()}),
            )
            .await
            .status()
            .as_u16(),
        );
    }
    assert_eq!(
        statuses.last(),
        Some(&429),
        "the seventh submission from one address is refused: {statuses:?}"
    );
}

async fn pagination_stays_correct_while_responses_arrive(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let form = owner_with_form(&server).await;
    let (slug, id) = (form["slug"].as_str().unwrap(), form["id"].as_str().unwrap());
    let token = fetch_public(&server, slug).await["submission_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut submitted = Vec::new();
    for i in 0..5 {
        let mut answers = good_answers();
        answers["name"] = json!(format!("n{i}"));
        let r: Value = submit(&server, slug, &json!({"submission_token": token, "answers": answers}))
            .await
            .json()
            .await
            .unwrap();
        submitted.push(r["id"].as_str().unwrap().to_owned());
    }
    let first: Value = server
        .get(&format!("/api/forms/{id}/responses?limit=2"))
        .await
        .json()
        .await
        .unwrap();
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    // New responses arrive between pages.
    for _ in 0..3 {
        submit(
            &server,
            slug,
            &json!({"submission_token": token, "answers": good_answers()}),
        )
        .await;
    }
    let mut seen: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let mut next = Some(cursor);
    while let Some(cursor) = next {
        let page: Value = server
            .get(&format!("/api/forms/{id}/responses?limit=2&cursor={cursor}"))
            .await
            .json()
            .await
            .unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned()),
        );
        next = page["next_cursor"].as_str().map(str::to_owned);
    }
    submitted.reverse();
    assert_eq!(seen, submitted, "every older response exactly once, in order");
    assert_eq!(
        server
            .get(&format!("/api/forms/{id}/responses?cursor=garbage"))
            .await
            .status(),
        400
    );
    let bad_limit = server.get(&format!("/api/forms/{id}/responses?limit=abc")).await;
    assert_eq!(bad_limit.status(), 400);
    assert_eq!(
        bad_limit.headers()["content-type"],
        "application/problem+json",
        "a malformed query is a problem too"
    );
}

async fn csv_export_neutralises_formulas(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let form = owner_with_form(&server).await;
    let (slug, id) = (form["slug"].as_str().unwrap(), form["id"].as_str().unwrap());
    let token = fetch_public(&server, slug).await["submission_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut answers = good_answers();
    answers["name"] = json!("=HYPERLINK(\"http://evil\")");
    submit(&server, slug, &json!({"submission_token": token, "answers": answers})).await;
    let response = server.get(&format!("/api/forms/{id}/responses.csv")).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        headers,
        ["response_id", "created_at", "Name", "Email", "Age", "Track", "'=Topics"],
        "labels neutralised too"
    );
    let row: Vec<String> = reader
        .records()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(row[2], "'=HYPERLINK(\"http://evil\")");
    assert_eq!(row[6], "rust");
}

async fn public_form_is_cached_and_invalidated_on_update(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let form = owner_with_form(&server).await;
    let (slug, id) = (form["slug"].as_str().unwrap(), form["id"].as_str().unwrap());
    fetch_public(&server, slug).await;
    let key = format!("forms:public:{slug}");
    assert!(
        server.core.cache.get(&key).await.unwrap().is_some(),
        "the fetch filled the cache"
    );
    server
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/forms/{id}"),
            &json!({"title": "New title"}),
        )
        .await;
    let held = server.core.cache.get_versioned::<Value>(&key).await.unwrap();
    assert!(held.is_none(), "the update invalidated it");
    assert_eq!(fetch_public(&server, slug).await["title"], "New title");
    server
        .send_json(reqwest::Method::DELETE, &format!("/api/forms/{id}"), &json!({}))
        .await;
    let gone = reqwest::get(server.url(&format!("/api/public/forms/{slug}")))
        .await
        .unwrap();
    assert_eq!(gone.status(), 404, "a deleted form is gone from the cache too");
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

#[tokio::test]
async fn two_instances_sharing_redis_see_invalidations() {
    let Some(redis) = keel_testkit::redis_url().await else {
        return;
    };
    let prefix = format!("keeltest-{}", uuid::Uuid::new_v4().simple());
    let shared = move |s: &mut keel::Settings| {
        s.cache.backend = keel::settings::CacheBackendKind::Redis(redis.clone().into());
        s.cache.key_prefix = prefix.clone();
    };
    let a = TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, shared.clone()).await;
    let b = a.spawn_sharing(shared).await;
    let form = owner_with_form(&a).await;
    let (slug, id) = (form["slug"].as_str().unwrap(), form["id"].as_str().unwrap());
    assert_eq!(
        fetch_public(&b, slug).await["title"],
        "Conference sign-up",
        "b caches the form"
    );
    a.send_json(
        reqwest::Method::PATCH,
        &format!("/api/forms/{id}"),
        &json!({"title": "Changed on a"}),
    )
    .await;
    assert_eq!(
        fetch_public(&b, slug).await["title"],
        "Changed on a",
        "a's update reached b through Redis"
    );
    let token = fetch_public(&b, slug).await["submission_token"]
        .as_str()
        .unwrap()
        .to_owned();
    a.send_json(
        reqwest::Method::PATCH,
        &format!("/api/forms/{id}"),
        &json!({"accepting_responses": false}),
    )
    .await;
    let closed = submit(&b, slug, &json!({"submission_token": token, "answers": good_answers()})).await;
    assert_eq!(
        closed.status(),
        409,
        "b's submissions read the form from the cache a invalidated"
    );
}

/// Each instance has its own memory cache here, so b still holds the form
/// a deleted. The submission b accepts against it is refused by the
/// database (the form is gone): 404, nothing stored, no 500.
async fn a_submission_against_a_stale_cached_form_is_404_and_stores_nothing(backend: Backend) {
    let a = TestServer::spawn(keel_cli::site(), backend).await;
    let b = a.spawn_sharing(|_| {}).await;
    let form = owner_with_form(&a).await;
    let (slug, id) = (form["slug"].as_str().unwrap(), form["id"].as_str().unwrap());
    let token = fetch_public(&b, slug).await["submission_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let deleted = a
        .send_json(reqwest::Method::DELETE, &format!("/api/forms/{id}"), &json!({}))
        .await;
    assert_eq!(deleted.status(), 204);
    let response = submit(&b, slug, &json!({"submission_token": token, "answers": good_answers()})).await;
    assert_eq!(response.status(), 404);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["status"], 404);
    let stored: i64 = keel::on_pool!(&a.core.db, pool => {
        sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM form_responses").fetch_one(pool).await.unwrap().0
    });
    assert_eq!(stored, 0);
}
