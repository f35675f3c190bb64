//! The webhook SSRF guard: URLs checked when saved (`validate_webhook_url`)
//! and addresses checked when delivered, including a name that resolves to
//! loopback; everything refused is dead-lettered with its reason and never
//! reaches the network, unless `KEEL_WEBHOOK_ALLOW_PRIVATE` allows it.

use std::time::Duration;

use keel::outbox::store::Status;
use keel::outbox::{self, validate_webhook_url, OutboxMessage, WebhookMessage};
use keel::settings::Profile;
use keel::Settings;
use keel_testkit::outbox::wait_for_status;
use keel_testkit::{on_both_backends, Backend, Receiver, TestServer};
use serde_json::{json, Value};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(20);

async fn enqueue_webhook(server: &TestServer, url: &str) -> Uuid {
    let message = OutboxMessage::Webhook(WebhookMessage {
        url: url.to_owned(),
        secret: "s".to_owned(),
        event: "response.created".to_owned(),
        payload: serde_json::json!({}),
    });
    let mut tx = server.core.db.begin().await.unwrap();
    let id = outbox::enqueue(&mut tx, &message).await.unwrap();
    tx.commit().await.unwrap();
    outbox::wake_workers();
    id
}

on_both_backends!(
    webhooks_to_non_public_addresses_are_refused_unless_allowed,
    forms_with_webhooks_to_ipv6_literals_that_are_not_global_unicast_are_422,
);

async fn webhooks_to_non_public_addresses_are_refused_unless_allowed(backend: Backend) {
    let receiver = Receiver::start().await;
    let port = receiver.addr.port();
    let guarded = TestServer::spawn(keel_cli::site(), backend).await;
    let cases = [
        (
            format!("http://127.0.0.1:{port}/hook"),
            "loopback",
            "a loopback literal",
        ),
        ("http://10.1.2.3/hook".to_owned(), "private", "a private literal"),
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "link-local",
            "cloud metadata",
        ),
        (
            format!("http://[::1]:{port}/hook"),
            "loopback",
            "an IPv6 loopback literal",
        ),
        (
            format!("http://localhost:{port}/hook"),
            "resolves to a non-public address (loopback)",
            "a name resolving to loopback",
        ),
    ];
    for (url, reason, why) in &cases {
        let id = enqueue_webhook(&guarded, url).await;
        let row = wait_for_status(&guarded.core.db, id, Status::Dead, false, WAIT).await;
        assert_eq!(row.attempts, 1, "{why}: refused at once, not retried");
        let error = row.last_error.unwrap_or_default();
        assert!(
            error.starts_with("refused: ") && error.contains(reason),
            "{why}: {error}"
        );
    }
    assert!(receiver.requests().is_empty(), "nothing refused reached the network");

    // The same site restarted with private addresses allowed.
    let allowed = guarded
        .spawn_sharing(|s: &mut Settings| s.outbox.webhook_allow_private = true)
        .await;
    guarded.stop().await;
    for url in [
        format!("http://127.0.0.1:{port}/ip"),
        format!("http://localhost:{port}/name"),
    ] {
        let id = enqueue_webhook(&allowed, &url).await;
        wait_for_status(&allowed.core.db, id, Status::Delivered, false, WAIT).await;
    }
    let paths: Vec<String> = receiver.deliveries().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/ip", "/name"]);
}

