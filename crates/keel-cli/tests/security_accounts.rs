//! Accounts and sessions over HTTP, on SQLite and PostgreSQL: signup and its
//! validators, login and its throttles, session rotation, logout, `me`, and
//! secret-key rotation with a live session.

use std::time::{Duration, Instant};

use keel::settings::Rate;
use keel_testkit::{on_both_backends, Backend, TestServer, GOOD_PASSWORD};
use serde_json::{json, Value};

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    set_cookies(response)
        .into_iter()
        .find(|c| c.starts_with("sessionid="))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

/// `GET /api/auth/me` with exactly this Cookie header.
async fn me_with_cookie(server: &TestServer, cookie: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .get(server.url("/api/auth/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
}

on_both_backends!(
    signup_logs_in_and_me_answers_without_caching,
    signup_validates_email_and_password_per_field,
    signup_refuses_a_duplicate_email_in_any_case,
    login_rotates_the_session_and_logout_ends_it_on_the_server,
    wrong_password_and_unknown_email_get_the_same_answer,
    failed_logins_are_throttled_per_account,
    failed_logins_are_throttled_per_client_address,
    a_rotated_secret_key_keeps_live_sessions_through_its_fallback,
    clearsessions_removes_only_expired_sessions,
);

async fn signup_logs_in_and_me_answers_without_caching(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    assert_eq!(server.get("/api/auth/me").await.status(), 401);
    let response = server.signup("Ada@Example.com").await;
    assert_eq!(response.status(), 201);
    let cookie = set_cookies(&response)
        .into_iter()
        .find(|c| c.starts_with("sessionid="))
        .unwrap();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1209600"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], "ada@example.com", "stored lowercased");
    assert_eq!(body["is_superuser"], false);

    let me = server.get("/api/auth/me").await;
    assert_eq!(me.status(), 200);
    assert_eq!(me.headers()["cache-control"], "no-store");
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["id"], body["id"]);
    assert!(me.get("password_hash").is_none());
}

async fn signup_validates_email_and_password_per_field(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let cases = [
        (
            json!({"email": "not-an-email", "password": GOOD_PASSWORD}),
            "email",
            "a malformed email",
        ),
        (
            json!({"email": "a@example.com", "password": "short"}),
            "password",
            "a short password",
        ),
        (
            json!({"email": "a@example.com", "password": "password123"}),
            "password",
            "a common password",
        ),
        (
            json!({"email": "a@example.com", "password": "12345678901234"}),
            "password",
            "an all-digit password",
        ),
        (
            json!({"email": "margaret.hamilton@example.com", "password": "margaret.hamilton1"}),
            "password",
            "a password like the email",
        ),
        (json!({"email": "a@example.com"}), "password", "a missing password"),
        (
            json!({"email": "a@example.com", "password": 12}),
            "password",
            "a password of the wrong type",
        ),
        (
            json!({"email": "a@example.com", "password": GOOD_PASSWORD, "is_superuser": true}),
            "is_superuser",
            "an unknown member",
        ),
    ];
    for (body, field, why) in cases {
        let response = server.post_json("/api/auth/signup", &body).await;
        assert_eq!(response.status(), 422, "{why}");
        let problem: Value = response.json().await.unwrap();
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{why}: errors name {field}: {problem}");
    }
    let bad_json = server
        .client
        .post(server.url("/api/auth/signup"))
        .header("x-csrftoken", server.csrf_token_for(&server.client).await)
        .header("origin", server.origin())
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), 400, "unparseable JSON");
    let huge = json!({"email": "a@example.com", "password": "x".repeat(2 << 20)});
    assert_eq!(
        server.post_json("/api/auth/signup", &huge).await.status(),
        413,
        "a body over KEEL_MAX_BODY_BYTES"
    );
    let count: i64 = keel::on_pool!(&server.core.db, pool => {
        sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM keel_users").fetch_one(pool).await.unwrap().0
    });
    assert_eq!(count, 0, "nothing was stored");
}

