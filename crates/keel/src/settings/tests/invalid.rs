//! Every invalid value stops loading with one line naming the variable.

use super::*;

#[test]
fn invalid_values_stop_loading_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case<'_>] = &[
        (
            &[("DATABASE_URL", "mysql://x/y")],
            "DATABASE_URL",
            "an unsupported database",
        ),
        (
            &[("DATABASE_URL", "postgres://")],
            "DATABASE_URL",
            "a URL without a host",
        ),
        (&[("KEEL_CACHE_URL", "not a url")], "KEEL_CACHE_URL", "a malformed URL"),
        (
            &[("KEEL_DB_MAX_CONNECTIONS", "ten")],
            "KEEL_DB_MAX_CONNECTIONS",
            "a non-integer",
        ),
        (
            &[("KEEL_DB_MAX_CONNECTIONS", "0")],
            "KEEL_DB_MAX_CONNECTIONS",
            "an empty pool",
        ),
        (&[("KEEL_ENV", "staging")], "KEEL_ENV", "an unknown profile"),
        (
            &[("KEEL_SECRET_KEY_FILE", "/nonexistent/key")],
            "KEEL_SECRET_KEY_FILE",
            "an unreadable _FILE",
        ),
        (
            &[("KEEL_SECRET_KEY", "a"), ("KEEL_SECRET_KEY_FILE", "b")],
            "KEEL_SECRET_KEY",
            "both forms at once",
        ),
        (
            &[("KEEL_DEBUG_FILE", "x")],
            "KEEL_DEBUG_FILE",
            "a _FILE for a non-secret",
        ),
        (&[("KEEL_DEBUG", "maybe")], "KEEL_DEBUG", "a non-boolean"),
        (&[("KEEL_BIND", "localhost")], "KEEL_BIND", "an address without a port"),
        (
            &[("KEEL_MAX_UPLOAD_BYTES", "10 parsecs")],
            "KEEL_MAX_UPLOAD_BYTES",
            "a bad size",
        ),
        (&[("KEEL_LOGIN_RATE", "lots")], "KEEL_LOGIN_RATE", "a bad rate"),
        (&[("KEEL_LOG_FORMAT", "xml")], "KEEL_LOG_FORMAT", "an unknown format"),
        (
            &[("KEEL_CORS_ALLOWED_ORIGINS", "*")],
            "KEEL_CORS_ALLOWED_ORIGINS",
            "any origin",
        ),
        (
            &[("KEEL_CORS_ALLOWED_ORIGINS", "https://a.example/path")],
            "KEEL_CORS_ALLOWED_ORIGINS",
            "an origin with a path",
        ),
        (
            &[("KEEL_PUBLIC_URL", "ftp://x")],
            "KEEL_PUBLIC_URL",
            "a public URL that is not http(s)",
        ),
        (
            &[("KEEL_STATIC_URL", "static")],
            "KEEL_STATIC_URL",
            "a static URL without slashes",
        ),
        (
            &[("KEEL_SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto")],
            "KEEL_SECURE_PROXY_SSL_HEADER",
            "a header without a value",
        ),
        (
            &[("KEEL_REQUEST_TIMEOUT", "0")],
            "KEEL_REQUEST_TIMEOUT",
            "a zero timeout",
        ),
        (
            &[("KEEL_CONFIG", "missing.toml")],
            "missing.toml",
            "a missing KEEL_CONFIG file",
        ),
    ];
    for (pairs, name, why) in cases {
        let err = load(dir.path(), pairs).expect_err(why).to_string();
        assert!(err.contains(name), "{why}: {err:?} should name {name}");
        assert!(!err.contains('\n'), "{why}: one line, got {err:?}");
    }
}
