//! Checks of the error reports, Sentry and metrics settings: reports that
//! could not reach anyone, a DSN Sentry would refuse, and `/metrics` open
//! to the internet. Pure functions of the settings.

use std::net::IpAddr;

use secrecy::ExposeSecret;

use crate::security::addresses::non_public;

use super::registry as r;
use super::Finding;
use crate::settings::{EmailBackendKind, Settings};

/// Every finding (the deploy-only ones are dropped by the caller outside
/// `--deploy`).
pub fn findings(settings: &Settings) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(dsn) = &settings.log.sentry_dsn {
        if let Err(why) = dsn_problem(dsn.expose_secret()) {
            findings.push(Finding::new(&r::SENTRY_DSN_SHAPE, format!("KEEL_SENTRY_DSN {why}")));
        }
    }
    let someone = !settings.email.admins.is_empty() || !settings.email.managers.is_empty();
    let kept = match &settings.email.backend {
        EmailBackendKind::Console => Some("printed to the console"),
        EmailBackendKind::File { .. } => Some("written to files"),
        EmailBackendKind::Smtp(_) => None,
    };
    if let (true, Some(kept)) = (someone, kept) {
        findings.push(Finding::new(
            &r::REPORTS_NOT_MAILED,
            format!("reports to KEEL_ADMINS and KEEL_MANAGERS are only {kept}"),
        ));
    }
    if let Some(addr) = settings.server.metrics_bind {
        if is_public(addr.ip()) {
            findings.push(Finding::new(
                &r::METRICS_PUBLIC,
                format!("KEEL_METRICS_BIND is {addr}, reachable beyond this host and its private network"),
            ));
        }
    }
    findings
}

/// Why `dsn` is not one Sentry accepts: `scheme://KEY@HOST[:PORT]/[PATH/]PROJECT`.
fn dsn_problem(dsn: &str) -> Result<(), &'static str> {
    let url = url::Url::parse(dsn).map_err(|_| "is not a URL")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("is not an http or https URL");
    }
    if url.username().is_empty() {
        return Err("has no public key before the @");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host");
    }
    let project = url.path().trim_end_matches('/').rsplit('/').next().unwrap_or("");
    if project.is_empty() || !project.bytes().all(|b| b.is_ascii_digit()) {
        return Err("does not end with a numeric project id");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("has a query or fragment, which a DSN never has");
    }
    Ok(())
}

/// Every interface, or an address routed on the internet.
fn is_public(ip: IpAddr) -> bool {
    ip.is_unspecified() || non_public(ip).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentry_dsns_are_told_from_urls_sentry_refuses() {
        let good = [
            "https://0123abc@o1.ingest.sentry.io/4505",
            "http://key@127.0.0.1:9000/42",
            "https://key@sentry.example.com/sentry/7/",
        ];
        for dsn in good {
            assert_eq!(dsn_problem(dsn), Ok(()), "{dsn}");
        }
        let bad = [
            ("https://sentry.example.com/42", "no key"),
            ("https://key@sentry.example.com/", "no project"),
            ("https://key@sentry.example.com/project-x", "a project name, not its id"),
            ("ftp://key@sentry.example.com/1", "not http"),
            ("https://key@sentry.example.com/1?x=1", "a query"),
            ("sentry.example.com", "not a URL"),
        ];
        for (dsn, why) in bad {
            assert!(dsn_problem(dsn).is_err(), "{why}: {dsn}");
        }
    }

    #[test]
    fn loopback_and_private_metrics_addresses_are_fine_and_others_are_not() {
        let private = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.9",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.1.1",
            "::1",
            "fd00::1",
            "fe80::1",
        ];
        for ip in private {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["0.0.0.0", "::", "1.1.1.1", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
