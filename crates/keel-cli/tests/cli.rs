//! The `keel` binary as a user runs it: help, settings errors and exit
//! codes, `settings show`, `migrate`, `check`, `secret generate`, and `serve`
//! on a fresh folder through to SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use keel_testkit::{Backend, TestDb};

const GOOD_PROD_KEY: &str = "k3ElqZ0x9Vb7Rw2mNp4Ts6Yu8Ia1Oc5Ed7Gf9Hh2Jj4Kk6Ll8Zz0Xx";

/// `keel` in `dir` with a clean environment (plus `PATH`), so the developer's
/// own variables cannot leak in.
fn keel(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keel"));
    cmd.current_dir(dir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    keel(dir, args, env).output().expect("keel runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["check", "--help"],
        vec!["settings", "--help"],
        vec!["settings", "show", "--help"],
        vec!["secret", "--help"],
        vec!["secret", "generate", "--help"],
    ] {
        let out = run(dir.path(), &args, &[]);
        assert!(out.status.success(), "{args:?} exits 0");
        assert!(text(&out.stdout).contains("Usage:"), "{args:?} prints usage");
    }
    let help = text(&run(dir.path(), &["--help"], &[]).stdout);
    assert!(help.starts_with("Keel: a forms service"), "{help}");
    let out = run(dir.path(), &["no-such-command"], &[]);
    assert_eq!(out.status.code(), Some(2), "an unknown command is a usage error");
}

#[test]
fn invalid_settings_exit_2_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case<'_>] = &[
        (
            &[("DATABASE_URL", "postgres//broken")],
            "DATABASE_URL",
            "a malformed URL",
        ),
        (
            &[("KEEL_DB_MAX_CONNECTIONS", "many")],
            "KEEL_DB_MAX_CONNECTIONS",
            "a non-integer",
        ),
        (&[("KEEL_ENV", "production")], "KEEL_ENV", "an unknown profile"),
        (
            &[("KEEL_SECRET_KEY_FILE", "/nonexistent/secret")],
            "KEEL_SECRET_KEY_FILE",
            "an unreadable _FILE",
        ),
    ];
    for (env, name, why) in cases {
        for args in [&["check"][..], &["serve"][..], &["settings", "show"][..]] {
            let out = run(dir.path(), args, env);
            assert_eq!(out.status.code(), Some(2), "{why} ({args:?})");
            let stderr = text(&out.stderr);
            assert_eq!(stderr.trim_end().lines().count(), 1, "{why}: one line, got {stderr:?}");
            assert!(stderr.contains(name), "{why}: names {name}: {stderr:?}");
        }
    }
}

#[test]
fn settings_show_prints_sources_and_never_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keel.toml"), "[default]\nlog_level = \"warn\"\n").unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "KEEL_CACHE_URL=redis://:dotenvpass42@127.0.0.1:6379\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("db_url"), "postgres://keel:filepass31@db.internal/keel").unwrap();
    let env = [
        ("KEEL_SECRET_KEY", "envsecret-987654321"),
        ("DATABASE_URL_FILE", "db_url"),
    ];
    let out = run(dir.path(), &["settings", "show"], &env);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    for secret in ["envsecret-987654321", "dotenvpass42", "filepass31"] {
        assert!(!stdout.contains(secret), "leaks {secret}:\n{stdout}");
    }
    assert!(
        stdout.contains("KEEL_LOG_LEVEL") && stdout.contains("keel.toml [default]"),
        "{stdout}"
    );
    assert!(stdout.contains("KEEL_CACHE_URL") && stdout.contains(".env"), "{stdout}");
    assert!(stdout.contains("postgres://keel:********@db.internal/keel"), "{stdout}");
    assert!(
        stdout.contains("file ") && stdout.contains("db_url"),
        "the file source is named: {stdout}"
    );
    assert!(!stdout.contains("KEEL_SHUTDOWN_TIMEOUT"), "defaults only with --all");

    let all = text(&run(dir.path(), &["settings", "show", "--all"], &env).stdout);
    for spec in keel::settings::catalog::CORE {
        assert!(all.contains(spec.name), "--all lists {}", spec.name);
    }
    assert!(all.contains("# default (dev)"), "defaults name their profile");
}

