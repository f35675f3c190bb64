//! Public submissions over HTTP on SQLite and PostgreSQL: stored and
//! listed, validated per field, tokens, the honeypot, closed forms and rate
//! limits, paging while responses arrive, and the CSV export.

mod forms_common;

use forms_common::{fetch_public, good_answers, owner_with_form, sample_form, submit};
use keel_forms::settings::FormsSettings;
use keel_testkit::{on_both_backends, Backend, TestServer};
use serde_json::{json, Value};

on_both_backends!(
    public_submission_is_stored_and_listed,
    submissions_are_validated_per_field_and_unknown_fields_refused,
    tokens_honeypot_closed_forms_and_rate_limits,
    pagination_stays_correct_while_responses_arrive,
    csv_export_neutralises_formulas,
);

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
                // Fixed windows: an hour makes a test that crosses a
                // window's end (and sees its count reset) vanishingly rare.
                period: std::time::Duration::from_secs(3600),
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
