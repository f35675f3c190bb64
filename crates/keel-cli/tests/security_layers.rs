//! Host validation, the https redirect, security headers and CORS, over
//! HTTP against the real stack. None of these touch storage, so they run on
//! SQLite only.

use axum::routing::get;
use axum::Router;
use keel::{App, Core};
use keel_testkit::{Backend, TestServer};

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn server_with(configure: impl FnOnce(&mut keel::Settings)) -> TestServer {
    TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, configure).await
}

fn get_with_host(path: &str, host: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
}

#[tokio::test]
async fn allowed_hosts_accept_case_ports_dots_and_ipv6() {
    let server = server_with(|s| {
        s.security.allowed_hosts = vec!["forms.example.com".into(), ".example.org".into(), "[::1]".into()];
    })
    .await;
    let cases = [
        ("forms.example.com", 200, "an exact name"),
        ("FORMS.Example.COM", 200, "mixed case"),
        ("forms.example.com:8443", 200, "a port is stripped"),
        ("forms.example.com.", 200, "a trailing dot"),
        ("example.org", 200, "a dotted entry's domain"),
        ("deep.sub.example.org", 200, "a dotted entry's subdomain"),
        ("[::1]:8000", 200, "an IPv6 literal"),
        ("evil.com", 400, "an unlisted name"),
        ("forms.example.com.evil.com", 400, "an allowed name as a prefix"),
        ("notexample.org", 400, "a suffix that is not a subdomain"),
        ("localhost", 400, "localhost when not listed"),
        ("forms.example.com:abc", 400, "a non-numeric port"),
        ("forms.example.com@evil.com", 400, "userinfo smuggling"),
        ("forms.example.com/evil", 400, "a path in the Host"),
        ("[::1", 400, "an unclosed IPv6 literal"),
    ];
    for (host, status, why) in cases {
        let (got, text) = server.raw(&get_with_host("/api/csrf", host)).await;
        assert_eq!(got, status, "{why}: Host {host:?}");
        if status == 400 {
            assert!(text.contains("application/problem+json"), "{why}: a problem body");
            assert!(
                !text.to_ascii_lowercase().contains("set-cookie"),
                "{why}: no session or CSRF work"
            );
        }
    }
}

