//! The site graded from outside, as a visitor's tools see it: testssl.sh
//! (Debian's package) for TLS, and Mozilla's HTTP Observatory scanner
//! (`@mdn/mdn-http-observatory`, from npm) for the headers. Both need the
//! standard ports; run by `benches/grade.sh` (as root), not by default.
//! The site's certificate is replaced by one from a local CA that publishes
//! a revocation list, as a public CA's does (a self-signed certificate names
//! none, which testssl.sh rightly rates HIGH).

use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint, IsCa, KeyIdMethod,
    KeyPair, KeyUsagePurpose, SerialNumber,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::topology::Topology;

/// The grader's PKI, as a public CA gives it: a CA that publishes a
/// certificate revocation list (served here, on `crl_port`), and the site's
/// certificate signed by it and naming that list. Replaces the rendered
/// self-signed files; returns the CA's certificate for the graders to trust.
fn local_pki(tls: &Path, crl_port: u16) -> (PathBuf, Vec<u8>) {
    let day = |offset: i64| {
        let date = (chrono::Utc::now() + chrono::Duration::days(offset)).date_naive();
        use chrono::Datelike;
        rcgen::date_time_ymd(date.year(), date.month() as u8, date.day() as u8)
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name.push(rcgen::DnType::CommonName, "Keel grading CA");
    (ca.not_before, ca.not_after) = (day(-1), day(365));
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut site = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    site.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec![format!("http://127.0.0.1:{crl_port}/ca.crl")],
    }];
    (site.not_before, site.not_after) = (day(-1), day(90));
    let site = site.signed_by(&key, &ca, &ca_key).unwrap();
    let crl = CertificateRevocationListParams {
        this_update: day(-1),
        next_update: day(7),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: Vec::new(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&ca, &ca_key)
    .unwrap();
    std::fs::write(tls.join("fullchain.pem"), format!("{}{}", site.pem(), ca.pem())).unwrap();
    std::fs::write(tls.join("privkey.pem"), key.serialize_pem()).unwrap();
    let ca_path = tls.join("ca.pem");
    std::fs::write(&ca_path, ca.pem()).unwrap();
    (ca_path, crl.der().to_vec())
}

/// Answers every request on `listener` with the CRL.
async fn serve_crl(listener: tokio::net::TcpListener, crl: Vec<u8>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let crl = crl.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let _ = stream.read(&mut buf).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                crl.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&crl).await;
        });
    }
}

/// testssl.sh's findings at `severity` or above, and the grade it printed.
fn testssl(t: &Topology, ca: &Path) -> (Vec<String>, String) {
    let json = t.dir.path().join("testssl.json");
    let cert = ca;
    let out = Command::new("testssl")
        .args(["--quiet", "--color", "0", "--ip", "127.0.0.1", "--add-ca"])
        .arg(cert)
        .arg("--jsonfile")
        .arg(&json)
        .arg("https://localhost/")
        .output()
        .expect("testssl.sh runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let grade = text
        .lines()
        .find(|l| l.contains("Overall Grade"))
        .map(|l| l.split_whitespace().last().unwrap_or_default().to_owned())
        .unwrap_or_else(|| "(no rating printed)".to_owned());
    let findings: Vec<Value> = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let severe = findings
        .iter()
        .filter(|f| matches!(f["severity"].as_str(), Some("HIGH" | "CRITICAL")))
        .map(|f| format!("{} {}: {}", f["severity"], f["id"], f["finding"]))
        .collect();
    (severe, grade)
}

/// The Observatory's score and the tests it failed.
fn observatory(ca: &Path) -> (i64, Vec<String>) {
    // The package's own wrapper replaces NODE_EXTRA_CA_CERTS with a bundle
    // it downloads at install time; its scanner is run directly instead.
    let scanner = std::env::var("KEEL_OBSERVATORY")
        .unwrap_or_else(|_| "/opt/keel-ci/observatory/node_modules/@mdn/mdn-http-observatory/src/scan.js".to_owned());
    let out = Command::new("node")
        .arg(scanner)
        .env("NODE_EXTRA_CA_CERTS", ca)
        .arg("localhost")
        .output()
        .expect("the Observatory scanner runs");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("a JSON report: {}", String::from_utf8_lossy(&out.stderr)));
    let score = report["scan"]["score"].as_i64().unwrap_or_else(|| {
        println!("Observatory said: {report}");
        -1
    });
    let failed = report["tests"]
        .as_object()
        .map(|tests| {
            tests
                .iter()
                .filter(|(_, test)| test["pass"] == false)
                .map(|(name, test)| format!("{name}: {}", test["result"]))
                .collect()
        })
        .unwrap_or_default();
    (score, failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ports 80 and 443, testssl.sh and the Observatory scanner: benches/grade.sh"]
async fn the_rendered_site_grades_well_from_outside() {
    let t = Topology::start_on(&[], 80, 443).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (ca, crl) = local_pki(&t.dir.path().join("deploy/tls"), listener.local_addr().unwrap().port());
    tokio::spawn(serve_crl(listener, crl));
    t.reload_nginx().await;
    let (severe, grade) = testssl(&t, &ca);
    println!(
        "testssl.sh: overall grade {grade}; {} finding(s) at HIGH or CRITICAL",
        severe.len()
    );
    for finding in &severe {
        println!("  {finding}");
    }
    let (score, failed) = observatory(&ca);
    println!("HTTP Observatory: score {score}; {} failed test(s)", failed.len());
    for test in &failed {
        println!("  {test}");
    }
    // A self-signed certificate names no CRL or OCSP responder; a
    // certificate from a CA (certbot's) does. Everything else must be clean.
    let about_the_config: Vec<&String> = severe.iter().filter(|f| !f.contains("cert_revocation")).collect();
    assert!(
        about_the_config.is_empty(),
        "testssl.sh: no HIGH or CRITICAL finding about the configuration"
    );
    assert!(
        score >= 120 && failed.is_empty(),
        "Observatory: 120 or more, no failed test"
    );
}
