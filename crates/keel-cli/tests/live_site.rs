//! `keel check --deploy --live`, the probes of `KEEL_PUBLIC_URL`: Keel
//! behind a TLS-terminating proxy with a certificate from a test CA
//! (passed as `--ca-cert` would), then the same with each thing a real
//! deployment gets wrong: no `X-Forwarded-Proto`, plain http served,
//! certificates expiring, expired or from an unknown CA, and a server
//! without Keel's layers at all.

mod live_common;

use keel::launch::LiveOptions;
use keel::Settings;
use keel_testkit::{Backend, Receiver, TestServer};
use live_common::{find, ids, probe_with, settings, SiteCert, TestCa, TlsProxy};

/// Keel as a proxy's upstream: https known from `X-Forwarded-Proto`,
/// plain http redirected, HSTS on, cookies Secure.
fn behind_proxy(s: &mut Settings) {
    s.security.proxy_ssl_header = Some(("x-forwarded-proto".to_owned(), "https".to_owned()));
    s.security.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    s.security.ssl_redirect = true;
    s.security.hsts_seconds = 31_536_000;
    s.security.csrf_cookie_secure = true;
    s.security.session_cookie_secure = true;
}

/// The live findings about the site at `public_url`, with the test CA
/// trusted when given and plain http expected on `http_port`.
async fn site_findings(public_url: &str, ca: Option<&TestCa>, http_port: u16) -> Vec<keel::checks::Finding> {
    let dir = tempfile::tempdir().unwrap();
    let options = LiveOptions {
        ca_pem: ca.map(TestCa::pem),
        http_port,
        ..LiveOptions::default()
    };
    let findings = probe_with(settings(dir.path(), &[("KEEL_PUBLIC_URL", public_url)]), &options).await;
    findings
        .into_iter()
        .filter(|f| f.id.starts_with("keel.live.W05") || f.id == "keel.live.E050")
        .collect()
}

async fn keel_behind(cert: &SiteCert, configure: fn(&mut Settings), forwarded_proto: bool) -> (TestServer, TlsProxy) {
    let server = TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, configure).await;
    let proxy = TlsProxy::start(server.addr, cert, forwarded_proto).await;
    (server, proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_site_probe_passes_for_keel_behind_a_proxy_that_says_https() {
    let ca = TestCa::new();
    let (server, proxy) = keel_behind(&ca.site_cert(-1, 200), behind_proxy, true).await;
    let findings = site_findings(&proxy.url(), Some(&ca), server.addr.port()).await;
    assert_eq!(ids(&findings, "keel.live."), Vec::<&str>::new(), "{findings:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_without_x_forwarded_proto_loses_hsts_and_serves_plain_http() {
    let ca = TestCa::new();
    let cert = ca.site_cert(-1, 200);
    // Keel left at the test defaults: no proxy header, no redirect, and
    // cookies without Secure although the public URL is https.
    let (server, proxy) = keel_behind(&cert, |_| {}, false).await;
    let findings = site_findings(&proxy.url(), Some(&ca), server.addr.port()).await;
    assert_eq!(
        ids(&findings, "keel.live."),
        ["keel.live.W052", "keel.live.W053", "keel.live.W055"]
    );
    let plain = find(&findings, "keel.live.W052").unwrap();
    assert!(
        plain.message.contains("answered 200 OK instead of redirecting"),
        "{}",
        plain.message
    );
    let cookie = find(&findings, "keel.live.W055").unwrap();
    assert!(cookie.message.contains("csrftoken lacks Secure"), "{}", cookie.message);

    let closed = keel_testkit::private::free_port();
    let findings = site_findings(&proxy.url(), Some(&ca), closed).await;
    let nothing = find(&findings, "keel.live.W052").expect("nothing on plain http");
    assert!(nothing.message.contains("reach nothing"), "{}", nothing.message);

    // With its redirect on but no header, Keel sends every https request
    // back to https: a loop.
    let (_server, looping) = keel_behind(&cert, |s| s.security.ssl_redirect = true, false).await;
    let findings = site_findings(&looping.url(), Some(&ca), server.addr.port()).await;
    let loop_finding = find(&findings, "keel.live.E050").expect("a redirect loop");
    assert!(
        loop_finding.message.contains("redirect loop"),
        "{}",
        loop_finding.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_warn_before_expiry_and_fail_when_expired_or_unknown() {
    let ca = TestCa::new();
    let (server, soon) = keel_behind(&ca.site_cert(-30, 10), behind_proxy, true).await;
    let findings = site_findings(&soon.url(), Some(&ca), server.addr.port()).await;
    assert_eq!(ids(&findings, "keel.live."), ["keel.live.W051"], "{findings:#?}");
    let expiring = find(&findings, "keel.live.W051").unwrap();
    assert!(expiring.message.contains("day(s) from now"), "{}", expiring.message);

    let (server, expired) = keel_behind(&ca.site_cert(-400, -35), behind_proxy, true).await;
    let findings = site_findings(&expired.url(), Some(&ca), server.addr.port()).await;
    let failed = find(&findings, "keel.live.E050").expect("an expired certificate");
    assert!(failed.message.to_lowercase().contains("expired"), "{}", failed.message);

    let (server, unknown) = keel_behind(&ca.site_cert(-1, 200), behind_proxy, true).await;
    let findings = site_findings(&unknown.url(), None, server.addr.port()).await;
    let failed = find(&findings, "keel.live.E050").expect("a CA nobody trusts");
    assert!(failed.message.contains("UnknownIssuer"), "{}", failed.message);
    assert!(
        find(&findings, "keel.live.W052").is_none(),
        "plain http still redirects"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_cookies_and_unknown_hosts_pass_on_keel_and_fail_on_a_bare_server() {
    // Over plain http (no certificate involved): Keel itself passes.
    let server = TestServer::spawn(keel_cli::site(), Backend::Sqlite).await;
    let findings = site_findings(&server.origin(), None, 80).await;
    assert_eq!(ids(&findings, "keel.live."), Vec::<&str>::new(), "{findings:#?}");

    // A server that answers anything with a bare 200.
    let bare = Receiver::start().await;
    let findings = site_findings(&bare.url(""), None, 80).await;
    assert_eq!(
        ids(&findings, "keel.live."),
        ["keel.live.W054", "keel.live.W055", "keel.live.W056"]
    );
    let headers = find(&findings, "keel.live.W054").unwrap();
    assert!(
        headers.message.contains("x-frame-options") && headers.message.contains("content-security-policy"),
        "{}",
        headers.message
    );
    let host = find(&findings, "keel.live.W056").unwrap();
    assert!(
        host.message
            .contains("unknown-host.keel-check.invalid was answered 200"),
        "{}",
        host.message
    );
    let host_seen = bare
        .requests()
        .iter()
        .any(|r| r.header("host") == Some("unknown-host.keel-check.invalid"));
    assert!(host_seen, "the probe sent the unknown Host as given");
}
