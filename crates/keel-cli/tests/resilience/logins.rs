//! Password hashing bounded and login throttles counted before hashing.

use std::time::Duration;

use keel::settings::Rate;
use keel_testkit::{on_both_backends, Backend, TestServer, GOOD_PASSWORD};
use serde_json::json;

on_both_backends!(
    a_burst_of_wrong_passwords_is_verified_no_more_often_than_the_limit,
    a_throttled_login_costs_no_password_hash,
    right_logins_do_not_use_up_the_address_allowance,
    signups_are_throttled_per_address_before_hashing,
);

fn login_rate(count: u32) -> impl FnOnce(&mut keel::Settings) {
    move |s| {
        s.security.login_rate = Rate {
            count,
            period: Duration::from_secs(900),
        }
    }
}

async fn login_status(server: &TestServer, client: &reqwest::Client, token: &str, password: &str) -> u16 {
    client
        .post(server.url("/api/auth/login"))
        .header("x-csrftoken", token)
        .header("origin", server.origin())
        .json(&json!({"email": "victim@example.com", "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn a_burst_of_wrong_passwords_is_verified_no_more_often_than_the_limit(backend: Backend) {
    let server = TestServer::spawn_with(keel_cli::site(), backend, login_rate(10)).await;
    assert_eq!(server.signup("victim@example.com").await.status(), 201);
    let attacker = server.new_client();
    let token = server.csrf_token_for(&attacker).await;
    let hashes_before = server.core.hashing.runs();
    let burst = (0..40).map(|i| {
        let (server, attacker, token) = (&server, attacker.clone(), token.clone());
        async move { login_status(server, &attacker, &token, &format!("wrong-guess-{i}")).await }
    });
    let statuses = futures_util::future::join_all(burst).await;
    let verified = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(verified + refused, 40, "only 401 and 429: {statuses:?}");
    assert!(
        verified <= 10,
        "at most the limit (10) is checked against the hash, got {verified}"
    );
    assert!(
        server.core.hashing.runs() - hashes_before <= 10,
        "password verifications: {}",
        server.core.hashing.runs() - hashes_before
    );
    assert_eq!(
        login_status(&server, &attacker, &token, GOOD_PASSWORD).await,
        429,
        "after the burst even the right password waits for the window"
    );
}

async fn a_throttled_login_costs_no_password_hash(backend: Backend) {
    let server = TestServer::spawn_with(keel_cli::site(), backend, login_rate(5)).await;
    assert_eq!(server.signup("victim@example.com").await.status(), 201);
    let client = server.new_client();
    let token = server.csrf_token_for(&client).await;
    let before = server.core.hashing.runs();
    let mut statuses = Vec::new();
    for i in 0..12 {
        statuses.push(login_status(&server, &client, &token, &format!("wrong-{i}")).await);
    }
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert_eq!(&statuses[5..], &[429; 7], "{statuses:?}");
    assert_eq!(
        server.core.hashing.runs() - before,
        5,
        "the 7 refused attempts hashed nothing"
    );
}

async fn right_logins_do_not_use_up_the_address_allowance(backend: Backend) {
    let server = TestServer::spawn_with(keel_cli::site(), backend, login_rate(3)).await;
    assert_eq!(server.signup("victim@example.com").await.status(), 201);
    let client = server.new_client();
    for round in 0..6 {
        let token = server.csrf_token_for(&client).await;
        assert_eq!(
            login_status(&server, &client, &token, GOOD_PASSWORD).await,
            200,
            "login {round} with the right password"
        );
    }
}

async fn signups_are_throttled_per_address_before_hashing(backend: Backend) {
    let server = TestServer::spawn_with(keel_cli::site(), backend, |s| {
        s.security.signup_rate = Rate {
            count: 2,
            period: Duration::from_secs(3600),
        }
    })
    .await;
    let signup = |email: String| {
        let server = &server;
        async move {
            let body = json!({"email": email, "password": GOOD_PASSWORD});
            server
                .send_json_with(&server.new_client(), reqwest::Method::POST, "/api/auth/signup", &body)
                .await
        }
    };
    for i in 0..2 {
        assert_eq!(signup(format!("new{i}@example.com")).await.status(), 201);
    }
    let before = server.core.hashing.runs();
    let response = signup("third@example.com".to_owned()).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(server.core.hashing.runs(), before, "a refused signup hashes nothing");
}
