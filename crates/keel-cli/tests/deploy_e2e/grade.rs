//! The site graded from outside, as a visitor's tools see it: testssl.sh
//! (Debian's package) for TLS, and Mozilla's HTTP Observatory scanner
//! (`@mdn/mdn-http-observatory`, from npm) for the headers. Both need the
//! standard ports; run by `benches/grade.sh` (as root), not by default.

use std::process::Command;

use serde_json::Value;

use super::topology::Topology;

/// testssl.sh's findings at `severity` or above, and the grade it printed.
fn testssl(t: &Topology) -> (Vec<String>, String) {
    let json = t.dir.path().join("testssl.json");
    let cert = t.dir.path().join("deploy/tls/fullchain.pem");
    let out = Command::new("testssl")
        .args(["--quiet", "--color", "0", "--ip", "127.0.0.1", "--add-ca"])
        .arg(&cert)
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
fn observatory(t: &Topology) -> (i64, Vec<String>) {
    // The package's own wrapper replaces NODE_EXTRA_CA_CERTS with a bundle
    // it downloads at install time; its scanner is run directly instead.
    let scanner = std::env::var("KEEL_OBSERVATORY")
        .unwrap_or_else(|_| "/opt/keel-ci/observatory/node_modules/@mdn/mdn-http-observatory/src/scan.js".to_owned());
    let out = Command::new("node")
        .arg(scanner)
        .env("NODE_EXTRA_CA_CERTS", t.dir.path().join("deploy/tls/fullchain.pem"))
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
    let (severe, grade) = testssl(&t);
    println!(
        "testssl.sh: overall grade {grade}; {} finding(s) at HIGH or CRITICAL",
        severe.len()
    );
    for finding in &severe {
        println!("  {finding}");
    }
    let (score, failed) = observatory(&t);
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