async fn signup_refuses_a_duplicate_email_in_any_case(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    assert_eq!(server.signup("dup@example.com").await.status(), 201);
    let other = server.new_client();
    let response = server
        .send_json_with(
            &other,
            reqwest::Method::POST,
            "/api/auth/signup",
            &json!({"email": "DUP@example.com", "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "email");
}

async fn login_rotates_the_session_and_logout_ends_it_on_the_server(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let signup = server.signup("rot@example.com").await;
    let first = session_cookie(&signup).unwrap();
    let login = server.login("rot@example.com", GOOD_PASSWORD).await;
    assert_eq!(login.status(), 200);
    let second = session_cookie(&login).unwrap();
    assert_ne!(first, second, "login makes a new session id");
    assert_eq!(
        me_with_cookie(&server, &first).await,
        401,
        "the old session was deleted"
    );
    assert_eq!(me_with_cookie(&server, &second).await, 200);

    let logout = server.post_json("/api/auth/logout", &json!({})).await;
    assert_eq!(logout.status(), 204);
    let expired = set_cookies(&logout)
        .into_iter()
        .find(|c| c.starts_with("sessionid="))
        .unwrap();
    assert!(expired.contains("Max-Age=0"), "the cookie is expired: {expired}");
    assert_eq!(
        me_with_cookie(&server, &second).await,
        401,
        "a replayed cookie finds no session"
    );
    let tampered = format!("{}x", second);
    assert_eq!(
        me_with_cookie(&server, &tampered).await,
        401,
        "a tampered cookie is refused"
    );
}

async fn wrong_password_and_unknown_email_get_the_same_answer(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    server.signup("known@example.com").await;
    let other = server.new_client();
    let attempt = |email: &'static str| {
        let server = &server;
        let other = &other;
        async move {
            let started = Instant::now();
            let response = server
                .send_json_with(
                    other,
                    reqwest::Method::POST,
                    "/api/auth/login",
                    &json!({"email": email, "password": "not the password!"}),
                )
                .await;
            let elapsed = started.elapsed();
            let status = response.status();
            let mut body: Value = response.json().await.unwrap();
            body.as_object_mut().unwrap().remove("request_id");
            (status, body, elapsed)
        }
    };
    let (status_a, body_a, time_a) = attempt("known@example.com").await;
    let (status_b, body_b, time_b) = attempt("unknown@example.com").await;
    assert_eq!(status_a, 401);
    assert_eq!((status_a, &body_a), (status_b, &body_b), "indistinguishable answers");
    // Both run one Argon2 verification; a missing one would be ~100x faster.
    let ratio = time_a.as_secs_f64() / time_b.as_secs_f64();
    assert!((0.2..5.0).contains(&ratio), "similar timing: {time_a:?} vs {time_b:?}");
}

fn tight_login_rate(s: &mut keel::Settings) {
    s.security.login_rate = Rate {
        count: 3,
        period: Duration::from_secs(900),
    };
}

async fn failed_logins_are_throttled_per_account(backend: Backend) {
    let server = TestServer::spawn_with(keel_cli::site(), backend, tight_login_rate).await;
    server.signup("victim@example.com").await;
    for attempt in 1..=3 {
        let response = server.login("victim@example.com", "wrong-password-guess").await;
        assert_eq!(response.status(), 401, "attempt {attempt} is answered normally");
    }
    let blocked = server.login("victim@example.com", GOOD_PASSWORD).await;
    assert_eq!(
        blocked.status(),
        429,
        "even the right password waits once the account is locked"
    );
    let retry: u64 = blocked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry));
}

async fn failed_logins_are_throttled_per_client_address(backend: Backend) {
    let server = TestServer::spawn_with(keel_cli::site(), backend, tight_login_rate).await;
    for i in 0..3 {
        let email = format!("spray{i}@example.com");
        // A forged X-Forwarded-For from an untrusted peer changes nothing.
        let response = server
            .client
            .post(server.url("/api/auth/login"))
            .header("x-csrftoken", server.csrf_token_for(&server.client).await)
            .header("origin", server.origin())
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .json(&json!({"email": email, "password": "wrong-password-guess"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let blocked = server.login("fresh-account@example.com", "wrong-password-guess").await;
    assert_eq!(
        blocked.status(),
        429,
        "the address is out of attempts, whatever the account"
    );

    let behind_proxy = TestServer::spawn_with(keel_cli::site(), backend, |s| {
        tight_login_rate(s);
        s.security.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    for i in 0..4 {
        let response = behind_proxy
            .client
            .post(behind_proxy.url("/api/auth/login"))
            .header("x-csrftoken", behind_proxy.csrf_token_for(&behind_proxy.client).await)
            .header("origin", behind_proxy.origin())
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .json(&json!({"email": format!("p{i}@example.com"), "password": "wrong-password-guess"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            401,
            "behind a trusted proxy each forwarded client has its own allowance"
        );
    }
}

async fn a_rotated_secret_key_keeps_live_sessions_through_its_fallback(backend: Backend) {
    let old_key = "old-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG";
    let new_key = "new-key-9876543210-zyxwvutsrqponmlkjihgfedcba-GFEDCBA";
    let server = TestServer::spawn_with(keel_cli::site(), backend, |s| {
        s.secret.key = Some(old_key.to_owned().into())
    })
    .await;
    let cookie = session_cookie(&server.signup("keys@example.com").await).unwrap();
    assert_eq!(me_with_cookie(&server, &cookie).await, 200);

    let rotated = server
        .spawn_sharing(|s| {
            s.secret.key = Some(new_key.to_owned().into());
            s.secret.fallbacks = vec![old_key.to_owned().into()];
        })
        .await;
    assert_eq!(
        me_with_cookie(&rotated, &cookie).await,
        200,
        "the fallback verifies the old cookie"
    );
    rotated.signup("fresh@example.com").await;
    let new_cookie = session_cookie(&rotated.login("fresh@example.com", GOOD_PASSWORD).await).unwrap();

    let dropped = server
        .spawn_sharing(|s| s.secret.key = Some(new_key.to_owned().into()))
        .await;
    assert_eq!(
        me_with_cookie(&dropped, &cookie).await,
        401,
        "without the fallback the old cookie is refused"
    );
    assert_eq!(
        me_with_cookie(&dropped, &new_cookie).await,
        200,
        "new sessions are signed with the new key"
    );
}

async fn clearsessions_removes_only_expired_sessions(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    server.signup("live@example.com").await;
    keel::on_pool!(&server.core.db, pool => {
        let user: (uuid::Uuid,) = sqlx::query_as("SELECT id FROM keel_users").fetch_one(pool).await.unwrap();
        sqlx::query("INSERT INTO keel_sessions (key_hash, user_id, created_at, expires_at) VALUES ('old', $1, 0, 1)")
            .bind(user.0)
            .execute(pool)
            .await
            .unwrap();
    });
    assert_eq!(server.core.sessions.clear_expired().await.unwrap(), 1);
    let left: i64 = keel::on_pool!(&server.core.db, pool => {
        sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM keel_sessions").fetch_one(pool).await.unwrap().0
    });
    assert_eq!(left, 1, "the live session stays");
}

#[tokio::test]
async fn signup_is_403_when_closed() {
    let server = TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, |s| s.security.signup_open = false).await;
    let response = server.signup("closed@example.com").await;
    assert_eq!(response.status(), 403);
}
