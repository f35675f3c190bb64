//! CSRF as Django does it: masked tokens, the cookie's secret, the Origin
//! and Referer checks, content types, and explicit exemptions.

use axum::routing::post;
use axum::Router;
use keel::Site;
use keel::{App, Core};
use keel_testkit::{Backend, TestServer};
use serde_json::Value;

/// Request headers of one case.
type Headers<'a> = Vec<(&'a str, String)>;

async fn problem_detail(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["detail"].as_str().unwrap_or_default().to_owned()
}

/// POST /api/auth/logout with explicit headers: the cheapest CSRF-protected
/// route (it needs no body).
async fn logout_with(server: &TestServer, client: &reqwest::Client, headers: &[(&str, String)]) -> reqwest::Response {
    let mut request = client.post(server.url("/api/auth/logout"));
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn two_tokens_differ_and_both_validate() {
    let server = TestServer::spawn(keel_cli::site(), Backend::Sqlite).await;
    let a = server.csrf_token_for(&server.client).await;
    let b = server.csrf_token_for(&server.client).await;
    assert_ne!(a, b, "each response masks the secret anew");
    for token in [a, b] {
        let response = logout_with(
            &server,
            &server.client,
            &[("x-csrftoken", token), ("origin", server.origin())],
        )
        .await;
        assert_eq!(response.status(), 204);
    }
}

#[tokio::test]
async fn the_csrf_endpoint_sets_a_readable_lax_cookie() {
    let server = TestServer::spawn(keel_cli::site(), Backend::Sqlite).await;
    let response = server.get("/api/csrf").await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("csrftoken="), "{cookie}");
    assert!(cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("HttpOnly"), "the frontend may read it, as with Django");
}

#[tokio::test]
async fn unsafe_requests_fail_with_a_403_naming_the_reason() {
    let server = TestServer::spawn(keel_cli::site(), Backend::Sqlite).await;
    let token = server.csrf_token_for(&server.client).await;
    let other_client = server.new_client();
    let other_token = server.csrf_token_for(&other_client).await;
    let fresh = server.new_client();
    let own = server.origin();
    let cases: Vec<(&reqwest::Client, Headers<'_>, &str, &str)> = vec![
        (
            &server.client,
            vec![("origin", own.clone())],
            "missing",
            "no token header",
        ),
        (
            &server.client,
            vec![("x-csrftoken", "x".repeat(64)), ("origin", own.clone())],
            "incorrect",
            "a wrong token",
        ),
        (
            &server.client,
            vec![("x-csrftoken", other_token.clone()), ("origin", own.clone())],
            "incorrect",
            "another session's token",
        ),
        (
            &fresh,
            vec![("x-csrftoken", token.clone()), ("origin", own.clone())],
            "cookie",
            "no CSRF cookie",
        ),
        (
            &server.client,
            vec![
                ("x-csrftoken", token.clone()),
                ("origin", "https://evil.example".into()),
            ],
            "does not match",
            "a foreign Origin",
        ),
        (
            &server.client,
            vec![("x-csrftoken", token.clone()), ("origin", "null".into())],
            "null",
            "Origin null",
        ),
        (
            &server.client,
            vec![
                ("x-csrftoken", token.clone()),
                ("origin", own.replace("http://", "https://")),
            ],
            "does not match",
            "the right host on another scheme",
        ),
    ];
    for (client, headers, reason, why) in cases {
        let response = logout_with(&server, client, &headers).await;
        assert_eq!(response.status(), 403, "{why}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let detail = problem_detail(response).await;
        assert!(detail.contains(reason), "{why}: {detail:?} names {reason:?}");
    }
}

#[tokio::test]
async fn trusted_origins_pass_and_https_needs_a_matching_referer_without_origin() {
    let server = TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, |s| {
        s.security.csrf_trusted_origins = vec!["https://app.example.com".into()];
        s.security.proxy_ssl_header = Some(("x-forwarded-proto".into(), "https".into()));
    })
    .await;
    let token = server.csrf_token_for(&server.client).await;
    let https = ("x-forwarded-proto", "https".to_owned());
    let host_origin = format!("https://{}", server.addr);
    let cases: Vec<(Headers<'_>, u16, &str)> = vec![
        (
            vec![("origin", "https://app.example.com".into())],
            204,
            "a trusted origin",
        ),
        (
            vec![https.clone(), ("origin", host_origin.clone())],
            204,
            "the request's own https origin",
        ),
        (vec![https.clone()], 403, "https without Origin or Referer"),
        (
            vec![https.clone(), ("referer", format!("{host_origin}/page"))],
            204,
            "https with a same-origin Referer",
        ),
        (
            vec![https.clone(), ("referer", "https://app.example.com/x".into())],
            204,
            "https with a trusted Referer",
        ),
        (
            vec![https.clone(), ("referer", "https://evil.example/x".into())],
            403,
            "https with a foreign Referer",
        ),
        (
            vec![https.clone(), ("referer", format!("http://{}/page", server.addr))],
            403,
            "an http Referer on https",
        ),
        (
            vec![https.clone(), ("referer", "not a url".into())],
            403,
            "a malformed Referer",
        ),
        (vec![], 204, "plain http without Origin (as Django: nothing to compare)"),
    ];
    for (mut headers, status, why) in cases {
        headers.push(("x-csrftoken", token.clone()));
        assert_eq!(
            logout_with(&server, &server.client, &headers).await.status(),
            status,
            "{why}"
        );
    }
}

