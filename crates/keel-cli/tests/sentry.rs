//! Errors and panics to Sentry (KEEL_SENTRY_DSN), received by a real local
//! HTTP server that takes Sentry envelopes: what arrives, and that no
//! secret does.

mod reports_common;

use std::time::Duration;

use keel_testkit::{on_both_backends, Backend, Receiver, TestServer};
use reports_common::{site, COOKIE_SECRET, QUERY_SECRET};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

on_both_backends!(errors_and_panics_reach_sentry_with_request_id_route_release_and_environment);

/// The event items of the envelopes received so far.
fn events(receiver: &Receiver) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for request in receiver.requests() {
        let mut lines = request.body.lines();
        let _envelope_header = lines.next();
        while let (Some(item_header), Some(payload)) = (lines.next(), lines.next()) {
            let header: Value = serde_json::from_str(item_header).expect("an item header");
            if header["type"] == "event" {
                found.push((request.body.clone(), serde_json::from_str(payload).expect("an event")));
            }
        }
    }
    found
}

async fn get_with_secrets(server: &TestServer, path: &str) -> (u16, String) {
    let response = server
        .new_client()
        .get(server.url(&format!("{path}?token={QUERY_SECRET}")))
        .header("cookie", format!("sessionid={COOKIE_SECRET}"))
        .header("authorization", format!("Bearer {COOKIE_SECRET}"))
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    (response.status().as_u16(), id)
}

async fn errors_and_panics_reach_sentry_with_request_id_route_release_and_environment(backend: Backend) {
    let receiver = Receiver::start().await;
    let dsn = format!("http://0123456789abcdef@{}/42", receiver.addr);
    let server = TestServer::spawn_with(site(), backend, move |s| {
        s.log.sentry_dsn = Some(SecretString::from(dsn));
    })
    .await;
    let (status, failed_id) = get_with_secrets(&server, "/fail/raw-id-99").await;
    assert_eq!(status, 500);
    let (status, panic_id) = get_with_secrets(&server, "/boom").await;
    assert_eq!(status, 500);
    receiver
        .wait_until("two Sentry events", Duration::from_secs(20), |_| {
            events(&receiver).len() >= 2
        })
        .await;
    let requests = receiver.requests();
    assert!(
        requests.iter().all(|r| r.path == "/api/42/envelope/"),
        "the DSN's project"
    );
    let auth = requests[0].header("x-sentry-auth").expect("the Sentry auth header");
    assert!(auth.contains("sentry_key=0123456789abcdef"), "{auth}");

    let events = events(&receiver);
    let by_id = |id: &str| {
        events
            .iter()
            .find(|(_, e)| e["tags"]["request_id"] == id)
            .unwrap_or_else(|| panic!("no event for request {id}: {events:?}"))
    };
    let (raw, error) = by_id(&failed_id);
    assert!(
        error["level"].is_null() || error["level"] == "error",
        "error, Sentry's default level"
    );
    assert_eq!(error["transaction"], "GET /fail/{id}");
    assert_eq!(error["tags"]["route"], "/fail/{id}");
    assert_eq!(error["tags"]["status"], "500");
    assert_eq!(error["release"], format!("keel@{}", env!("CARGO_PKG_VERSION")));
    assert_eq!(error["environment"], "test");
    assert_eq!(error["exception"]["values"][0]["type"], "LedgerError");
    assert_eq!(
        error["exception"]["values"][0]["value"],
        "the ledger could not be balanced"
    );
    assert_eq!(error["extra"]["causes"][1], "disk quota exceeded");
    assert!(error["culprit"].as_str().unwrap().contains("reports_common/mod.rs:"));
    let key = server
        .core
        .settings
        .secret
        .key
        .as_ref()
        .unwrap()
        .expose_secret()
        .to_owned();
    for secret in [QUERY_SECRET, COOKIE_SECRET, key.as_str(), "raw-id-99"] {
        assert!(!raw.contains(secret), "the envelope holds {secret:?}:\n{raw}");
    }
    assert!(
        error.get("request").is_none_or(Value::is_null),
        "no request headers, cookies or query"
    );

    let (raw, panic) = by_id(&panic_id);
    assert_eq!(panic["exception"]["values"][0]["type"], "panic");
    assert_eq!(panic["exception"]["values"][0]["value"], "the boom route always panics");
    assert_eq!(panic["tags"]["route"], "/boom");
    assert!(!raw.contains(COOKIE_SECRET));
}
