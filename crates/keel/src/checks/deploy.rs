//! The deployment checks: Django's `check --deploy` items that apply to
//! Keel, and Keel's own. Pure functions of the settings, so each is tested
//! without a server. Behaviour that Keel never lets be turned off (nosniff,
//! X-Frame-Options DENY, Referrer-Policy, COOP, HttpOnly session cookies,
//! the security middleware itself) has no check: there is nothing to get
//! wrong.

use secrecy::ExposeSecret;

use super::registry::{self as r, Check};
use super::Finding;
use crate::settings::{CacheBackendKind, DatabaseKind, EmailBackendKind, Settings, Source};

/// Keys shorter than this, or with fewer distinct characters, are weak.
const MIN_KEY_LEN: usize = 50;
const MIN_KEY_DISTINCT: usize = 5;

fn push(findings: &mut Vec<Finding>, check: &'static Check, message: impl Into<String>) {
    findings.push(Finding::new(check, message));
}

/// Why `key` is not fit for production, if it is not.
pub fn weak_key_reason(key: &str, source: Option<&Source>) -> Option<String> {
    if matches!(source, Some(Source::Generated(_))) {
        return Some("it is the generated development key".to_owned());
    }
    if key.starts_with("django-insecure") || key.contains("insecure") || key.starts_with("test-secret-key") {
        return Some("it is marked as a development key".to_owned());
    }
    if key.chars().count() < MIN_KEY_LEN {
        return Some(format!(
            "it has {} characters; at least {MIN_KEY_LEN} are needed",
            key.chars().count()
        ));
    }
    let distinct: std::collections::HashSet<char> = key.chars().collect();
    if distinct.len() < MIN_KEY_DISTINCT {
        return Some(format!(
            "it has {} distinct characters; at least {MIN_KEY_DISTINCT} are needed",
            distinct.len()
        ));
    }
    None
}

/// Whether setting `name` was given (environment, `.env`, `keel.toml`)
/// rather than left at its default or derived from another.
pub fn explicit(settings: &Settings, name: &str) -> bool {
    settings
        .shown()
        .iter()
        .find(|s| s.name == name)
        .and_then(|s| s.source.as_ref())
        .is_some_and(|source| !matches!(source, Source::Default(_) | Source::Derived(_)))
}

fn key_checks(settings: &Settings, findings: &mut Vec<Finding>) {
    match &settings.secret.key {
        None => push(findings, &r::SECRET_KEY_WEAK, "KEEL_SECRET_KEY is not set"),
        Some(key) => {
            if let Some(reason) = weak_key_reason(key.expose_secret(), settings.secret.key_source.as_ref()) {
                push(
                    findings,
                    &r::SECRET_KEY_WEAK,
                    format!("KEEL_SECRET_KEY is weak: {reason}"),
                );
            }
        }
    }
    for (i, key) in settings.secret.fallbacks.iter().enumerate() {
        if let Some(reason) = weak_key_reason(key.expose_secret(), None) {
            push(
                findings,
                &r::SECRET_KEY_FALLBACK_WEAK,
                format!("fallback key {} is weak: {reason}", i + 1),
            );
        }
    }
}

fn https_checks(settings: &Settings, findings: &mut Vec<Finding>) {
    let s = &settings.security;
    let https = settings.public_url.scheme() == "https";
    if s.hsts_seconds == 0 {
        push(
            findings,
            &r::HSTS_SECONDS,
            "HSTS is off (KEEL_SECURE_HSTS_SECONDS is 0)",
        );
    } else {
        if !s.hsts_include_subdomains {
            push(findings, &r::HSTS_SUBDOMAINS, "HSTS does not include subdomains");
        }
        if !s.hsts_preload {
            push(findings, &r::HSTS_PRELOAD, "HSTS preload is off");
        }
    }
    if !s.ssl_redirect {
        push(
            findings,
            &r::SSL_REDIRECT,
            "plain-http requests are not redirected to https",
        );
    }
    if !s.session_cookie_secure {
        push(
            findings,
            &r::SESSION_COOKIE_SECURE,
            "the session cookie may be sent over plain http",
        );
    }
    if !s.csrf_cookie_secure {
        push(
            findings,
            &r::CSRF_COOKIE_SECURE,
            "the CSRF cookie may be sent over plain http",
        );
    }
    if (https || s.ssl_redirect) && s.proxy_ssl_header.is_none() {
        push(
            findings,
            &r::PROXY_HEADER_MISSING,
            "https is expected but no proxy header tells Keel a request came over https",
        );
    }
    if s.proxy_ssl_header.is_some() && s.trusted_proxies.is_empty() {
        push(
            findings,
            &r::PROXY_WITHOUT_TRUSTED_PROXIES,
            "KEEL_SECURE_PROXY_SSL_HEADER says Keel is behind a proxy, but KEEL_TRUSTED_PROXIES is empty: \
             every client appears as the proxy's address, so rate limits are shared by everyone",
        );
    }
}

