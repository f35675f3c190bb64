//! Error reports to KEEL_ADMINS and broken-link reports to KEEL_MANAGERS,
//! through the outbox to a real SMTP sink: what a report holds, what it
//! never holds, and how often it is sent.

mod reports_common;

use std::time::Duration;

use keel_testkit::{on_both_backends, Backend, SmtpMessage, SmtpSink, TestServer};
use reports_common::{reporting_to, site, COOKIE_SECRET, QUERY_SECRET};

const WAIT: Duration = Duration::from_secs(20);

on_both_backends!(
    an_internal_error_is_mailed_to_the_admins_once_per_interval,
    a_panic_and_a_timeout_are_reported_with_their_kind_and_the_user,
    a_link_from_this_site_to_a_missing_page_is_mailed_to_the_managers,
    nobody_is_mailed_when_nobody_is_named,
    a_scan_of_random_paths_mails_the_managers_twenty_times_at_most,
);

/// A GET carrying a secret in its query and in a cookie; its request id.
async fn failing_get(server: &TestServer, path: &str) -> (u16, String) {
    let response = server
        .new_client()
        .get(server.url(&format!("{path}?token={QUERY_SECRET}")))
        .header(
            "cookie",
            format!("sessionid={COOKIE_SECRET}; csrftoken={COOKIE_SECRET}"),
        )
        .send()
        .await
        .expect("the request is answered");
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    (response.status().as_u16(), id)
}

fn assert_holds_nothing_secret(server: &TestServer, mail: &SmtpMessage) {
    let key = secrecy::ExposeSecret::expose_secret(server.core.settings.secret.key.as_ref().unwrap()).to_owned();
    for secret in [
        QUERY_SECRET,
        COOKIE_SECRET,
        key.as_str(),
        "x-raw-path-id",
        "disk-owner@example.com",
    ] {
        assert!(
            !mail.data.contains(secret),
            "the report holds {secret:?}:\n{}",
            mail.data
        );
    }
}

async fn an_internal_error_is_mailed_to_the_admins_once_per_interval(backend: Backend) {
    let sink = SmtpSink::start().await;
    let server = TestServer::spawn_with(site(), backend, reporting_to(&sink)).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let (status, id) = failing_get(&server, "/fail/x-raw-path-id").await;
        assert_eq!(status, 500);
        ids.push(id);
    }
    let mail = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(mail.to, ["ops@example.com"], "to the admins");
    assert_eq!(mail.from, "errors@example.com", "from KEEL_SERVER_EMAIL");
    let subject = mail.header("subject").unwrap();
    assert!(
        subject.contains("ERROR 500") && subject.contains("LedgerError") && subject.contains("GET /fail/{id}"),
        "{subject}"
    );
    let body = mail.body();
    for expected in [
        format!("Request id:  {}", ids[0]),
        "Method:      GET".to_owned(),
        "Route:       /fail/{id}".to_owned(),
        "Status:      500".to_owned(),
        "User id:     (not logged in)".to_owned(),
        format!("Keel:        {} (test profile)", env!("CARGO_PKG_VERSION")),
        "Error kind:  LedgerError".to_owned(),
        "Location:    crates/keel-cli/tests/reports_common/mod.rs:".to_owned(),
        "1. the ledger could not be balanced".to_owned(),
        "2. disk quota exceeded".to_owned(),
    ] {
        assert!(body.contains(&expected), "{expected:?} missing from:\n{body}");
    }
    assert_holds_nothing_secret(&server, &mail);

    // Four more in the interval were held back; the next one after it
    // counts them.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(sink.messages().len(), 1, "one mail per fingerprint per interval");
    let (_, later) = failing_get(&server, "/fail/another").await;
    let second = sink.wait_for(2, WAIT).await.remove(1);
    assert!(second.body().contains(&format!("Request id:  {later}")));
    assert!(
        second
            .body()
            .contains("4 more like this since the last report were not mailed"),
        "{}",
        second.body()
    );
    let sent: i64 = sqlx_count(&server, "SELECT COUNT(*) FROM keel_outbox WHERE kind = 'email'").await;
    assert_eq!(sent, 2, "the reports went through the outbox, two rows and no more");
}

async fn sqlx_count(server: &TestServer, sql: &str) -> i64 {
    keel::on_pool!(&server.core.db, pool => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap())
}

