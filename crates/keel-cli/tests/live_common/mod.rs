#![allow(dead_code, reason = "each test file uses a part of it")]

//! What the `check --live` tests share: settings loaded as an operator's
//! would be (so `KEEL_PUBLIC_URL` counts as set), the probe run on a built
//! core, and a TLS-terminating proxy with certificates from a test CA.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use keel::checks::Finding;
use keel::core::Core;
use keel::launch::LiveOptions;
use keel::settings::LoadInput;
use keel::Settings;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{crypto::ring, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// The test profile with `env` on top, read through the real loader, in
/// `dir`.
pub(crate) fn settings(dir: &Path, env: &[(&str, &str)]) -> Settings {
    let mut vars: HashMap<String, String> = [
        ("KEEL_ENV", "test"),
        (
            "KEEL_SECRET_KEY",
            "test-secret-key-that-is-long-enough-and-varied-0123456789",
        ),
    ]
    .into_iter()
    .chain(env.iter().copied())
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    vars.retain(|_, v| !v.is_empty());
    let input = LoadInput {
        env: vars,
        cwd: dir.to_owned(),
    };
    Settings::load_from(&input, &keel_cli::site().sections()).expect("the test settings are valid")
}

/// `check --deploy --live` on `settings`, migrated first as `keel migrate`
/// would; with `options`.
pub(crate) async fn probe_with(settings: Settings, options: &LiveOptions) -> Vec<Finding> {
    let site = keel_cli::site();
    let core = Core::build(settings).await.expect("the core builds");
    let _ = keel::launch::prepare_database(&core, &site.apps).await;
    keel::launch::run_live_checks(&core, &site.apps, options).await
}

pub(crate) async fn probe(settings: Settings) -> Vec<Finding> {
    probe_with(settings, &LiveOptions::default()).await
}

/// The finding `id`, if reported.
pub(crate) fn find<'a>(findings: &'a [Finding], id: &str) -> Option<&'a Finding> {
    findings.iter().find(|f| f.id == id)
}

/// The ids of the findings whose id starts with `prefix`.
pub(crate) fn ids(findings: &[Finding], prefix: &str) -> Vec<&'static str> {
    findings
        .iter()
        .map(|f| f.id)
        .filter(|id| id.starts_with(prefix))
        .collect()
}

/// A certificate authority of the test's own.
pub(crate) struct TestCa {
    key: KeyPair,
    cert: rcgen::Certificate,
}

/// A site certificate for 127.0.0.1 and localhost, with its key.
pub(crate) struct SiteCert {
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
}

impl TestCa {
    pub(crate) fn new() -> Self {
        let key = KeyPair::generate().expect("a CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "Keel test CA");
        let cert = params.self_signed(&key).expect("a CA certificate");
        Self { key, cert }
    }

    /// The CA certificate, for `--ca-cert`.
    pub(crate) fn pem(&self) -> Vec<u8> {
        self.cert.pem().into_bytes()
    }

    /// A certificate valid from `from_days` to `until_days` days from now
    /// (negative: in the past).
    pub(crate) fn site_cert(&self, from_days: i64, until_days: i64) -> SiteCert {
        let day = |offset: i64| {
            use chrono::Datelike;
            let date = chrono::Utc::now() + chrono::Duration::days(offset);
            rcgen::date_time_ymd(date.year(), date.month() as u8, date.day() as u8)
        };
        let key = KeyPair::generate().expect("a site key");
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("site parameters");
        params.not_before = day(from_days);
        params.not_after = day(until_days);
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("a site certificate");
        SiteCert {
            chain: vec![cert.der().clone()],
            key: key.serialize_der(),
        }
    }
}

/// A TLS-terminating proxy on 127.0.0.1:0 in front of `upstream`, as
/// nginx would be; with `forwarded_proto` it adds `X-Forwarded-Proto:
/// https` to each connection's first request, as a configured proxy does.
pub(crate) struct TlsProxy {
    pub(crate) addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TlsProxy {
    pub(crate) async fn start(upstream: SocketAddr, cert: &SiteCert, forwarded_proto: bool) -> Self {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key.clone()));
        let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(cert.chain.clone(), key)
            .expect("the site certificate and key match");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let addr = listener.local_addr().expect("the bound address");
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        let _ = relay(tls, upstream, forwarded_proto).await;
                    }
                });
            }
        });
        Self { addr, task }
    }

    /// `https://127.0.0.1:<port>`, for `KEEL_PUBLIC_URL`.
    pub(crate) fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads the request head, adds the header when asked, then copies both
/// ways until either side closes.
async fn relay(
    mut client: tokio_rustls::server::TlsStream<TcpStream>,
    upstream: SocketAddr,
    forwarded_proto: bool,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = client.read(&mut chunk).await?;
        if n == 0 || head.len() > 64 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let line_end = head.windows(2).position(|w| w == b"\r\n").expect("a request line") + 2;
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(&head[..line_end]).await?;
    if forwarded_proto {
        server.write_all(b"X-Forwarded-Proto: https\r\n").await?;
    }
    server.write_all(&head[line_end..]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}
