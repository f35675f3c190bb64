//! The rendered deployment, end to end: real nginx (from Debian's package)
//! in front of two Keel instances on PostgreSQL and Redis, with the files
//! `keel deploy render` wrote, and every claim they make checked from
//! outside: unknown hosts refused, http redirected, TLS, both instances
//! used, static files from nginx only, media through X-Accel-Redirect,
//! sessions and form state shared between instances.

#[path = "deploy_e2e/grade.rs"]
mod grade;
#[path = "deploy_e2e/load.rs"]
mod load;
mod media;
#[path = "deploy_e2e/topology.rs"]
mod topology;

use std::io::{Read, Write};

use keel_testkit::services::{missing_program, postgres_available, redis_url};
use media::{content_type, file, multipart, png, Part};
use serde_json::{json, Value};
use topology::Topology;

/// nginx, PostgreSQL and Redis are all here (or the test is skipped, or
/// fails when they are required).
async fn ready() -> bool {
    let nginx = std::process::Command::new("nginx").arg("-v").output().is_ok();
    if !nginx {
        missing_program("nginx");
    }
    nginx && postgres_available().await && redis_url().await.is_some()
}

/// A CSRF token for the client's next unsafe request.
async fn csrf(t: &Topology) -> String {
    let body: Value = get_json(t, "/api/csrf").await;
    body["csrfToken"].as_str().unwrap().to_owned()
}

async fn send_json(t: &Topology, method: reqwest::Method, path: &str, body: &Value) -> reqwest::Response {
    let token = csrf(t).await;
    t.client
        .request(method, t.url(path))
        .header("x-csrftoken", token)
        .header("origin", t.origin())
        .json(body)
        .send()
        .await
        .unwrap()
}

/// `GET path` through nginx, as JSON.
async fn get_json(t: &Topology, path: &str) -> Value {
    t.client.get(t.url(path)).send().await.unwrap().json().await.unwrap()
}

