//! The rendered files checked by the tools that run them (each test is
//! skipped with a reason when its tool is missing, or fails when
//! `KEEL_TEST_REQUIRE_SERVICES=1`).

use std::path::Path;
use std::process::Command;

use keel_testkit::services::program_installed as installed;

use super::{render, PROD};

fn check(command: &mut Command) -> String {
    let out = command.output().expect("the tool runs");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{command:?} failed:\n{all}");
    all
}

/// `path` with every `from` replaced by `to`, written to `dest`.
fn substituted(path: &Path, dest: &Path, pairs: &[(&str, &str)]) {
    let mut text = std::fs::read_to_string(path).unwrap();
    for (from, to) in pairs {
        text = text.replace(from, to);
    }
    std::fs::write(dest, text).unwrap();
}

#[test]
fn nginx_accepts_the_rendered_site() {
    if !installed("nginx") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = render(dir.path(), PROD, &["--self-signed"]);
    let tls = format!("{}/", out.join("tls").display());
    substituted(
        &out.join("nginx/keel.conf"),
        &dir.path().join("site.conf"),
        &[("/etc/keel/tls/", &tls)],
    );
    let main = format!(
        "pid {0}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n  access_log off;\n  include {0}/site.conf;\n}}\n",
        dir.path().display()
    );
    std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
    let conf = dir.path().join("nginx.conf");
    let said = check(
        Command::new("nginx")
            .arg("-t")
            .arg("-e")
            .arg("stderr")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(dir.path()),
    );
    assert!(said.contains("test is successful"), "{said}");
}

#[test]
fn systemd_verifies_the_units_and_the_instance_is_well_sandboxed() {
    if !installed("systemd-analyze") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = render(dir.path(), PROD, &[]);
    let units = dir.path().join("units");
    std::fs::create_dir_all(&units).unwrap();
    let binary = env!("CARGO_BIN_EXE_keel");
    let names = [
        ("keel@.service", "keel@8000.service"),
        ("keel-prepare.service", "keel-prepare.service"),
        ("keel.target", "keel.target"),
        ("keel-clearsessions.service", "keel-clearsessions.service"),
        ("keel-clearsessions.timer", "keel-clearsessions.timer"),
        ("keel-backup.service", "keel-backup.service"),
        ("keel-backup.timer", "keel-backup.timer"),
    ];
    for (from, to) in names {
        substituted(
            &out.join("systemd").join(from),
            &units.join(to),
            &[("/usr/local/bin/keel", binary)],
        );
    }
    // The first instance's drop-in: its own /metrics port.
    std::fs::create_dir_all(units.join("keel@8000.service.d")).unwrap();
    substituted(
        &out.join("systemd/keel@8000.service.d/metrics.conf"),
        &units.join("keel@8000.service.d/metrics.conf"),
        &[("/usr/local/bin/keel", binary)],
    );
    let mut verify = Command::new("systemd-analyze");
    verify.current_dir(&units).args(["verify", "--man=no"]);
    verify.args(names.iter().map(|(_, to)| format!("./{to}")));
    let said = check(&mut verify);
    assert!(!said.contains("warning") && !said.contains("Unknown"), "{said}");

    let said = check(Command::new("systemd-analyze").current_dir(&units).args([
        "security",
        "--offline=yes",
        "./keel@8000.service",
    ]));
    let line = said
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .expect("a score");
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a number");
    println!("systemd-analyze security keel@8000.service: {score}");
    assert!(score < 2.0, "{line}");
}

#[test]
fn prometheus_accepts_the_scrape_job_of_every_instance() {
    if !installed("promtool") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = render(dir.path(), PROD, &["--instances", "3"]);
    let job = out.join("prometheus/keel.yml");
    let text = std::fs::read_to_string(&job).unwrap();
    assert!(
        text.contains("['127.0.0.1:9100', '127.0.0.1:9101', '127.0.0.1:9102']"),
        "{text}"
    );
    let said = check(Command::new("promtool").arg("check").arg("config").arg(&job));
    assert!(said.contains("SUCCESS"), "{said}");
    for (port, metrics) in [(8000, 9100), (8002, 9102)] {
        let dropin = std::fs::read_to_string(out.join(format!("systemd/keel@{port}.service.d/metrics.conf"))).unwrap();
        let line = format!("serve --bind 127.0.0.1:{port} --metrics-bind 127.0.0.1:{metrics}");
        assert!(dropin.contains(&line), "{dropin}");
    }
}

#[test]
fn docker_compose_accepts_the_rendered_project() {
    if !installed("docker-compose") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = render(dir.path(), PROD, &[]);
    std::fs::write(out.join("compose/keel.env"), "KEEL_ENV=prod\n").unwrap();
    let said = check(
        Command::new("docker-compose")
            .current_dir(out.join("compose"))
            .env("POSTGRES_PASSWORD", "p")
            .env("REDIS_PASSWORD", "r")
            .args(["-f", "docker-compose.yml", "config"]),
    );
    for service in ["keel1:", "keel2:", "prepare:", "nginx:", "postgres:", "redis:"] {
        assert!(said.contains(service), "{service} in\n{said}");
    }
}

#[test]
fn kubernetes_validate_accepts_the_rendered_manifests() {
    if !installed("kubernetes-validate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = render(dir.path(), PROD, &[]);
    let mut command = Command::new("kubernetes-validate");
    command.arg("--strict");
    for entry in std::fs::read_dir(out.join("kubernetes")).unwrap() {
        command.arg(entry.unwrap().path());
    }
    let said = check(&mut command);
    assert!(!said.contains("ERROR"), "{said}");
}
