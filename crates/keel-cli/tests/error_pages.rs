//! Error answers: problem JSON under /api, small HTML pages for browsers,
//! and nothing about the server outside `dev` with `KEEL_DEBUG`.

use axum::routing::get;
use axum::Router;
use keel::settings::Profile;
use keel::Site;
use keel::{App, Core};
use keel_testkit::{Backend, TestServer};

struct Failing;

impl App for Failing {
    fn name(&self) -> &'static str {
        "failing"
    }

    fn routes(&self, _core: &Core) -> Router {
        Router::new()
            .route("/api/fail", get(fail))
            .route("/page/fail", get(fail))
    }
}

/// A panic carrying the kinds of thing that must never reach a client.
async fn fail() -> &'static str {
    panic!("query SELECT password_hash FROM keel_users failed at /srv/keel/src/secret.rs:42 with DATABASE_URL=postgres://u:hunter2@db")
}

async fn spawn(configure: impl FnOnce(&mut keel::Settings)) -> TestServer {
    TestServer::spawn_with(
        Site::new("Test", "A failing app.").with(Failing),
        Backend::Sqlite,
        configure,
    )
    .await
}

const LEAKS: &[&str] = &[
    "SELECT",
    "keel_users",
    ".rs",
    "/srv",
    "hunter2",
    "DATABASE_URL",
    "panicked",
    "stack",
    "backtrace",
];

#[tokio::test]
async fn a_500_in_prod_shows_no_trace_path_setting_or_query() {
    let server = spawn(|s| {
        s.profile = Profile::Prod;
        s.debug = false;
    })
    .await;
    for (path, accept) in [
        ("/api/fail", "application/json"),
        ("/page/fail", "text/html"),
        ("/api/fail", "text/html"),
    ] {
        let response = server
            .client
            .get(server.url(path))
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 500, "{path} {accept}");
        let text = response.text().await.unwrap();
        for leak in LEAKS {
            assert!(!text.contains(leak), "{path} ({accept}) leaks {leak:?}: {text}");
        }
        assert!(
            text.contains("request id") || text.contains("request_id"),
            "{path}: the request id is there"
        );
    }
}

#[tokio::test]
async fn debug_in_dev_shows_the_panic_message() {
    let server = spawn(|s| {
        s.profile = Profile::Dev;
        s.debug = true;
    })
    .await;
    let text = server.get("/api/fail").await.text().await.unwrap();
    assert!(
        text.contains("SELECT password_hash"),
        "detailed in dev with DEBUG: {text}"
    );

    let prod_debug = spawn(|s| {
        s.profile = Profile::Prod;
        s.debug = true;
    })
    .await;
    let text = prod_debug.get("/api/fail").await.text().await.unwrap();
    assert!(!text.contains("SELECT"), "never outside dev, even with DEBUG: {text}");
}

#[tokio::test]
async fn browsers_get_html_pages_and_the_api_gets_problems() {
    let server = spawn(|_| {}).await;
    let html = |path: &'static str, method: reqwest::Method| {
        server
            .client
            .request(method, server.url(path))
            .header("accept", "text/html,application/xhtml+xml")
            .send()
    };
    for (path, method, status) in [
        ("/nowhere", reqwest::Method::GET, 404),
        ("/page/fail", reqwest::Method::TRACE, 405),
        ("/page/fail", reqwest::Method::GET, 500),
    ] {
        let response = html(path, method).await.unwrap();
        assert_eq!(response.status(), status);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("default-src 'self'"),
            "an HTML page gets the HTML policy: {csp}"
        );
        let body = response.text().await.unwrap();
        assert!(
            body.starts_with("<!doctype html>") && body.contains(&status.to_string()),
            "{body}"
        );
    }
    let token = server.csrf_token_for(&server.client).await;
    let allow = server
        .client
        .delete(server.url("/page/fail"))
        .header("accept", "text/html")
        .header("x-csrftoken", token)
        .header("origin", server.origin())
        .send()
        .await
        .unwrap();
    assert_eq!(allow.status(), 405);
    assert!(
        allow.headers()["allow"].to_str().unwrap().contains("GET"),
        "the page keeps Allow"
    );

    let api = html("/api/nowhere", reqwest::Method::GET).await.unwrap();
    assert_eq!(
        api.headers()["content-type"],
        "application/problem+json",
        "/api/ always answers problems"
    );
    let bad_host = server
        .client
        .get(server.url("/nowhere"))
        .header("accept", "text/html")
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_host.status(), 400);
    assert!(bad_host.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
}
