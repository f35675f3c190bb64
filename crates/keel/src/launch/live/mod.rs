//! `check --deploy --live`: probes of the real servers, disk and proxy a
//! deployment depends on, on top of the deploy checks. Each probe is a
//! check of the `live` area in `checks::registry` (`keel.live.*`); the
//! database's reachability and migrations are the `keel.db` checks every
//! run has, and the static files `keel.static.E001`, which `--live` runs
//! in every profile (`--deploy` alone runs it in `prod`).
//!
//! - `services`: PostgreSQL's room for every instance's pool, Redis, the
//!   mail server, media storage (a probe object written, read, deleted)
//! - `disk`: free space where SQLite, local media and the log file live
//! - `site`, `answer`, `cert`: `KEEL_PUBLIC_URL` through the proxy: the
//!   certificate, the http redirect, HSTS, the security headers, cookie
//!   flags and an unknown Host
//!
//! Every probe runs at once with the others and gives up after
//! [`PROBE_TIMEOUT`]. Messages never carry a password: the probes name
//! servers by URLs with the password taken out, and every message is
//! scrubbed of the configured secrets before it is returned.

mod answer;
mod cert;
pub mod disk;
pub mod services;
mod site;

use std::future::Future;
use std::time::Duration;

use secrecy::ExposeSecret;

use crate::app::App;
use crate::checks::Finding;
use crate::core::Core;
use crate::settings::{expose, CacheBackendKind, EmailBackendKind, Profile, Settings};

/// How long one probe may take, connection included.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the command line adds to the probes.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// How many instances share the database (`--instances`).
    pub instances: u32,
    /// Extra certificate authorities (PEM) trusted for `KEEL_PUBLIC_URL`
    /// besides the usual roots (`--ca-cert`), for a private CA.
    pub ca_pem: Option<Vec<u8>>,
    /// The port of the proxy's plain-http listener (`--http-port`).
    pub http_port: u16,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self {
            instances: 1,
            ca_pem: None,
            http_port: 80,
        }
    }
}

/// The deploy checks and every live probe, all at once, sorted by id.
pub async fn run(core: &Core, apps: &[Box<dyn App>], options: &LiveOptions) -> Vec<Finding> {
    let (mut findings, pool, cache, mail, media, site) = tokio::join!(
        super::checks::run(core, apps, true),
        services::pool(core, options.instances),
        services::cache(&core.settings),
        services::mail(&core.settings),
        services::media(core),
        site::probe(&core.settings, options),
    );
    if core.settings.profile != Profile::Prod {
        findings.extend(crate::staticfiles::manifest_finding(&core.settings.files));
    }
    findings.extend([pool, cache, mail, media].into_iter().flatten());
    findings.extend(site);
    findings.extend(disk::findings(&core.settings));
    let secrets = secrets(&core.settings);
    for finding in &mut findings {
        finding.message = scrub(&finding.message, &secrets);
    }
    super::checks::sort(&mut findings);
    findings
}

/// `probe`, or `None` when it takes longer than [`PROBE_TIMEOUT`].
async fn within<T>(probe: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(PROBE_TIMEOUT, probe).await.ok()
}

/// `url` fit to print: the password replaced by `********`.
pub fn shown_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("********"));
            }
            url.to_string()
        }
        Err(_) => "(an invalid URL)".to_owned(),
    }
}

/// Shorter secrets are not scrubbed: replacing every `ab` in a message
/// would garble it, and such a password is no secret anyway.
const MIN_SCRUBBED: usize = 4;

/// The configured secrets that a probe's error could echo.
fn secrets(settings: &Settings) -> Vec<String> {
    let mut urls = vec![expose(&settings.database.url).to_owned()];
    if let CacheBackendKind::Redis(url) = &settings.cache.backend {
        urls.push(expose(url).to_owned());
    }
    if let EmailBackendKind::Smtp(url) = &settings.email.backend {
        urls.push(expose(url).to_owned());
    }
    let mut secrets: Vec<String> = urls
        .iter()
        .filter_map(|raw| url::Url::parse(raw).ok())
        .filter_map(|url| url.password().map(str::to_owned))
        .flat_map(|encoded| {
            let decoded = crate::outbox::mail::percent_decode(&encoded);
            [Some(encoded), decoded]
        })
        .flatten()
        .collect();
    secrets.extend(
        settings
            .files
            .s3
            .secret_access_key
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
    );
    secrets.extend(settings.secret.key.as_ref().map(|s| s.expose_secret().to_owned()));
    secrets.retain(|s| s.len() >= MIN_SCRUBBED);
    // The longest first, so a secret that contains another goes whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets
}

/// `message` with every secret replaced by `********`.
fn scrub(message: &str, secrets: &[String]) -> String {
    secrets.iter().fold(message.to_owned(), |text, secret| {
        text.replace(secret.as_str(), "********")
    })
}

/// The innermost cause of `err`, which names what went wrong (`connection
/// refused`, `invalid peer certificate: Expired`) where the outer ones
/// only say that a request failed.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// `err` and, when its text leaves it out, its innermost cause.
fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let (top, root) = (err.to_string(), root_cause(err));
    if top.contains(&root) {
        top
    } else {
        format!("{top}: {root}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_hide_the_password_and_scrub_removes_secrets() {
        assert_eq!(
            shown_url("redis://:hunter22@cache.internal:6379/0"),
            "redis://:********@cache.internal:6379/0"
        );
        assert_eq!(shown_url("smtp://mail.example.com:587"), "smtp://mail.example.com:587");
        let secrets = vec!["p@ss word".to_owned(), "hunter22".to_owned()];
        assert_eq!(
            scrub("auth failed for hunter22 and p@ss word", &secrets),
            "auth failed for ******** and ********"
        );
    }

    #[test]
    fn the_secrets_are_the_passwords_of_every_url_decoded_too() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_test(dir.path());
        settings.database.url = "postgres://keel:s%40cret-db@db/keel".to_owned().into();
        settings.cache.backend = CacheBackendKind::Redis("redis://:cache-pass@127.0.0.1:6379".to_owned().into());
        let found = secrets(&settings);
        for secret in ["s%40cret-db", "s@cret-db", "cache-pass"] {
            assert!(found.iter().any(|s| s == secret), "{secret} is scrubbed");
        }
    }
}
