//! `keel serve` as a user runs it: on a fresh folder through to SIGTERM,
//! refusing unapplied migrations in prod, and its JSON access log.

mod cli_common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cli_common::{keel, run, text};

const GOOD_PROD_KEY: &str = "k3ElqZ0x9Vb7Rw2mNp4Ts6Yu8Ia1Oc5Ed7Gf9Hh2Jj4Kk6Ll8Zz0Xx";

/// A `keel serve` child and the address it announced.
struct Served {
    child: Child,
    addr: String,
    /// The `/metrics` listener's address, when one is bound.
    metrics: Option<String>,
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
    serve_with(dir, &[], env)
}

fn serve_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Served {
    let all = [&["serve", "--bind", "127.0.0.1:0"], args].concat();
    let child = keel(dir, &all, env)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("keel serve starts");
    let (tx, rx) = std::sync::mpsc::channel();
    let mut served = Served {
        child,
        addr: String::new(),
        metrics: None,
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
                served.metrics = line
                    .split("metrics=http://")
                    .nth(1)
                    .map(|m| m.split('/').next().unwrap_or("").to_owned());
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

#[test]
fn metrics_are_served_on_their_own_listener_only() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve_with(dir.path(), &["--metrics-bind", "127.0.0.1:0"], &[]);
    let metrics = served
        .metrics
        .clone()
        .expect("the listening line names the metrics listener");
    assert_eq!(http_get(&served.addr, "/healthz").0, 200);
    let (status, body) = http_get(&metrics, "/metrics");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("keel_build_info{version=") && body.contains("process_open_fds"),
        "{body}"
    );
    assert!(body.contains("route=\"/healthz\""), "{body}");
    assert_eq!(
        http_get(&served.addr, "/metrics").0,
        404,
        "never on the public listener"
    );

    let quiet = serve(dir.path(), &[]);
    assert_eq!(quiet.metrics, None, "KEEL_METRICS_BIND empty: no listener");
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

#[test]
fn sighup_reopens_the_log_file_that_logrotate_moved() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = prod_env("sqlite://prod.sqlite3");
    assert!(run(dir.path(), &["migrate"], &env).status.success());
    assert!(run(dir.path(), &["collectstatic", "--no-input"], &env).status.success());
    env.push(("KEEL_LOG_FILE", "keel.log"));
    let mut served = serve(dir.path(), &env);
    assert_eq!(http_get(&served.addr, "/healthz").0, 200);
    // logrotate: move the file away, then SIGHUP.
    let (log, rotated) = (dir.path().join("keel.log"), dir.path().join("keel.log.1"));
    let written = |path: &Path, needle: &str| std::fs::read_to_string(path).unwrap_or_default().contains(needle);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !written(&log, "/healthz") {
        assert!(Instant::now() < deadline, "the first request is logged");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::rename(&log, &rotated).unwrap();
    let hup = Command::new("kill")
        .args(["-HUP", &served.child.id().to_string()])
        .status();
    assert!(hup.is_ok_and(|s| s.success()));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        http_get(&served.addr, "/readyz").0,
        200,
        "SIGHUP does not stop the server"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !written(&log, "/readyz") {
        assert!(Instant::now() < deadline, "a new keel.log gets the next lines");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(sigterm_and_wait(&mut served.child).code(), Some(0));
    assert!(
        written(&rotated, "/healthz") && !written(&rotated, "/readyz"),
        "the moved file keeps the old lines only"
    );
    assert!(written(&log, "log file reopened"));
}

#[test]
fn rust_log_stands_in_for_an_unset_log_level_and_keel_log_level_wins() {
    let dir = tempfile::tempdir().unwrap();
    let show = |env: &[(&str, &str)]| {
        let out = run(dir.path(), &["settings", "show"], env);
        let text = text(&out.stdout);
        text.lines()
            .find(|l| l.starts_with("KEEL_LOG_LEVEL"))
            .unwrap_or_default()
            .to_owned()
    };
    let line = show(&[("RUST_LOG", "warn,keel=debug")]);
    assert!(line.contains("warn,keel=debug") && line.contains("RUST_LOG"), "{line}");
    let line = show(&[("RUST_LOG", "warn"), ("KEEL_LOG_LEVEL", "error")]);
    assert!(line.contains("error") && !line.contains("RUST_LOG"), "{line}");
    let out = run(
        dir.path(),
        &["settings", "show"],
        &[("RUST_LOG", "not a=filter=at all")],
    );
    assert_eq!(out.status.code(), Some(2), "a bad RUST_LOG is a settings error");
}
