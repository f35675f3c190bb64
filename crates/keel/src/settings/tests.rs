//! Precedence across the five sources, profiles, `NAME_FILE`, redaction and
//! every error path of settings loading.

use std::collections::HashMap;
use std::path::Path;

use secrecy::ExposeSecret;

use super::*;

mod invalid;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn load(dir: &Path, pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    Settings::load_from(
        &LoadInput {
            env: env(pairs),
            cwd: dir.to_owned(),
        },
        &[],
    )
}

fn shown<'a>(settings: &'a Settings, name: &str) -> &'a ShownSetting {
    settings
        .shown()
        .iter()
        .find(|s| s.name == name)
        .expect("every catalog entry is shown")
}

#[test]
fn each_source_overrides_the_ones_below_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keel.toml"),
        "[default]\nlog_level = \"warn\"\ndb_max_connections = 3\nshutdown_timeout = 7\nrequest_timeout = 8\n\n\
         [dev]\ndb_max_connections = 4\nshutdown_timeout = 9\nrequest_timeout = 11\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "KEEL_SHUTDOWN_TIMEOUT=12\nKEEL_REQUEST_TIMEOUT=13\n",
    )
    .unwrap();
    let s = load(dir.path(), &[("KEEL_REQUEST_TIMEOUT", "14")]).unwrap();

    // built-in default only
    assert_eq!(s.limits.max_body_bytes, 1 << 20);
    assert_eq!(
        shown(&s, "KEEL_MAX_BODY_BYTES").source,
        Some(Source::Default(Profile::Dev))
    );
    // keel.toml [default] over the default
    assert_eq!(s.log.level, "warn");
    assert!(matches!(
        shown(&s, "KEEL_LOG_LEVEL").source,
        Some(Source::TomlDefault(_))
    ));
    // [dev] over [default]
    assert_eq!(s.database.max_connections, 4);
    assert!(matches!(
        shown(&s, "KEEL_DB_MAX_CONNECTIONS").source,
        Some(Source::TomlProfile(_, Profile::Dev))
    ));
    // .env over keel.toml
    assert_eq!(s.server.shutdown_timeout.as_secs(), 12);
    assert!(matches!(
        shown(&s, "KEEL_SHUTDOWN_TIMEOUT").source,
        Some(Source::DotEnv(_))
    ));
    // environment over .env
    assert_eq!(s.server.request_timeout.as_secs(), 14);
    assert_eq!(shown(&s, "KEEL_REQUEST_TIMEOUT").source, Some(Source::Environment));
}

#[test]
fn the_profile_picks_the_toml_section_and_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keel.toml"),
        "[prod]\nlog_level = \"error\"\n[dev]\nlog_level = \"debug\"\n",
    )
    .unwrap();
    let dev = load(dir.path(), &[]).unwrap();
    assert_eq!(dev.profile, Profile::Dev);
    assert_eq!(dev.log.level, "debug");
    assert!(dev.debug);
    assert_eq!(dev.log.format, LogFormat::Text);

    let prod = load(dir.path(), &[("KEEL_ENV", "prod"), ("KEEL_SECRET_KEY", "x")]).unwrap();
    assert_eq!(prod.profile, Profile::Prod);
    assert_eq!(prod.log.level, "error");
    assert!(!prod.debug, "prod turns DEBUG off by default");
    assert_eq!(prod.log.format, LogFormat::Json, "prod logs JSON by default");
    assert!(!prod.security.signup_open);

    let from_dotenv = {
        std::fs::write(dir.path().join(".env"), "KEEL_ENV=test\n").unwrap();
        load(dir.path(), &[]).unwrap()
    };
    assert_eq!(from_dotenv.profile, Profile::Test, "KEEL_ENV may come from .env");
}

