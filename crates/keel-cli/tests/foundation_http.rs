//! The foundation over HTTP: health and readiness, request ids, the access
//! stack's error answers, panics, timeouts and migrations, on SQLite and
//! PostgreSQL.

use keel::Site;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use keel::settings::CacheBackendKind;
use keel::{App, Core};
use keel_testkit::{on_both_backends, Backend, TestServer};
use secrecy::SecretString;
use serde_json::Value;

/// A small app whose routes misbehave on purpose.
struct Misbehaving;

impl App for Misbehaving {
    fn name(&self) -> &'static str {
        "misbehaving"
    }

    fn routes(&self, _core: &Core) -> Router {
        Router::new().route("/boom", get(boom)).route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
    }
}

async fn boom() -> &'static str {
    panic!("deliberate test panic at /secret/path.rs")
}

async fn json(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

on_both_backends!(
    healthz_answers_ok,
    readyz_reports_database_and_cache_up,
    readyz_is_503_once_shutdown_begins,
    request_ids_are_echoed_only_when_safe,
    request_ids_are_kept_only_from_trusted_proxies,
    unknown_paths_and_methods_get_problems,
    a_panicking_handler_gets_a_500_problem_and_the_server_lives_on,
    a_request_over_the_timeout_gets_a_503_problem,
    migrations_create_the_users_table,
    home_page_is_served,
);

async fn healthz_answers_ok(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let response = server.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(json(response).await["status"], "ok");
}

async fn readyz_reports_database_and_cache_up(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let response = server.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["cache"], "ok");
}

async fn readyz_is_503_once_shutdown_begins(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    server.core.lifecycle.begin_shutdown();
    let response = server.get("/readyz").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    assert_eq!(json(response).await["status"], "shutting_down");
    assert_eq!(server.get("/healthz").await.status(), 200, "still alive while draining");
}

/// The test server's own client is on loopback: trusted here, as a proxy.
fn loopback_is_a_trusted_proxy(s: &mut keel::Settings) {
    s.security.trusted_proxies = vec!["127.0.0.1/32".parse().expect("a CIDR")];
}

async fn request_id_sent_as(server: &TestServer, sent: &str) -> String {
    let response = server
        .client
        .get(server.url("/healthz"))
        .header("x-request-id", sent)
        .send()
        .await
        .unwrap();
    response.headers()["x-request-id"].to_str().unwrap().to_owned()
}

/// A client may not choose its request id (it could reuse another
/// request's and muddle the logs); a trusted proxy may pass one on.
async fn request_ids_are_kept_only_from_trusted_proxies(backend: Backend) {
    let direct = TestServer::spawn(keel_cli::site(), backend).await;
    let echoed = request_id_sent_as(&direct, "client-id-123").await;
    assert_ne!(echoed, "client-id-123", "an untrusted peer's id is replaced");
    assert_eq!(echoed.len(), 32, "by a generated one");
    let proxied = direct.spawn_sharing(loopback_is_a_trusted_proxy).await;
    assert_eq!(
        request_id_sent_as(&proxied, "client-id-123").await,
        "client-id-123",
        "a trusted proxy's id is kept"
    );
}

async fn request_ids_are_echoed_only_when_safe(backend: Backend) {
    let server = TestServer::spawn_with(keel_cli::site(), backend, loopback_is_a_trusted_proxy).await;
    let own = server.get("/nope").await;
    let generated = own.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 32, "a generated id is a UUID without dashes");
    assert_eq!(
        json(own).await["request_id"],
        generated.as_str(),
        "the problem carries the header's id"
    );

    let cases = [
        ("client-id-123", true, "a short printable id is kept"),
        ("has space", false, "spaces are refused"),
        (&"x".repeat(200), false, "long ids are refused"),
    ];
    for (sent, kept, why) in cases {
        let echoed = request_id_sent_as(&server, sent).await;
        assert_eq!(echoed == sent, kept, "{why}: sent {sent:?}, got {echoed:?}");
    }
}

async fn unknown_paths_and_methods_get_problems(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let response = server.get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body = json(response).await;
    assert_eq!(body["status"], 404);
    assert_eq!(body["title"], "Not Found");

    let response = server.client.delete(server.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert!(response.headers()["allow"].to_str().unwrap().contains("GET"));
    assert_eq!(response.headers()["content-type"], "application/problem+json");
}

async fn a_panicking_handler_gets_a_500_problem_and_the_server_lives_on(backend: Backend) {
    let server = TestServer::spawn(Site::new("Test", "A misbehaving app.").with(Misbehaving), backend).await;
    let response = server.get("/boom").await;
    assert_eq!(response.status(), 500);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["request_id"], id.as_str());
    assert!(
        !text.contains("deliberate") && !text.contains(".rs"),
        "the panic message stays in the log: {text}"
    );
    assert_eq!(server.get("/healthz").await.status(), 200, "the process lives on");
}

async fn a_request_over_the_timeout_gets_a_503_problem(backend: Backend) {
    let server = TestServer::spawn_with(
        Site::new("Test", "A misbehaving app.").with(Misbehaving),
        backend,
        |s| {
            s.server.request_timeout = Duration::from_millis(200);
        },
    )
    .await;
    let response = server.get("/slow").await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(json(response).await["status"], 503);
}

async fn migrations_create_the_users_table(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let count: i64 = keel::on_pool!(&server.core.db, pool => {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM keel_users").fetch_one(pool).await.unwrap();
        n
    });
    assert_eq!(count, 0, "the users table exists and starts empty");
    let all = keel::launch::all_migrations(&keel_cli::site().apps).unwrap();
    let pending = keel::db::migrate::pending(&server.core.db, &all).await.unwrap();
    assert!(pending.is_empty());
}

async fn home_page_is_served(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let response = server.get("/").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
}

#[tokio::test]
async fn readyz_stays_200_naming_the_cache_degraded_when_redis_is_down() {
    let server = TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, |s| {
        // Nothing listens on port 1 of loopback.
        s.cache.backend = CacheBackendKind::Redis(SecretString::from("redis://127.0.0.1:1".to_owned()));
    })
    .await;
    // The cache is an accelerator: the instance serves from the database,
    // so it stays in the load balancer.
    let response = server.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["cache"], "degraded");
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(server.get("/healthz").await.status(), 200, "liveness does no I/O");
}

#[tokio::test]
async fn readyz_is_503_when_postgres_refuses_connections() {
    if !keel_testkit::services::postgres_available().await {
        return;
    }
    let server = TestServer::spawn(keel_cli::site(), Backend::Postgres).await;
    assert_eq!(server.get("/readyz").await.status(), 200);
    server.db().refuse_connections().await;
    let response = server.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body = json(response).await;
    assert_eq!(body["checks"]["database"], "down");
    assert_eq!(body["checks"]["cache"], "ok");
    let text = body.to_string();
    assert!(
        !text.contains("keel_test_") && !text.contains("postgres"),
        "readyz reveals nothing: {text}"
    );
}