#[tokio::test]
async fn json_endpoints_refuse_other_content_types_with_415() {
    let server = TestServer::spawn(keel_cli::site(), Backend::Sqlite).await;
    let token = server.csrf_token_for(&server.client).await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonp",
    ] {
        let response = server
            .client
            .post(server.url("/api/auth/login"))
            .header("x-csrftoken", &token)
            .header("origin", server.origin())
            .header("content-type", content_type)
            .body(r#"{"email":"a@b.c","password":"x"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type}");
    }
    let response = server
        .client
        .post(server.url("/api/auth/login"))
        .header("x-csrftoken", &token)
        .header("origin", server.origin())
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"email":"nobody@example.com","password":"whatever-it-is"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "JSON with a charset parameter is accepted");
}

#[tokio::test]
async fn csrf_comes_before_405_as_in_django_and_unknown_paths_stay_404() {
    let server = TestServer::spawn(keel_cli::site(), Backend::Sqlite).await;
    let without_token = server.client.delete(server.url("/api/auth/me")).send().await.unwrap();
    assert_eq!(
        without_token.status(),
        403,
        "an unsafe method is checked before its route's methods"
    );
    let token = server.csrf_token_for(&server.client).await;
    let response = server
        .client
        .delete(server.url("/api/auth/me"))
        .header("x-csrftoken", token)
        .header("origin", server.origin())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET,HEAD");
    let unknown = server
        .client
        .post(server.url("/api/no/such/route"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404, "no route, nothing to protect");
    let trace = server
        .client
        .request(reqwest::Method::TRACE, server.url("/api/csrf"))
        .send()
        .await
        .unwrap();
    assert_eq!(trace.status(), 405, "TRACE is always refused");
}

struct Exempt;

impl App for Exempt {
    fn name(&self) -> &'static str {
        "exempt"
    }

    fn routes(&self, _core: &Core) -> Router {
        Router::new()
            .route("/api/hooks/{id}/ping", post(|| async { "pong" }))
            .route("/api/hooks/{id}/guarded", post(|| async { "guarded" }))
    }

    fn csrf_exempt(&self) -> &'static [&'static str] {
        &["/api/hooks/{id}/ping"]
    }
}

#[tokio::test]
async fn exemptions_are_explicit_and_listed_by_check() {
    let server = TestServer::spawn(
        Site::new("Test", "An app with exempt routes.").with(Exempt),
        Backend::Sqlite,
    )
    .await;
    let ping = server
        .client
        .post(server.url("/api/hooks/7/ping"))
        .send()
        .await
        .unwrap();
    assert_eq!(ping.status(), 200, "the exempt route needs no token");
    let guarded = server
        .client
        .post(server.url("/api/hooks/7/guarded"))
        .send()
        .await
        .unwrap();
    assert_eq!(guarded.status(), 403, "its neighbour still does");

    let findings = keel::launch::run_checks(&server.core, &[Box::new(Exempt) as Box<dyn App>], false).await;
    let listed = findings
        .iter()
        .find(|f| f.id == "keel.security.I060")
        .expect("exemptions are a finding");
    assert!(listed.message.contains("/api/hooks/{id}/ping"), "{}", listed.message);
}

#[tokio::test]
async fn login_rotates_the_csrf_secret() {
    let server = TestServer::spawn(keel_cli::site(), Backend::Sqlite).await;
    assert_eq!(server.signup("rotate@example.com").await.status(), 201);
    let before = server.csrf_token_for(&server.client).await;
    let response = server.login("rotate@example.com", keel_testkit::GOOD_PASSWORD).await;
    assert_eq!(response.status(), 200);
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("csrftoken=")),
        "a new CSRF cookie: {cookies:?}"
    );
    let stale = logout_with(
        &server,
        &server.client,
        &[("x-csrftoken", before), ("origin", server.origin())],
    )
    .await;
    assert_eq!(stale.status(), 403, "a token of the old secret no longer validates");
}
