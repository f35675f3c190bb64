//! The public form's cache over HTTP on SQLite and PostgreSQL: filled,
//! invalidated on update (across instances sharing Redis too), and never
//! letting a submission through against a stale copy.

mod forms_common;

use forms_common::{fetch_public, good_answers, owner_with_form, submit};
use keel_testkit::{on_both_backends, Backend, TestServer};
use serde_json::{json, Value};

on_both_backends!(
    public_form_is_cached_and_invalidated_on_update,
    a_submission_against_a_stale_cached_form_is_404_and_stores_nothing,
);

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