fn migrate_cycle(env: &[(&str, &str)], dir: &Path) {
    let out = run(dir, &["migrate", "--check"], env);
    assert_eq!(out.status.code(), Some(1), "a fresh database has unapplied migrations");
    assert!(text(&out.stdout).contains("0001_users"), "{}", text(&out.stdout));

    let out = run(dir, &["migrate"], env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Applied 0001_users"));

    let out = run(dir, &["migrate", "--check"], env);
    assert_eq!(out.status.code(), Some(0));
    let out = run(dir, &["migrate"], env);
    assert!(text(&out.stdout).contains("No migrations to apply"));
}

#[test]
fn migrate_check_reports_then_migrate_applies_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    migrate_cycle(&[], dir.path());
    assert!(dir.path().join("var/keel.sqlite3").exists());
}

#[tokio::test]
async fn migrate_check_reports_then_migrate_applies_on_postgres() {
    if !keel_testkit::services::postgres_available().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(Backend::Postgres, dir.path()).await;
    let url = db.url.clone();
    let dir_path = dir.path().to_owned();
    tokio::task::spawn_blocking(move || migrate_cycle(&[("DATABASE_URL", url.as_str())], &dir_path))
        .await
        .unwrap();
}

#[test]
fn check_exit_code_follows_the_fail_level_and_json_is_parseable() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["migrate"], &[]).status.success());
    let env = [("KEEL_DEBUGG", "true")];
    let out = run(dir.path(), &["check"], &env);
    assert!(out.status.success(), "a warning passes the default error level");
    assert!(text(&out.stdout).contains("keel.settings.W001"));

    let out = run(
        dir.path(),
        &["check", "--fail-level", "warning", "--format", "json"],
        &env,
    );
    assert_eq!(out.status.code(), Some(1), "a warning fails at the warning level");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let finding = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "keel.settings.W001")
        .expect("the unknown variable is reported");
    assert_eq!(finding["level"], "warning");
    assert!(finding["hint"].as_str().is_some_and(|h| !h.is_empty()));

    let fresh = tempfile::tempdir().unwrap();
    let out = run(fresh.path(), &["check"], &[]);
    assert_eq!(out.status.code(), Some(1), "unapplied migrations are an error");
    assert!(text(&out.stdout).contains("keel.db.E002"));
}

#[test]
fn check_list_names_every_declared_check_once_and_every_reported_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["check", "--list"], &[]);
    assert!(out.status.success());
    let listed: Vec<String> = text(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().filter(|id| id.starts_with("keel.")))
        .map(str::to_owned)
        .collect();
    let unique: std::collections::BTreeSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "no id is listed twice");
    for check in keel::checks::registry::ALL {
        assert!(listed.contains(&check.id.to_owned()), "{} is listed", check.id);
    }
    // A misconfigured prod site reports many findings; each is listed.
    let env = [
        ("KEEL_ENV", "prod"),
        ("KEEL_SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto: https"),
    ];
    let out = run(dir.path(), &["check", "--deploy", "--format", "json"], &env);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let findings = doc["findings"].as_array().unwrap();
    assert!(findings.len() > 5);
    for finding in findings {
        let id = finding["id"].as_str().unwrap().to_owned();
        assert!(listed.contains(&id), "{id} is reported, so it is listed");
    }
}

#[test]
fn secret_generate_prints_a_new_long_key() {
    let dir = tempfile::tempdir().unwrap();
    let a = text(&run(dir.path(), &["secret", "generate"], &[]).stdout);
    let b = text(&run(dir.path(), &["secret", "generate"], &[]).stdout);
    assert_eq!(a.trim().len(), 64);
    assert_ne!(a, b);
}