#[tokio::test]
async fn missing_duplicated_and_mismatched_hosts_are_refused_before_any_handler() {
    let server = server_with(|_| {}).await;
    let cases = [
        ("GET /api/csrf HTTP/1.1\r\nConnection: close\r\n\r\n", "no Host header"),
        (
            "GET /api/csrf HTTP/1.1\r\nHost: localhost\r\nHost: evil.com\r\nConnection: close\r\n\r\n",
            "two Host headers",
        ),
        (
            "GET /api/csrf HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            "two identical Host headers",
        ),
        (
            "GET http://evil.com/api/csrf HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            "an absolute target naming another host",
        ),
        (
            "POST /api/auth/login HTTP/1.1\r\nHost: evil.com\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            "an unsafe request: 400 comes before the CSRF check's 403",
        ),
    ];
    for (request, why) in cases {
        let (status, _) = server.raw(request).await;
        assert!(status == 400, "{why}: got {status}");
    }
    let (status, _) = server
        .raw("GET http://localhost/api/csrf HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(status, 200, "an absolute target naming the same host is fine");
}

#[tokio::test]
async fn health_endpoints_answer_on_any_host_and_over_plain_http() {
    let server = server_with(|s| {
        s.security.allowed_hosts = vec!["forms.example.com".into()];
        s.security.ssl_redirect = true;
    })
    .await;
    for path in ["/healthz", "/readyz"] {
        let (status, text) = server.raw(&get_with_host(path, "10.1.2.3:8000")).await;
        assert_eq!(status, 200, "{path} by address: {text}");
    }
}

#[tokio::test]
async fn plain_http_is_redirected_to_https_for_every_method_and_not_processed() {
    let server = server_with(|s| {
        s.security.ssl_redirect = true;
        s.security.proxy_ssl_header = Some(("x-forwarded-proto".into(), "https".into()));
    })
    .await;
    let (status, text) = server
        .raw(&get_with_host("/api/csrf?next=%2Fa&x=1", "localhost:8000"))
        .await;
    assert_eq!(status, 301);
    assert!(
        text.contains("location: https://localhost/api/csrf?next=%2Fa&x=1"),
        "{text}"
    );
    assert!(!text.contains("csrftoken"), "the handler did not run");

    let (status, _) = server
        .raw("POST /api/auth/logout HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(status, 301, "an unsafe method is redirected too, before CSRF");

    let secure = server
        .client
        .get(server.url("/api/csrf"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(secure.status(), 200, "the trusted proxy header marks https");

    let spoofed = server
        .client
        .get(server.url("/api/csrf"))
        .header("x-forwarded-ssl", "on")
        .header("x-forwarded-proto", "http")
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status(), 301, "other headers and values do not count");
}

#[tokio::test]
async fn without_a_configured_proxy_header_no_header_makes_a_request_secure() {
    let server = server_with(|s| {
        s.security.ssl_redirect = true;
        s.security.proxy_ssl_header = None;
    })
    .await;
    let response = server
        .client
        .get(server.url("/api/csrf"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 301);
}

#[tokio::test]
async fn hsts_is_sent_only_on_https_with_its_options() {
    let server = server_with(|s| {
        s.security.proxy_ssl_header = Some(("x-forwarded-proto".into(), "https".into()));
        s.security.hsts_seconds = 31_536_000;
        s.security.hsts_include_subdomains = true;
        s.security.hsts_preload = true;
    })
    .await;
    let plain = server.get("/api/csrf").await;
    assert!(
        header(&plain, "strict-transport-security").is_none(),
        "not on plain http"
    );
    let secure = server
        .client
        .get(server.url("/no/such/page"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&secure, "strict-transport-security"),
        Some("max-age=31536000; includeSubDomains; preload"),
        "on https, errors included"
    );
}

struct Panics;

impl App for Panics {
    fn name(&self) -> &'static str {
        "panics"
    }

    fn routes(&self, _core: &Core) -> Router {
        Router::new().route("/api/boom", get(boom))
    }
}

async fn boom() -> &'static str {
    panic!("boom")
}

const ALWAYS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
];

#[tokio::test]
async fn every_response_carries_the_security_headers_errors_included() {
    let server = TestServer::spawn_with(keel_cli::site().with(Panics), Backend::Sqlite, |s| {
        s.security.allowed_hosts = vec!["localhost".into(), "127.0.0.1".into()]
    })
    .await;
    let api_csp = "default-src 'none'; frame-ancestors 'none'";
    let mut responses = vec![
        ("/api/csrf", server.get("/api/csrf").await),
        ("404", server.get("/api/nothing").await),
        ("500 panic", server.get("/api/boom").await),
        ("/healthz", server.get("/healthz").await),
        (
            "405",
            server.client.delete(server.url("/api/csrf")).send().await.unwrap(),
        ),
    ];
    responses.push((
        "400 bad host",
        server
            .client
            .get(server.url("/api/csrf"))
            .header("host", "evil.com")
            .send()
            .await
            .unwrap(),
    ));
    for (what, response) in &responses {
        for (name, value) in ALWAYS {
            assert_eq!(header(response, name), Some(*value), "{what}: {name}");
        }
        assert!(
            header(response, "permissions-policy").is_some_and(|p| p.contains("camera=()")),
            "{what}"
        );
        assert_eq!(
            header(response, "content-security-policy"),
            Some(api_csp),
            "{what}: the API policy"
        );
    }
    let api = server.get("/api/csrf").await;
    assert_eq!(
        header(&api, "cache-control"),
        Some("no-store"),
        "API responses are never stored"
    );

    let home = server.get("/").await;
    let csp = header(&home, "content-security-policy").unwrap();
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "HTML policy has {directive}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "no inline script or style");
}

#[tokio::test]
async fn cors_allows_listed_origins_with_credentials_and_nothing_else() {
    let server = server_with(|s| {
        s.security.cors_allowed_origins = vec!["https://app.example.com".into()];
        s.security.cors_allow_credentials = true;
    })
    .await;
    let preflight = |origin: &'static str| {
        server
            .client
            .request(reqwest::Method::OPTIONS, server.url("/api/auth/login"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type, x-csrftoken")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(allowed.status(), 204);
    assert_eq!(
        header(&allowed, "access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(header(&allowed, "access-control-allow-credentials"), Some("true"));
    assert!(header(&allowed, "access-control-allow-headers")
        .unwrap()
        .contains("x-csrftoken"));
    assert!(header(&allowed, "access-control-allow-methods")
        .unwrap()
        .contains("POST"));
    assert!(header(&allowed, "access-control-max-age").is_some());

    for foreign in [
        "https://evil.example.com",
        "http://app.example.com",
        "https://app.example.com.evil.com",
        "null",
    ] {
        let refused = preflight(foreign).await.unwrap();
        assert!(
            header(&refused, "access-control-allow-origin").is_none(),
            "preflight from {foreign}"
        );
        let actual = server
            .client
            .get(server.url("/api/csrf"))
            .header("origin", foreign)
            .send()
            .await
            .unwrap();
        assert!(
            header(&actual, "access-control-allow-origin").is_none(),
            "GET from {foreign}"
        );
    }
    let actual = server
        .client
        .get(server.url("/api/csrf"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&actual, "access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(header(&actual, "access-control-allow-credentials"), Some("true"));
    assert!(header(&actual, "vary").unwrap().contains("origin"));
}

#[tokio::test]
async fn cors_any_origin_is_possible_only_without_credentials() {
    let server = server_with(|s| {
        s.security.cors_allowed_origins = vec!["*".into()];
        s.security.cors_allow_credentials = false;
    })
    .await;
    let response = server
        .client
        .get(server.url("/api/csrf"))
        .header("origin", "https://anyone.example")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert!(header(&response, "access-control-allow-credentials").is_none());

    let dir = tempfile::tempdir().unwrap();
    let err = keel::Settings::load_from(
        &keel::settings::LoadInput {
            env: [
                ("KEEL_CORS_ALLOWED_ORIGINS", "*"),
                ("KEEL_CORS_ALLOW_CREDENTIALS", "true"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            cwd: dir.path().to_owned(),
        },
        &[],
    )
    .expect_err("any origin with credentials is refused at load");
    assert!(err.to_string().contains("KEEL_CORS_ALLOWED_ORIGINS"));
}