#[test]
fn webhook_urls_are_validated_when_saved() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Settings::for_test(dir.path());
    let mut prod = dev.clone();
    prod.profile = Profile::Prod;
    let mut open = dev.clone();
    open.outbox.webhook_allow_private = true;
    let cases: &[(&str, &Settings, bool, &str)] = &[
        ("https://hooks.example.com/keel", &prod, true, "https to a public name"),
        ("http://hooks.example.com/keel", &prod, false, "plain http in prod"),
        ("http://hooks.example.com/keel", &dev, true, "plain http outside prod"),
        ("ftp://hooks.example.com/keel", &dev, false, "not http"),
        ("javascript:alert(1)", &dev, false, "not a web URL"),
        ("https://user:pw@hooks.example.com/", &prod, false, "userinfo"),
        (
            "https://hooks.example.com:8443/x?y=1",
            &prod,
            true,
            "a port and a query",
        ),
        ("not a url", &dev, false, "unparseable"),
        ("https://127.0.0.1/", &prod, false, "loopback literal"),
        ("https://10.0.0.5/", &prod, false, "private literal"),
        ("https://172.16.3.4/", &prod, false, "private literal"),
        ("https://192.168.1.1/", &prod, false, "private literal"),
        ("https://169.254.169.254/", &prod, false, "metadata (link-local)"),
        ("https://100.64.1.1/", &prod, false, "CGNAT"),
        ("https://0.0.0.0/", &prod, false, "unspecified"),
        ("https://224.0.0.1/", &prod, false, "multicast"),
        ("https://[::1]/", &prod, false, "IPv6 loopback"),
        ("https://[fd12::1]/", &prod, false, "ULA"),
        ("https://[fe80::1]/", &prod, false, "IPv6 link-local"),
        ("https://[::ffff:127.0.0.1]/", &prod, false, "IPv4-mapped loopback"),
        ("https://2130706433/", &prod, false, "loopback as a decimal number"),
        ("https://0x7f.1/", &prod, false, "loopback in hex shorthand"),
        ("https://93.184.216.34/", &prod, true, "a public literal"),
        ("http://127.0.0.1:9000/", &open, true, "loopback when allowed"),
        ("http://[::1]:9000/", &open, true, "IPv6 loopback when allowed"),
    ];
    for (url, settings, ok, why) in cases {
        let result = validate_webhook_url(url, settings);
        assert_eq!(result.is_ok(), *ok, "{url} ({why}): {result:?}");
    }
}

async fn forms_with_webhooks_to_ipv6_literals_that_are_not_global_unicast_are_422(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    assert_eq!(server.signup("owner@example.com").await.status(), 201);
    let refused = [
        ("::127.0.0.1", "IPv4-compatible loopback"),
        ("::169.254.169.254", "IPv4-compatible metadata"),
        ("::8.8.8.8", "IPv4-compatible, deprecated whatever it embeds"),
        ("::ffff:10.0.0.1", "IPv4-mapped private"),
        ("::ffff:0:127.0.0.1", "IPv4-translated loopback"),
        ("::ffff:0:8.8.8.8", "IPv4-translated"),
        ("64:ff9b::127.0.0.1", "NAT64 of loopback"),
        ("64:ff9b:1::a9fe:a9fe", "local-use NAT64"),
        ("64:ff9b:1:a9fe:a9fe::", "local-use NAT64, another embedding"),
        ("2001:db8::1", "documentation"),
        ("2001::1", "Teredo"),
        ("2001:10::1", "ORCHID"),
        ("2002:808:808::1", "6to4"),
        ("3fff::1", "documentation (RFC 9637)"),
        ("100::1", "discard-only"),
        ("5f00::1", "SRv6 SIDs"),
        ("4000::1", "outside 2000::/3"),
    ];
    for (literal, why) in refused {
        let form = json!({"title": "T", "webhook_url": format!("https://[{literal}]/hook")});
        let response = server.post_json("/api/forms", &form).await;
        assert_eq!(response.status(), 422, "{literal}: {why}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "webhook_url", "{literal}: {why}");
    }
    for (literal, why) in [
        ("2606:4700:4700::1111", "global unicast"),
        ("::ffff:93.184.216.34", "IPv4-mapped public"),
        ("64:ff9b::93.184.216.34", "NAT64 of a public address"),
    ] {
        let form = json!({"title": "T", "webhook_url": format!("https://[{literal}]/hook")});
        let response = server.post_json("/api/forms", &form).await;
        assert_eq!(response.status(), 201, "{literal}: {why}");
    }
}
