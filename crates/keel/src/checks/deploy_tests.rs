//! Each deployment check fires on the setting it is about, and a complete
//! production configuration has no findings at all.

use std::collections::HashMap;

use super::deploy::{deploy_checks, public_url_checks};
use crate::settings::{LoadInput, Settings};

const STRONG_KEY: &str = "Zq8vN3xR6tY1uI4oP7aS0dF2gH5jK9lW3eC6bV8nM1qT4yU7iO0pA2sD5fG";

/// A production configuration that leaves nothing to warn about.
fn complete() -> Vec<(&'static str, &'static str)> {
    vec![
        ("KEEL_ENV", "prod"),
        ("KEEL_SECRET_KEY", STRONG_KEY),
        ("KEEL_PUBLIC_URL", "https://forms.example.com"),
        ("KEEL_SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto: https"),
        ("KEEL_TRUSTED_PROXIES", "10.0.0.0/8"),
        ("KEEL_SECURE_HSTS_INCLUDE_SUBDOMAINS", "true"),
        ("KEEL_SECURE_HSTS_PRELOAD", "true"),
        ("DATABASE_URL", "postgres://keel:pw@db.internal/keel"),
        ("KEEL_CACHE_URL", "redis://cache.internal:6379/0"),
        ("KEEL_EMAIL_URL", "smtp://mailer:pw@mail.example.com:587"),
        ("KEEL_DEFAULT_FROM_EMAIL", "forms@example.com"),
        ("KEEL_SERVER_EMAIL", "errors@example.com"),
        ("KEEL_ADMINS", "Ops <ops@example.com>"),
    ]
}

fn findings(env: &[(&str, &str)], toml: Option<&str>) -> Vec<&'static str> {
    let dir = tempfile::tempdir().unwrap();
    if let Some(text) = toml {
        std::fs::write(dir.path().join("keel.toml"), text).unwrap();
    }
    let env: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let settings = Settings::load_from(
        &LoadInput {
            env,
            cwd: dir.path().to_owned(),
        },
        &[],
    )
    .expect("valid settings");
    let mut all = deploy_checks(&settings);
    public_url_checks(&settings, &mut all);
    all.extend(super::reports::findings(&settings));
    let mut ids: Vec<&'static str> = all.iter().map(|f| f.id).collect();
    ids.sort_unstable();
    ids
}

fn with(changes: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut env = complete();
    for (name, value) in changes {
        env.retain(|(k, _)| k != name);
        if !value.is_empty() || name.starts_with("KEEL_ALLOWED") {
            env.push((name, value));
        }
    }
    env
}

#[test]
fn a_complete_production_configuration_has_no_findings() {
    assert_eq!(findings(&complete(), None), Vec::<&str>::new());
}

