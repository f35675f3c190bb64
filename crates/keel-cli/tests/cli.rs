//! The `keel` binary as a user runs it: help, settings errors and exit
//! codes, `settings show`, `migrate`, `check` (and `--list`) and `secret
//! generate`. `serve` is in `cli_serve.rs`.

mod cli_common;

use std::path::Path;

use cli_common::{run, text};
use keel_testkit::{Backend, TestDb};

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