async fn a_panic_and_a_timeout_are_reported_with_their_kind_and_the_user(backend: Backend) {
    let sink = SmtpSink::start().await;
    let server = TestServer::spawn_with(site(), backend, |s| {
        reporting_to(&sink)(s);
        s.server.request_timeout = Duration::from_secs(1);
    })
    .await;
    let (status, _) = failing_get(&server, "/boom").await;
    assert_eq!(status, 500);
    let panic = sink.wait_for(1, WAIT).await.remove(0);
    let subject = panic.header("subject").unwrap();
    assert!(subject.contains("panic at GET /boom"), "{subject}");
    assert!(
        panic.body().contains("1. the boom route always panics"),
        "{}",
        panic.body()
    );
    assert!(
        panic
            .body()
            .contains("Location:    crates/keel-cli/tests/reports_common/mod.rs:"),
        "the panic's own line"
    );
    assert_holds_nothing_secret(&server, &panic);

    let (status, _) = failing_get(&server, "/slow").await;
    assert_eq!(status, 503, "the request timeout answers");
    let timeout = sink.wait_for(2, WAIT).await.remove(1);
    assert!(timeout
        .header("subject")
        .unwrap()
        .contains("ERROR 503: timeout at GET /slow"));
    assert!(timeout.body().contains("no response within 1 s (KEEL_REQUEST_TIMEOUT)"));

    assert_eq!(server.signup("disk-owner@example.com").await.status(), 201);
    let me: serde_json::Value = server.get("/api/auth/me").await.json().await.unwrap();
    assert_eq!(server.get("/mine/fail").await.status(), 500);
    let mine = sink.wait_for(3, WAIT).await.remove(2);
    let user_line = format!("User id:     {}", me["id"].as_str().unwrap());
    assert!(mine.body().contains(&user_line), "{}", mine.body());
    assert_holds_nothing_secret(&server, &mine);
}

async fn a_link_from_this_site_to_a_missing_page_is_mailed_to_the_managers(backend: Backend) {
    let sink = SmtpSink::start().await;
    let server = TestServer::spawn_with(site(), backend, |s| {
        reporting_to(&sink)(s);
        s.email.ignorable_404_urls = vec![
            regex::Regex::new("^/ignored/").unwrap(),
            regex::Regex::new(r"\.php$").unwrap(),
        ];
    })
    .await;
    let here = server.origin();
    let visit = |path: &'static str, referer: String| {
        let request = reqwest::Client::new()
            .get(server.url(path))
            .header("referer", referer)
            .header("user-agent", "LinkChecker/1.0");
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let cases = [
        ("/gone-page", format!("{here}/blog/post?session={QUERY_SECRET}#top")),
        ("/gone-page", format!("{here}/blog/other")),
        ("/ignored/old", format!("{here}/blog/post")),
        ("/wp-login.php", format!("{here}/blog/post")),
        ("/from-elsewhere", "https://elsewhere.example/page".to_owned()),
        ("/api/nothing-here", format!("{here}/blog/post")),
        ("/self-link", format!("{here}/self-link")),
    ];
    for (path, referer) in cases {
        assert_eq!(visit(path, referer).await, 404, "{path}");
    }
    assert_eq!(server.get("/no-referer").await.status(), 404);
    // A last one, reported: the reports are handled in order, so once it
    // arrives every case above has been judged.
    assert_eq!(visit("/last-gone", format!("{here}/")).await, 404);
    let mails = sink.wait_for(2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mails = if sink.messages().len() > mails.len() {
        sink.messages()
    } else {
        mails
    };
    let subjects: Vec<String> = mails.iter().map(|m| m.header("subject").unwrap()).collect();
    assert_eq!(
        subjects.len(),
        2,
        "only the two broken links from this site, once each: {subjects:?}"
    );
    let first = mails
        .iter()
        .find(|m| m.body().contains("Path:        /gone-page"))
        .expect("the broken link");
    assert_eq!(first.to, ["web@example.com"], "to the managers");
    assert_eq!(first.from, "errors@example.com");
    assert!(
        first.body().contains(&format!("Referrer:    {here}/blog/post")),
        "{}",
        first.body()
    );
    assert!(
        !first.body().contains("#top"),
        "without query or fragment:\n{}",
        first.body()
    );
    assert!(first.body().contains("User agent:  LinkChecker/1.0"));
    assert_holds_nothing_secret(&server, first);
}

async fn nobody_is_mailed_when_nobody_is_named(backend: Backend) {
    let sink = SmtpSink::start().await;
    let server = TestServer::spawn_with(site(), backend, |s| {
        reporting_to(&sink)(s);
        s.email.admins.clear();
        s.email.managers.clear();
    })
    .await;
    let (status, _) = failing_get(&server, "/fail/one").await;
    assert_eq!(status, 500);
    let referer = format!("{}/page", server.origin());
    let response = reqwest::Client::new()
        .get(server.url("/gone"))
        .header("referer", referer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(sink.messages().is_empty());
    assert_eq!(
        sqlx_count(&server, "SELECT COUNT(*) FROM keel_outbox").await,
        0,
        "nothing queued"
    );
}

/// `Referer` and the path are the client's: a scan that claims to come
/// from this site cannot flood the managers (20 mails per interval).
async fn a_scan_of_random_paths_mails_the_managers_twenty_times_at_most(backend: Backend) {
    let sink = SmtpSink::start().await;
    let server = TestServer::spawn_with(site(), backend, |s| {
        reporting_to(&sink)(s);
        s.email.report_interval = Duration::from_secs(600);
    })
    .await;
    let referer = format!("{}/", server.origin());
    let client = reqwest::Client::new();
    for n in 0..40 {
        let response = client
            .get(server.url(&format!("/scan-{n}")))
            .header("referer", &referer)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
    }
    sink.wait_for(20, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 20, "capped");
    let queued = sqlx_count(&server, "SELECT COUNT(*) FROM keel_outbox").await;
    assert_eq!(queued, 20, "nor does the outbox grow past the cap");
}