/// A `keel serve` child and the address it announced.
struct Served {
    child: Child,
    addr: String,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        // A failed test must not leave a server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path, env: &[(&str, &str)]) -> Served {
    let child = keel(dir, &["serve", "--bind", "127.0.0.1:0"], env)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("keel serve starts");
    let (tx, rx) = std::sync::mpsc::channel();
    let mut served = Served {
        child,
        addr: String::new(),
        stderr: rx,
    };
    let stderr = served.child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let line = served
            .stderr
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("serve announces its address");
        if let Some(rest) = line.split("address").nth(1) {
            if line.contains("listening") {
                served.addr = rest
                    .trim_start_matches(['=', '"', ':', ' '])
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect();
                return served;
            }
        }
    }
}

fn sigterm_and_wait(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "serve exits after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connects");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response)
}

#[test]
fn serve_on_a_fresh_folder_creates_and_migrates_sqlite_then_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(dir.path(), &[]);
    let (status, _) = http_get(&served.addr, "/healthz");
    assert_eq!(status, 200);
    let (status, body) = http_get(&served.addr, "/readyz");
    assert_eq!(status, 200, "{body}");
    assert!(
        dir.path().join("var/keel.sqlite3").exists(),
        "the dev database is created"
    );
    assert!(dir.path().join("var/secret_key").exists(), "the dev secret key is kept");

    let status = sigterm_and_wait(&mut served.child);
    assert_eq!(status.code(), Some(0));
    assert!(
        std::net::TcpStream::connect(&served.addr).is_err(),
        "nothing listens after exit"
    );
    let log: Vec<String> = served.stderr.try_iter().collect();
    assert!(
        log.iter()
            .any(|l| l.contains("keel::access") && l.contains("/readyz") && l.contains("status=200")),
        "one access line per request: {log:#?}"
    );
}

fn prod_env(db_url: &str) -> Vec<(&str, &str)> {
    vec![
        ("KEEL_ENV", "prod"),
        ("KEEL_SECRET_KEY", GOOD_PROD_KEY),
        ("DATABASE_URL", db_url),
        ("KEEL_PUBLIC_URL", "https://forms.example.com"),
    ]
}

#[test]
fn prod_refuses_to_serve_with_unapplied_migrations_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["serve", "--bind", "127.0.0.1:0"],
        &prod_env("sqlite://prod.sqlite3"),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("unapplied") && stderr.contains("0001_users"),
        "{stderr}"
    );
}

#[test]
fn prod_logs_json_access_lines_to_stderr_and_the_log_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = prod_env("sqlite://prod.sqlite3");
    assert!(run(dir.path(), &["migrate"], &env).status.success());
    assert!(run(dir.path(), &["collectstatic", "--no-input"], &env).status.success());
    env.push(("KEEL_LOG_FILE", "logs/keel.log"));
    let mut served = serve(dir.path(), &env);
    assert_eq!(http_get(&served.addr, "/healthz").0, 200);
    assert_eq!(sigterm_and_wait(&mut served.child).code(), Some(0));

    let stderr: Vec<String> = served.stderr.try_iter().collect();
    let access: Vec<serde_json::Value> = stderr
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "keel::access")
        .collect();
    assert_eq!(access.len(), 1, "{stderr:#?}");
    let line = &access[0];
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "/healthz");
    assert_eq!(line["status"], 200);
    assert!(line["duration_ms"].is_number() && line["request_id"].is_string());

    let file = std::fs::read_to_string(dir.path().join("logs/keel.log")).expect("the log file is written");
    assert!(file
        .lines()
        .any(|l| l.contains("keel::access") && l.contains("/healthz")));
    assert!(
        !file.contains(GOOD_PROD_KEY) && !stderr.concat().contains(GOOD_PROD_KEY),
        "no secret in logs"
    );
}