/// A raw HTTP/1.1 request on plain http; the whole answer (empty when
/// nginx closes without one).
fn raw(port: u16, request: &str) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_in_front_of_two_instances_does_what_the_rendered_files_say() {
    if !ready().await {
        return;
    }
    let t = Topology::start(&[]).await;

    // Unknown hosts: no answer on http, no handshake on https.
    assert_eq!(
        raw(t.http, "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n"),
        "",
        "444: closed unanswered"
    );
    let stranger = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .resolve("evil.example", ([127, 0, 0, 1], t.https).into())
        .build()
        .unwrap();
    let refused = stranger.get(format!("https://evil.example:{}/", t.https)).send().await;
    assert!(refused.is_err(), "the TLS handshake for an unknown name is rejected");

    // Plain http is redirected to https, path and query kept.
    let answer = raw(
        t.http,
        "GET /api/forms?x=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 301"), "{answer}");
    let location = format!("location: https://localhost:{}/api/forms?x=1", t.https);
    assert!(answer.to_ascii_lowercase().contains(&location), "{answer}");

    // TLS with the rendered certificate; Keel's headers, once each.
    let home = t.client.get(t.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert_eq!(home.headers().get_all("strict-transport-security").iter().count(), 1);
    assert_eq!(home.headers().get_all("x-content-type-options").iter().count(), 1);

    // An owner, a form with a file field, a submission with a file.
    let signup = send_json(
        &t,
        reqwest::Method::POST,
        "/api/auth/signup",
        &json!({"email": "owner@example.com", "password": keel_testkit::GOOD_PASSWORD}),
    )
    .await;
    assert_eq!(signup.status(), 201, "{}", signup.text().await.unwrap());
    let form: Value = send_json(&t, reqwest::Method::POST, "/api/forms", &media::upload_form())
        .await
        .json()
        .await
        .unwrap();
    let (id, slug) = (form["id"].as_str().unwrap(), form["slug"].as_str().unwrap());
    let public: Value = get_json(&t, &format!("/api/public/forms/{slug}")).await;
    let token = public["submission_token"].as_str().unwrap();
    let photo = png(5000);
    let body = multipart(&[
        Part::Text("submission_token", token.to_owned()),
        Part::Text("answers", json!({"name": "Ada"}).to_string()),
        file("photo", "me.png", "image/png", photo.clone()),
    ]);
    let submitted = t
        .client
        .post(t.url(&format!("/api/public/forms/{slug}/responses")))
        .header("content-type", content_type())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 201, "{}", submitted.text().await.unwrap());

    // Sessions work on both instances: every request of the logged-in
    // client answers, and each instance answered some.
    for _ in 0..20 {
        let me = t.client.get(t.url("/api/auth/me")).send().await.unwrap();
        assert_eq!(me.status(), 200);
    }
    for i in 0..2 {
        assert!(
            t.log(i).contains("/api/auth/me"),
            "instance {i} served requests of the session"
        );
    }

    // The media download: authorized by Keel, sent by nginx.
    let list: Value = get_json(&t, &format!("/api/forms/{id}/responses")).await;
    let item = &list["items"][0];
    let file_id = item["files"][0]["id"].as_str().unwrap();
    let path = format!(
        "/api/forms/{id}/responses/{}/files/{file_id}",
        item["id"].as_str().unwrap()
    );
    let download = t.client.get(t.url(&path)).send().await.unwrap();
    assert_eq!(download.status(), 200);
    assert!(
        download.headers().get("x-accel-redirect").is_none(),
        "nginx consumed it"
    );
    let disposition = download.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert_eq!(
        download.bytes().await.unwrap().as_ref(),
        photo.as_slice(),
        "nginx sent the file's bytes"
    );

    // Static files come from nginx, immutable, and never reach Keel.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(t.dir.path().join("var/static/manifest.json")).unwrap()).unwrap();
    let hashed = manifest["files"]["keel/base.css"]["hashed"]
        .as_str()
        .unwrap()
        .to_owned();
    let asset = t.client.get(t.url(&format!("/static/{hashed}"))).send().await.unwrap();
    assert_eq!(asset.status(), 200, "/static/{hashed}");
    let cache = asset.headers()["cache-control"].to_str().unwrap().to_owned();
    assert!(cache.contains("immutable"), "{cache}");
    for i in 0..2 {
        assert!(
            !t.log(i).contains("/static/"),
            "instance {i} never saw a static request"
        );
    }

    // `check --deploy --live` against this topology: every live probe
    // passes (database and pools for two instances, Redis, media, disk,
    // and the site through nginx: redirect, certificate, HSTS, headers,
    // cookies, unknown hosts refused).
    let http = t.http.to_string();
    let check = t.keel(&[
        "check",
        "--deploy",
        "--live",
        "--instances",
        "2",
        "--format",
        "json",
        "--ca-cert",
        "deploy/tls/fullchain.pem",
        "--http-port",
        &http,
    ]);
    let report: Value = serde_json::from_slice(&check.stdout).expect("a JSON report");
    let live: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["id"].as_str().unwrap().starts_with("keel.live.") || f["id"].as_str().unwrap().starts_with("keel.db.E")
        })
        .collect();
    assert!(live.is_empty(), "every live probe passes: {live:?}");
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"keel.email.W101"),
        "the deploy checks ran (console mail in prod): {ids:?}"
    );

    // A form closed through instance A answers 409 through instance B.
    let direct = |port: u16| format!("http://127.0.0.1:{port}");
    let token_a = csrf(&t).await;
    let closed = t
        .client
        .patch(format!("{}/api/forms/{id}", direct(t.ports[0])))
        .header("host", format!("localhost:{}", t.https))
        .header("x-forwarded-proto", "https")
        .header("x-csrftoken", token_a)
        .header("origin", t.origin())
        .header("cookie", session_cookies(&t).await)
        .json(&json!({"accepting_responses": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 200, "{}", closed.text().await.unwrap());
    let refused = reqwest::Client::new()
        .post(format!("{}/api/public/forms/{slug}/responses", direct(t.ports[1])))
        .header("host", format!("localhost:{}", t.https))
        .header("x-forwarded-proto", "https")
        .json(&json!({"submission_token": token, "answers": {"name": "Bo"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409, "B knows A closed the form");
}

/// The client's cookies for the site, as one `Cookie` header.
async fn session_cookies(t: &Topology) -> String {
    use reqwest::cookie::CookieStore;
    let url = t.url("/").parse().unwrap();
    t.jar
        .cookies(&url)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_request_fails_through_a_kill_and_a_rolling_restart() {
    if !ready().await {
        return;
    }
    let mut t = Topology::start(&[("KEEL_SUBMISSION_RATE", "1000000/1m")]).await;
    let signup = send_json(
        &t,
        reqwest::Method::POST,
        "/api/auth/signup",
        &json!({"email": "owner@example.com", "password": keel_testkit::GOOD_PASSWORD}),
    )
    .await;
    assert_eq!(signup.status(), 201);
    let definition = json!({"title": "Load", "fields": [{"key": "n", "label": "N", "type": "integer"}]});
    let form: Value = send_json(&t, reqwest::Method::POST, "/api/forms", &definition)
        .await
        .json()
        .await
        .unwrap();
    let slug = form["slug"].as_str().unwrap().to_owned();
    let public: Value = get_json(&t, &format!("/api/public/forms/{slug}")).await;
    let token = public["submission_token"].as_str().unwrap().to_owned();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));

    // kill -9 of one instance: no GET fails; every 201 is stored, once.
    let run = load::Load::start(&t, &slug, &token, next.clone());
    load::pause(500).await;
    t.kill(0);
    load::pause(1000).await;
    let counts = run.finish().await;
    let (_, failed_gets, _, created) = load::report("kill -9", &counts, &load::stored(&t).await);
    assert_eq!(
        failed_gets,
        0,
        "{:?}\n{}",
        counts.failures.lock().unwrap(),
        t.nginx_errors()
    );
    assert!(created > 0);
    t.start_instance(0).await;

    // A rolling restart: not one request of any method fails.
    let run = load::Load::start(&t, &slug, &token, next);
    load::pause(300).await;
    for i in 0..2 {
        t.stop(i).await;
        t.start_instance(i).await;
        load::pause(300).await;
    }
    let counts = run.finish().await;
    let (_, failed_gets, failed_posts, _) = load::report("rolling restart", &counts, &load::stored(&t).await);
    let failures = counts.failures.lock().unwrap().clone();
    if failed_gets + failed_posts > 0 {
        println!("first failures: {:?}", &failures[..failures.len().min(3)]);
        println!("nginx said:\n{}", t.nginx_errors());
    }
    assert_eq!((failed_gets, failed_posts), (0, 0));
}