#[test]
fn each_check_fires_on_its_setting() {
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case<'_>] = &[
        (
            &[("KEEL_SECRET_KEY", "")],
            "keel.security.E009",
            "no secret key in prod",
        ),
        (&[("KEEL_SECRET_KEY", "short-key")], "keel.security.E009", "a short key"),
        (
            &[(
                "KEEL_SECRET_KEY",
                "abababababababababababababababababababababababababab",
            )],
            "keel.security.E009",
            "too few distinct characters",
        ),
        (
            &[(
                "KEEL_SECRET_KEY",
                "django-insecure-0123456789abcdefghijklmnopqrstuvwxyzABCDEF",
            )],
            "keel.security.E009",
            "a development key",
        ),
        (
            &[("KEEL_SECRET_KEY_FALLBACKS", "old")],
            "keel.security.W025",
            "a weak fallback",
        ),
        (&[("KEEL_DEBUG", "true")], "keel.security.E018", "DEBUG"),
        (&[("KEEL_ALLOWED_HOSTS", "")], "keel.security.E020", "no allowed hosts"),
        (&[("KEEL_ALLOWED_HOSTS", "*")], "keel.security.W020", "any host"),
        (&[("KEEL_SECURE_HSTS_SECONDS", "0")], "keel.security.W004", "no HSTS"),
        (
            &[("KEEL_SECURE_HSTS_INCLUDE_SUBDOMAINS", "false")],
            "keel.security.W005",
            "HSTS without subdomains",
        ),
        (
            &[("KEEL_SECURE_HSTS_PRELOAD", "false")],
            "keel.security.W021",
            "HSTS without preload",
        ),
        (
            &[("KEEL_SECURE_SSL_REDIRECT", "false")],
            "keel.security.W008",
            "no https redirect",
        ),
        (
            &[("KEEL_SESSION_COOKIE_SECURE", "false")],
            "keel.security.W012",
            "an insecure session cookie",
        ),
        (
            &[("KEEL_CSRF_COOKIE_SECURE", "false")],
            "keel.security.W016",
            "an insecure CSRF cookie",
        ),
        (
            &[("KEEL_SECURE_PROXY_SSL_HEADER", "")],
            "keel.security.W030",
            "https without a proxy header",
        ),
        (
            &[("KEEL_TRUSTED_PROXIES", "")],
            "keel.security.W031",
            "a proxy header without trusted proxies: every client is the proxy's address",
        ),
        (
            &[
                ("KEEL_CORS_ALLOWED_ORIGINS", "*"),
                ("KEEL_CORS_ALLOW_CREDENTIALS", "false"),
            ],
            "keel.security.W041",
            "any CORS origin",
        ),
        (
            &[("KEEL_ALLOWED_HOSTS", "other.example.com")],
            "keel.security.W050",
            "hosts that exclude the public URL",
        ),
        (
            &[("KEEL_CSRF_TRUSTED_ORIGINS", "https://old.example.com")],
            "keel.security.W050",
            "CSRF origins that exclude the public URL",
        ),
        (&[("KEEL_PUBLIC_URL", "")], "keel.security.W051", "no public URL"),
        (
            &[("DATABASE_URL", "sqlite://var/keel.sqlite3")],
            "keel.db.W101",
            "SQLite",
        ),
        (
            &[("KEEL_CACHE_URL", "memory://")],
            "keel.cache.W101",
            "the memory cache",
        ),
        (
            &[("KEEL_EMAIL_URL", "console://")],
            "keel.email.W101",
            "the console mail backend",
        ),
        (
            &[("KEEL_DEFAULT_FROM_EMAIL", "webmaster@localhost")],
            "keel.email.W102",
            "the default sender",
        ),
        (&[("KEEL_ADMINS", "")], "keel.email.W103", "no admins"),
        (
            &[("KEEL_EMAIL_URL", "file://mail")],
            "keel.email.W104",
            "reports only written to files",
        ),
        (
            &[("KEEL_METRICS_BIND", "0.0.0.0:9100")],
            "keel.metrics.W001",
            "metrics on every interface",
        ),
        (
            &[("KEEL_SENTRY_DSN", "https://sentry.example.com/1")],
            "keel.log.E001",
            "a DSN without its key",
        ),
    ];
    for (changes, id, why) in cases {
        let ids = findings(&with(changes), None);
        assert!(ids.contains(id), "{why}: expected {id}, got {ids:?}");
    }
}

#[test]
fn sentry_alone_is_someone_hearing_of_errors() {
    let ids = findings(
        &with(&[
            ("KEEL_ADMINS", ""),
            ("KEEL_SENTRY_DSN", "https://key@o1.ingest.sentry.io/42"),
        ]),
        None,
    );
    assert!(ids.is_empty(), "{ids:?}");
    let ids = findings(&with(&[("KEEL_METRICS_BIND", "10.0.0.5:9100")]), None);
    assert!(ids.is_empty(), "a private address is where Prometheus scrapes: {ids:?}");
}

#[test]
fn a_secret_written_in_keel_toml_is_reported_but_a_file_reference_is_not() {
    let mut env = complete();
    env.retain(|(k, _)| *k != "KEEL_SECRET_KEY");
    let ids = findings(&env, Some(&format!("[prod]\nsecret_key = \"{STRONG_KEY}\"\n")));
    assert!(ids.contains(&"keel.settings.W002"), "{ids:?}");

    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, STRONG_KEY).unwrap();
    let ids = findings(
        &env,
        Some(&format!("[prod]\nsecret_key_file = \"{}\"\n", key_file.display())),
    );
    assert!(
        !ids.contains(&"keel.settings.W002"),
        "a file reference is fine: {ids:?}"
    );
    assert!(!ids.contains(&"keel.security.E009"), "{ids:?}");
}