#[test]
fn prod_never_generates_a_secret_key_but_dev_keeps_one() {
    let dir = tempfile::tempdir().unwrap();
    let prod = load(dir.path(), &[("KEEL_ENV", "prod")]).unwrap();
    assert!(prod.secret.key.is_none());
    assert!(!dir.path().join("var/secret_key").exists());

    let first = load(dir.path(), &[]).unwrap();
    let second = load(dir.path(), &[]).unwrap();
    let key = first.secret.key.as_ref().unwrap().expose_secret().to_owned();
    assert_eq!(key.len(), 64);
    assert_eq!(
        key,
        second.secret.key.as_ref().unwrap().expose_secret(),
        "the dev key is kept across starts"
    );
    assert!(matches!(first.secret.key_source, Some(Source::Generated(_))));
}

#[test]
fn secrets_may_come_from_files_in_every_source() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key.txt"), "  from-a-file \n").unwrap();
    let s = load(dir.path(), &[("KEEL_SECRET_KEY_FILE", "key.txt")]).unwrap();
    assert_eq!(s.secret.key.as_ref().unwrap().expose_secret(), "from-a-file", "trimmed");
    assert!(matches!(shown(&s, "KEEL_SECRET_KEY").source, Some(Source::File { .. })));

    std::fs::write(dir.path().join("db.txt"), "postgres://keel:pw@db.internal/keel\n").unwrap();
    std::fs::write(dir.path().join(".env"), "DATABASE_URL_FILE=db.txt\n").unwrap();
    let s = load(dir.path(), &[]).unwrap();
    assert_eq!(s.database.kind, DatabaseKind::Postgres);

    std::fs::remove_file(dir.path().join(".env")).unwrap();
    std::fs::write(
        dir.path().join("keel.toml"),
        "[default]\nsecret_key_file = \"key.txt\"\n",
    )
    .unwrap();
    let s = load(dir.path(), &[]).unwrap();
    assert_eq!(s.secret.key.as_ref().unwrap().expose_secret(), "from-a-file");
}

#[test]
fn the_empty_string_means_empty_not_unset() {
    let dir = tempfile::tempdir().unwrap();
    let s = load(
        dir.path(),
        &[
            ("KEEL_ALLOWED_HOSTS", ""),
            ("KEEL_METRICS_BIND", ""),
            ("KEEL_CORS_ALLOWED_ORIGINS", ""),
        ],
    )
    .unwrap();
    assert!(s.security.allowed_hosts.is_empty());
    assert!(
        s.server.metrics_bind.is_none(),
        "an empty metrics address disables the listener"
    );
    assert!(s.security.cors_allowed_origins.is_empty());
}

#[test]
fn secrets_are_redacted_everywhere_they_could_be_shown() {
    let dir = tempfile::tempdir().unwrap();
    let s = load(
        dir.path(),
        &[
            ("KEEL_SECRET_KEY", "super-secret-value-1"),
            ("DATABASE_URL", "postgres://keel:hunter2hunter2@db/keel"),
            ("KEEL_CACHE_URL", "redis://:redispass99@cache:6379"),
            ("KEEL_EMAIL_URL", "smtp://mailer:mailpass77@mail:587"),
            ("KEEL_S3_SECRET_ACCESS_KEY", "s3secret55"),
        ],
    )
    .unwrap();
    let debug = format!("{s:?}");
    let shown_text: String = s.shown().iter().map(|x| format!("{x:?}")).collect();
    for secret in [
        "super-secret-value-1",
        "hunter2hunter2",
        "redispass99",
        "mailpass77",
        "s3secret55",
    ] {
        assert!(!debug.contains(secret), "Debug leaks {secret}");
        assert!(!shown_text.contains(secret), "settings show leaks {secret}");
    }
    assert_eq!(shown(&s, "KEEL_SECRET_KEY").value.as_deref(), Some("********"));
    assert_eq!(
        shown(&s, "DATABASE_URL").value.as_deref(),
        Some("postgres://keel:********@db/keel"),
        "a URL keeps everything but its password"
    );
}

