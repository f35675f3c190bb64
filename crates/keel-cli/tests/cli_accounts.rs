//! `createsuperuser`, `changepassword`, `clearsessions`, and `check
//! --deploy` / `serve` in prod, as a user runs them.

mod cli_common;

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use cli_common::text;

const STRONG_KEY: &str = "Zq8vN3xR6tY1uI4oP7aS0dF2gH5jK9lW3eC6bV8nM1qT4yU7iO0pA2sD5fG";
const PASSWORD: &str = "correct horse battery staple 42";

/// `keel` with `stdin` typed into it (answers to its prompts).
fn keel(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut child = cli_common::keel(dir, args, env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("keel runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn count(dir: &Path, sql: &str) -> i64 {
    // The dev database of `dir`, read with the sqlite3 file format through sqlx.
    let url = format!("sqlite://{}", dir.join("var/keel.sqlite3").display());
    let sql = sql.to_owned();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let (n,): (i64,) = sqlx::query_as(&sql).fetch_one(&mut conn).await.unwrap();
            n
        })
}

#[test]
fn createsuperuser_without_input_reads_the_password_variable() {
    let dir = tempfile::tempdir().unwrap();
    let ok = keel(
        dir.path(),
        &["createsuperuser", "--no-input", "--email", "Root@Example.com"],
        &[("KEEL_SUPERUSER_PASSWORD", PASSWORD)],
        None,
    );
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert_eq!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM keel_users WHERE is_superuser AND email = 'root@example.com'"
        ),
        1
    );

    let again = keel(
        dir.path(),
        &["createsuperuser", "--no-input", "--email", "root@example.com"],
        &[("KEEL_SUPERUSER_PASSWORD", PASSWORD)],
        None,
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("already exists"));

    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case<'_>] = &[
        (
            &["createsuperuser", "--no-input", "--email", "x@example.com"],
            &[],
            "KEEL_SUPERUSER_PASSWORD",
            "no password variable",
        ),
        (
            &["createsuperuser", "--no-input"],
            &[("KEEL_SUPERUSER_PASSWORD", PASSWORD)],
            "--email",
            "no email",
        ),
        (
            &["createsuperuser", "--no-input", "--email", "bad"],
            &[("KEEL_SUPERUSER_PASSWORD", PASSWORD)],
            "valid email",
            "a bad email",
        ),
        (
            &["createsuperuser", "--no-input", "--email", "y@example.com"],
            &[("KEEL_SUPERUSER_PASSWORD", "password123")],
            "too common",
            "a weak password",
        ),
    ];
    for (args, env, says, why) in cases {
        let out = keel(dir.path(), args, env, None);
        assert_eq!(out.status.code(), Some(1), "{why}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(says), "{why}: {stderr}");
        assert!(!stderr.contains(PASSWORD), "{why}: the password is never echoed");
    }
}

#[test]
fn createsuperuser_and_changepassword_read_answers_from_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let answers = format!("ada@example.com\n{PASSWORD}\n{PASSWORD}\n");
    let out = keel(dir.path(), &["createsuperuser"], &[], Some(&answers));
    assert!(out.status.success(), "{}", text(&out.stderr));

    let new = "a whole new passphrase 2026";
    let answers = format!("mismatch-one-two-three\nother\n{new}\n{new}\n");
    let out = keel(dir.path(), &["changepassword", "ada@example.com"], &[], Some(&answers));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("didn't match"),
        "the mismatch was reported and asked again"
    );

    let out = keel(dir.path(), &["changepassword", "nobody@example.com"], &[], Some("x\n"));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no user"));

    let out = keel(dir.path(), &["changepassword", "ada@example.com"], &[], Some(""));
    assert_eq!(out.status.code(), Some(1), "closed input is an error, not a hang");
}

#[test]
fn clearsessions_reports_what_it_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let out = keel(dir.path(), &["clearsessions"], &[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Deleted 0 expired session(s)."));
}

fn prod(dir: &Path, extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, String)> {
    let mut env: Vec<(&'static str, String)> = vec![
        ("KEEL_ENV", "prod".into()),
        ("KEEL_SECRET_KEY", STRONG_KEY.into()),
        ("KEEL_PUBLIC_URL", "https://forms.example.com".into()),
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("prod.sqlite3").display()),
        ),
    ];
    for (k, v) in extra {
        env.retain(|(name, _)| name != k);
        env.push((k, (*v).to_owned()));
    }
    env
}

fn run_env(dir: &Path, args: &[&str], env: &[(&'static str, String)]) -> Output {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    keel(dir, args, &pairs, None)
}

#[test]
fn check_deploy_reports_json_findings_and_fails_at_the_chosen_level() {
    let dir = tempfile::tempdir().unwrap();
    let env = prod(dir.path(), &[]);
    assert!(run_env(dir.path(), &["migrate"], &env).status.success());
    assert!(run_env(dir.path(), &["collectstatic", "--no-input"], &env)
        .status
        .success());
    let out = run_env(dir.path(), &["check", "--deploy", "--format", "json"], &env);
    assert_eq!(out.status.code(), Some(0), "only warnings: {}", text(&out.stdout));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    for expected in ["keel.db.W101", "keel.cache.W101", "keel.security.W030"] {
        assert!(ids.contains(&expected), "{expected} in {ids:?}");
    }
    for finding in doc["findings"].as_array().unwrap() {
        for member in ["id", "level", "message", "hint"] {
            assert!(finding[member].is_string(), "{member} in {finding}");
        }
    }
    let out = run_env(dir.path(), &["check", "--deploy", "--fail-level", "warning"], &env);
    assert_eq!(out.status.code(), Some(1));
    let out = run_env(dir.path(), &["check"], &env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "without --deploy the production checks do not run"
    );
    assert!(!text(&out.stdout).contains("keel.db.W101"));
}

#[test]
fn serve_in_prod_refuses_to_start_and_lists_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let env = prod(dir.path(), &[("KEEL_DEBUG", "true"), ("KEEL_SECRET_KEY", "too-short")]);
    assert!(run_env(dir.path(), &["migrate"], &env).status.success());
    let out = run_env(dir.path(), &["serve", "--bind", "127.0.0.1:0"], &env);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("refusing to serve"), "{stderr}");
    assert!(
        stderr.contains("keel.security.E018") && stderr.contains("keel.security.E009"),
        "both errors: {stderr}"
    );
    assert!(!stderr.contains("too-short"), "the key itself is never printed");
}