fn host_and_origin_checks(settings: &Settings, findings: &mut Vec<Finding>) {
    let s = &settings.security;
    if settings.debug {
        push(findings, &r::DEBUG_IN_PROD, "KEEL_DEBUG is on");
    }
    if s.allowed_hosts.is_empty() {
        push(
            findings,
            &r::ALLOWED_HOSTS_EMPTY,
            "KEEL_ALLOWED_HOSTS is empty: every request will be refused",
        );
    }
    if s.allowed_hosts.iter().any(|h| h == "*") {
        push(
            findings,
            &r::ALLOWED_HOSTS_WILDCARD,
            "KEEL_ALLOWED_HOSTS allows any host",
        );
    }
    if s.cors_allowed_origins.iter().any(|o| o == "*") {
        push(
            findings,
            &r::CORS_WILDCARD,
            "KEEL_CORS_ALLOWED_ORIGINS allows any origin",
        );
    }
    if !explicit(settings, "KEEL_PUBLIC_URL") {
        push(
            findings,
            &r::PUBLIC_URL_UNSET,
            format!("KEEL_PUBLIC_URL is not set (it defaults to {})", settings.public_url),
        );
    }
}

/// Contradictions between an explicit setting and `KEEL_PUBLIC_URL`; run
/// always, as they break a site in any profile.
pub fn public_url_checks(settings: &Settings, findings: &mut Vec<Finding>) {
    let s = &settings.security;
    if s.cors_allow_credentials && s.cors_allowed_origins.iter().any(|o| o == "*") {
        push(
            findings,
            &r::CORS_WILDCARD_CREDENTIALS,
            "CORS allows any origin with credentials",
        );
    }
    if !explicit(settings, "KEEL_PUBLIC_URL") {
        return;
    }
    let url = &settings.public_url;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let origin = url.origin().ascii_serialization();
    let https = url.scheme() == "https";
    if explicit(settings, "KEEL_ALLOWED_HOSTS")
        && !crate::security::hosts::AllowedHosts::new(&s.allowed_hosts).allows(&host)
    {
        push(
            findings,
            &r::PUBLIC_URL_CONTRADICTED,
            format!("KEEL_ALLOWED_HOSTS does not allow {host}, the host of KEEL_PUBLIC_URL"),
        );
    }
    if explicit(settings, "KEEL_CSRF_TRUSTED_ORIGINS")
        && !s.csrf_trusted_origins.iter().any(|o| o.trim_end_matches('/') == origin)
    {
        push(
            findings,
            &r::PUBLIC_URL_CONTRADICTED,
            format!("KEEL_CSRF_TRUSTED_ORIGINS does not include {origin}, the origin of KEEL_PUBLIC_URL: browsers' unsafe requests will fail the Origin check behind a proxy"),
        );
    }
    for (name, on) in [
        ("KEEL_SESSION_COOKIE_SECURE", s.session_cookie_secure),
        ("KEEL_CSRF_COOKIE_SECURE", s.csrf_cookie_secure),
    ] {
        if https && explicit(settings, name) && !on {
            push(
                findings,
                &r::PUBLIC_URL_CONTRADICTED,
                format!("{name} is off although KEEL_PUBLIC_URL is https"),
            );
        }
    }
}

fn secret_in_config(settings: &Settings, findings: &mut Vec<Finding>) {
    for setting in settings.shown() {
        let in_toml = matches!(setting.source, Some(Source::TomlDefault(_) | Source::TomlProfile(..)));
        let sensitive = settings
            .catalog()
            .find(setting.name)
            .is_some_and(|spec| spec.sensitivity != crate::settings::catalog::Sensitivity::Plain);
        let holds_secret = setting.value.as_deref().is_some_and(|v| v.contains("********"));
        if in_toml && sensitive && holds_secret {
            push(
                findings,
                &r::SECRET_IN_CONFIG_FILE,
                format!("{} holds a secret written in keel.toml", setting.name),
            );
        }
    }
}

fn service_checks(settings: &Settings, findings: &mut Vec<Finding>) {
    if matches!(settings.database.kind, DatabaseKind::Sqlite { .. }) {
        push(findings, &r::SQLITE_IN_PROD, "the database is SQLite");
    }
    if matches!(settings.cache.backend, CacheBackendKind::Memory) {
        push(
            findings,
            &r::MEMORY_CACHE_IN_PROD,
            "the cache is the per-process memory cache",
        );
    }
    if matches!(settings.email.backend, EmailBackendKind::Console) {
        push(findings, &r::CONSOLE_EMAIL_IN_PROD, "email goes to the console backend");
    }
    for (name, value) in [
        ("KEEL_DEFAULT_FROM_EMAIL", &settings.email.default_from),
        ("KEEL_SERVER_EMAIL", &settings.email.server_email),
    ] {
        if value.ends_with("@localhost") || value.ends_with("@localhost>") {
            push(findings, &r::DEFAULT_SENDER, format!("{name} is {value}"));
        }
    }
    if settings.email.admins.is_empty() && settings.log.sentry_dsn.is_none() {
        push(findings, &r::NO_ADMINS, "KEEL_ADMINS is empty");
    }
}

/// Every deployment finding for `settings`.
pub fn deploy_checks(settings: &Settings) -> Vec<Finding> {
    let mut findings = Vec::new();
    key_checks(settings, &mut findings);
    https_checks(settings, &mut findings);
    host_and_origin_checks(settings, &mut findings);
    secret_in_config(settings, &mut findings);
    service_checks(settings, &mut findings);
    findings
}