#[test]
fn public_url_sets_consistent_defaults_that_explicit_values_override() {
    let dir = tempfile::tempdir().unwrap();
    let s = load(
        dir.path(),
        &[
            ("KEEL_ENV", "prod"),
            ("KEEL_SECRET_KEY", "k"),
            ("KEEL_PUBLIC_URL", "https://forms.example.com"),
        ],
    )
    .unwrap();
    assert_eq!(s.security.allowed_hosts, vec!["forms.example.com"]);
    assert_eq!(s.security.csrf_trusted_origins, vec!["https://forms.example.com"]);
    assert!(s.security.ssl_redirect && s.security.session_cookie_secure && s.security.csrf_cookie_secure);
    assert_eq!(s.security.hsts_seconds, 31_536_000);

    let s = load(
        dir.path(),
        &[
            ("KEEL_ENV", "prod"),
            ("KEEL_SECRET_KEY", "k"),
            ("KEEL_PUBLIC_URL", "https://forms.example.com"),
            ("KEEL_SECURE_SSL_REDIRECT", "false"),
            ("KEEL_ALLOWED_HOSTS", "a.example.com"),
        ],
    )
    .unwrap();
    assert!(!s.security.ssl_redirect, "an explicit setting wins");
    assert_eq!(s.security.allowed_hosts, vec!["a.example.com"]);
}

/// Every error names the variable (or file) in one line.
#[test]
fn a_bad_keel_toml_is_reported_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[default\n", "a syntax error"),
        ("[staging]\ndebug = true\n", "an unknown section"),
        ("[default]\ndebugg = true\n", "an unknown key"),
        ("[default]\ndebug = 1.5\n", "a float"),
        ("debug = true\n", "a key outside any section"),
    ];
    for (text, why) in cases {
        std::fs::write(dir.path().join("keel.toml"), text).unwrap();
        let err = load(dir.path(), &[]).expect_err(why).to_string();
        assert!(err.contains("keel.toml"), "{why}: {err}");
    }
}

#[test]
fn a_malformed_dotenv_is_reported_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "KEEL_DEBUG='unterminated\n").unwrap();
    let err = load(dir.path(), &[]).expect_err("a broken .env").to_string();
    assert!(err.contains(".env"), "{err}");
}

#[test]
fn unknown_keel_variables_are_collected_for_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let s = load(
        dir.path(),
        &[("KEEL_DEBUGG", "1"), ("HOME", "/root"), ("KEEL_TEST_DATABASE_URL", "x")],
    )
    .unwrap();
    assert_eq!(s.unknown_variables, vec!["KEEL_DEBUGG"]);
}

#[test]
fn the_test_constructor_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let s = Settings::for_test(dir.path());
    assert_eq!(s.profile, Profile::Test);
    assert!(s.secret.key.is_some());
}

#[test]
fn every_secret_may_be_given_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    for spec in catalog::CORE.iter().filter(|s| s.accepts_file()) {
        let value = match spec.name {
            "DATABASE_URL" => "postgres://u:p@db.internal/keel",
            "KEEL_CACHE_URL" => "redis://:p@cache.internal:6379",
            "KEEL_EMAIL_URL" => "smtp://u:p@mail.example.com:587",
            "KEEL_SENTRY_DSN" => "https://key@sentry.example.com/1",
            _ => "a-secret-from-a-file",
        };
        std::fs::write(dir.path().join("secret"), format!("{value}\n")).unwrap();
        let file_var = format!("{}_FILE", spec.name);
        let s = load(dir.path(), &[(file_var.as_str(), "secret")]).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        let shown = shown(&s, spec.name);
        assert!(
            matches!(shown.source, Some(Source::File { .. })),
            "{} comes from the file",
            spec.name
        );
        assert!(
            !shown
                .value
                .as_deref()
                .unwrap_or_default()
                .contains("a-secret-from-a-file"),
            "{} is redacted",
            spec.name
        );
    }
}
