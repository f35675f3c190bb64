//! The public form cache under concurrency and under size, over HTTP, on
//! SQLite and PostgreSQL, with the memory cache and with Redis.
//!
//! The race: a fetch that read the form before an owner's PATCH must never
//! put the old definition back in the cache after the PATCH's
//! invalidation, and a submission must never be accepted against an old
//! definition (a closed form, an old webhook URL).

use keel::settings::{CacheBackendKind, Rate};
use keel::Settings;
use keel_forms::settings::FormsSettings;
use keel_testkit::{on_both_backends, Backend, TestServer};
use serde_json::{json, Value};

/// Rounds of fetch + PATCH + submit per backend and cache.
const ROUNDS: usize = 60;
/// Concurrent fetches racing each PATCH.
const FETCHERS: usize = 4;

/// A form whose public JSON is about `kib` KiB (choice fields with long
/// options), so encoding it takes long enough for the race to be hit.
fn form_of_about(kib: usize) -> Value {
    let option = "o".repeat(60);
    let per_field = 100 * (option.len() + 3);
    let fields: Vec<Value> = (0..(kib * 1024 / per_field).max(1))
        .map(|i| {
            let options: Vec<String> = (0..100).map(|j| format!("{option}{j:02}")).collect();
            json!({"key": format!("f{i}"), "label": "Pick", "type": "choice", "options": options})
        })
        .collect();
    json!({"title": "Big", "fields": fields})
}

fn no_submission_limit(s: &mut Settings) {
    s.update_section(|f: &mut FormsSettings| {
        f.submission_rate = Rate {
            count: 1_000_000,
            period: std::time::Duration::from_secs(60),
        }
    });
}

async fn public(server: &TestServer, slug: &str) -> reqwest::Response {
    reqwest::get(server.url(&format!("/api/public/forms/{slug}")))
        .await
        .expect("the fetch reaches the server")
}

async fn submit(server: &TestServer, slug: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .post(server.url(&format!("/api/public/forms/{slug}/responses")))
        .json(&json!({"submission_token": token, "answers": {}}))
        .send()
        .await
        .expect("the submission reaches the server")
        .status()
        .as_u16()
}

async fn patch(server: &TestServer, id: &str, body: Value) -> u16 {
    server
        .send_json(reqwest::Method::PATCH, &format!("/api/forms/{id}"), &body)
        .await
        .status()
        .as_u16()
}

on_both_backends!(
    no_submission_is_accepted_after_a_close_is_acknowledged_with_the_memory_cache,
    no_submission_is_accepted_after_a_close_is_acknowledged_with_redis,
    a_form_over_the_cacheable_size_is_served_but_not_cached,
);

async fn no_submission_is_accepted_after_a_close_is_acknowledged_with_the_memory_cache(backend: Backend) {
    let server = TestServer::spawn_with(keel_cli::site(), backend, no_submission_limit).await;
    close_races(&server).await;
}

async fn no_submission_is_accepted_after_a_close_is_acknowledged_with_redis(backend: Backend) {
    let Some(redis) = keel_testkit::redis_url().await else {
        return;
    };
    let prefix = format!("keeltest-{}", uuid::Uuid::new_v4().simple());
    let server = TestServer::spawn_with(keel_cli::site(), backend, |s| {
        no_submission_limit(s);
        s.cache.backend = CacheBackendKind::Redis(redis.into());
        s.cache.key_prefix = prefix;
    })
    .await;
    close_races(&server).await;
}

/// Each round: the form is opened and dropped from the cache, then
/// fetches race a PATCH that closes it. Once the PATCH is acknowledged, a
/// fetch must show the form closed and a submission must not be stored.
async fn close_races(server: &TestServer) {
    assert_eq!(server.signup("owner@example.com").await.status(), 201);
    let form: Value = server
        .post_json("/api/forms", &form_of_about(150))
        .await
        .json()
        .await
        .unwrap();
    let (id, slug) = (form["id"].as_str().unwrap(), form["slug"].as_str().unwrap());
    let first: Value = public(server, slug).await.json().await.unwrap();
    let token = first["submission_token"].as_str().unwrap().to_owned();
    let key = format!("forms:public:{slug}");
    for round in 0..ROUNDS {
        assert_eq!(patch(server, id, json!({"accepting_responses": true})).await, 200);
        server.core.cache.delete(&key).await.unwrap();
        let fetches: Vec<_> = (0..FETCHERS)
            .map(|_| {
                let url = server.url(&format!("/api/public/forms/{slug}"));
                tokio::spawn(async move { reqwest::get(url).await.map(|r| r.status().as_u16()) })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_micros(300 * (round % 8) as u64)).await;
        assert_eq!(patch(server, id, json!({"accepting_responses": false})).await, 200);
        for fetch in fetches {
            assert_eq!(fetch.await.unwrap().unwrap(), 200);
        }
        let status = submit(server, slug, &token).await;
        assert_ne!(
            status, 201,
            "round {round}: a submission after the close was acknowledged was accepted"
        );
        assert_eq!(status, 409, "round {round}");
        let shown: Value = public(server, slug).await.json().await.unwrap();
        assert_eq!(
            shown["accepting_responses"], false,
            "round {round}: a fetch after the close was acknowledged shows the form open (stale cache)"
        );
    }
}

/// A form whose public JSON is over the cacheable size is answered from the
/// database every time, so a few such forms cannot fill the memory; a small
/// one is cached as before.
async fn a_form_over_the_cacheable_size_is_served_but_not_cached(backend: Backend) {
    let server = TestServer::spawn_with(keel_cli::site(), backend, no_submission_limit).await;
    assert_eq!(server.signup("owner@example.com").await.status(), 201);
    let cases = [
        (300, false, "a 300 KiB form is not cached"),
        (100, true, "a 100 KiB form is cached"),
    ];
    for (kib, cached, why) in cases {
        let form: Value = server
            .post_json("/api/forms", &form_of_about(kib))
            .await
            .json()
            .await
            .unwrap();
        let slug = form["slug"].as_str().unwrap();
        let response = public(&server, slug).await;
        assert_eq!(response.status(), 200, "{why}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["fields"], form["fields"], "{why}: the whole form is served");
        let token = body["submission_token"].as_str().unwrap();
        assert_eq!(
            submit(&server, slug, token).await,
            201,
            "{why}: and accepts submissions"
        );
        let key = format!("forms:public:{slug}");
        let present = server.core.cache.get(&key).await.unwrap().is_some();
        assert_eq!(present, cached, "{why}");
    }
}
