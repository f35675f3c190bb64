//! `/metrics` on the separate KEEL_METRICS_BIND listener: what it holds
//! after real traffic, that `promtool check metrics` accepts it, that
//! random paths and methods add no series, and that the public listener
//! never serves it.
//!
//! The recorder is one per process, so the tests of this file share it:
//! they look for series and lower bounds, never exact totals.

mod forms_common;
mod reports_common;

use std::io::Write;
use std::process::{Command, Stdio};

use keel_testkit::services::program_installed;
use keel_testkit::{on_both_backends, Backend, TestServer};
use serde_json::json;

on_both_backends!(
    a_scrape_holds_requests_latency_pool_cache_outbox_submissions_and_process,
    random_paths_and_methods_add_no_series,
    shed_requests_and_rate_limited_submissions_are_counted,
);

async fn metrics_server(backend: Backend) -> TestServer {
    TestServer::spawn_with(reports_common::site(), backend, |s| {
        s.server.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
        // The error report of `/boom` is written in a transaction: a
        // sample of the pool's acquire time.
        s.email.admins = vec!["ops@example.com".to_owned()];
    })
    .await
}

async fn scrape(server: &TestServer) -> String {
    let addr = server.metrics_addr.expect("the metrics listener is bound");
    let response = reqwest::get(format!("http://{addr}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    response.text().await.unwrap()
}

/// The value of the first sample line starting with `series`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn promtool_accepts(text: &str) {
    if !program_installed("promtool") {
        return;
    }
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics:\n{said}\n---\n{text}"
    );
}

async fn a_scrape_holds_requests_latency_pool_cache_outbox_submissions_and_process(backend: Backend) {
    let server = metrics_server(backend).await;
    let form = forms_common::owner_with_form(&server).await;
    let slug = form["slug"].as_str().unwrap();
    let public = forms_common::fetch_public(&server, slug).await;
    forms_common::fetch_public(&server, slug).await;
    let token = public["submission_token"].as_str().unwrap();
    let accepted = json!({"submission_token": token, "answers": forms_common::good_answers()});
    assert_eq!(forms_common::submit(&server, slug, &accepted).await.status(), 201);
    let bot = json!({"submission_token": token, "answers": forms_common::good_answers(), "_hp": "spam"});
    assert_eq!(forms_common::submit(&server, slug, &bot).await.status(), 201);
    let invalid = json!({"submission_token": token, "answers": {"name": ""}});
    assert_eq!(forms_common::submit(&server, slug, &invalid).await.status(), 422);
    assert_eq!(server.get("/boom").await.status(), 500);
    // The report is queued, then delivered by the outbox worker (to the
    // test profile's console).
    let reported = async {
        while !scrape(&server)
            .await
            .contains("keel_outbox_deliveries_total{kind=\"email\",outcome=\"delivered\"}")
        {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), reported)
        .await
        .expect("the report is counted");

    let text = scrape(&server).await;
    promtool_accepts(&text);
    let expected = [
        "keel_http_requests_total{route=\"/api/public/forms/{slug}\",method=\"GET\",status=\"200\"}",
        "keel_http_requests_total{route=\"/boom\",method=\"GET\",status=\"500\"}",
        "keel_http_request_duration_seconds_bucket{route=\"/api/public/forms/{slug}\",method=\"GET\",le=\"0.005\"}",
        "keel_http_request_duration_seconds_count{route=\"/api/forms\",method=\"POST\"}",
        "keel_http_requests_in_flight",
        "keel_db_pool_connections{state=\"idle\"}",
        "keel_db_pool_max_connections",
        "keel_db_pool_acquire_seconds_count",
        "keel_cache_requests_total{result=\"hit\"}",
        "keel_outbox_pending_messages",
        "keel_outbox_oldest_pending_age_seconds",
        "keel_submissions_total{outcome=\"accepted\",reason=\"none\"}",
        "keel_submissions_total{outcome=\"rejected\",reason=\"honeypot\"}",
        "keel_submissions_total{outcome=\"rejected\",reason=\"validation\"}",
        "keel_error_reports_total{report=\"error\",outcome=\"sent\"}",
        "keel_outbox_deliveries_total{kind=\"email\",outcome=\"delivered\"}",
        "keel_build_info{version=",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_cpu_seconds_total",
    ];
    for series in expected {
        let found = value(&text, series);
        assert!(found.is_some(), "{series} missing from:\n{text}");
    }
    assert!(
        value(
            &text,
            "keel_http_requests_total{route=\"/api/public/forms/{slug}\",method=\"GET\",status=\"200\"}"
        )
        .unwrap()
            >= 2.0
    );
    assert!(value(&text, "process_resident_memory_bytes").unwrap() > 1e6);
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(!line.contains(slug), "a raw path leaked into a label: {line}");
    }

    // Never on the public listener.
    assert_eq!(server.get("/metrics").await.status(), 404);
}

async fn random_paths_and_methods_add_no_series(backend: Backend) {
    let server = metrics_server(backend).await;
    let client = reqwest::Client::new();
    let before = scrape(&server).await;
    for n in 0..300 {
        let path = format!("/probe-{n}/wp-admin-{n}.php");
        assert_eq!(client.get(server.url(&path)).send().await.unwrap().status(), 404);
        let method = reqwest::Method::from_bytes(format!("PROBE{n}").as_bytes()).unwrap();
        client.request(method, server.url("/api/csrf")).send().await.unwrap();
    }
    let after = scrape(&server).await;
    promtool_accepts(&after);
    let series = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("keel_http_requests_total{"))
            .count()
    };
    assert!(
        series(&after) <= series(&before) + 4,
        "600 odd requests added {} series",
        series(&after) - series(&before)
    );
    assert!(!after.contains("probe-"), "a raw path became a label");
    assert!(!after.contains("PROBE"), "a raw method became a label");
    assert!(after.contains("route=\"unmatched\",method=\"GET\",status=\"404\""));
    assert!(after.contains("method=\"other\""));
}

/// Over `KEEL_MAX_CONCURRENT_REQUESTS` a request is shed (503 at once) and
/// counted; a submission over the rate limit is counted by its reason.
async fn shed_requests_and_rate_limited_submissions_are_counted(backend: Backend) {
    let server = TestServer::spawn_with(reports_common::site(), backend, |s| {
        s.server.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
        s.server.max_concurrent_requests = 1;
        s.update_section(|f: &mut keel_forms::settings::FormsSettings| {
            f.submission_rate = keel::settings::Rate::parse("1/1h").unwrap();
        });
    })
    .await;
    let form = forms_common::owner_with_form(&server).await;
    let slug = form["slug"].as_str().unwrap();
    let token = forms_common::fetch_public(&server, slug).await["submission_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({"submission_token": token, "answers": forms_common::good_answers()});
    assert_eq!(forms_common::submit(&server, slug, &body).await.status(), 201);
    assert_eq!(forms_common::submit(&server, slug, &body).await.status(), 429);

    // One slow request holds the only slot; the next is shed.
    let slow = tokio::spawn(reqwest::get(server.url("/slow")));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(server.get("/api/csrf").await.status(), 503);
    slow.abort();

    let text = scrape(&server).await;
    promtool_accepts(&text);
    for series in [
        "keel_http_requests_shed_total",
        "keel_submissions_total{outcome=\"rejected\",reason=\"rate_limit\"}",
    ] {
        assert!(
            value(&text, series).is_some_and(|v| v >= 1.0),
            "{series} missing from:\n{text}"
        );
    }
}
