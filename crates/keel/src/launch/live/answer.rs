//! What the public URL's answer to `GET /api/csrf` should carry: a 200
//! (not a redirect, which on https means a loop), a certificate good for
//! [`EXPIRY_WARNING_DAYS`] more days, HSTS on https, Keel's security
//! headers, and cookies with the flags the settings ask for. The checks
//! on headers are functions of the headers, tested without a server.

use chrono::{DateTime, Utc};
use http::header::{HeaderMap, LOCATION, SET_COOKIE, STRICT_TRANSPORT_SECURITY};
use reqwest::Response;
use url::Url;

use super::cert;
use crate::checks::registry as r;
use crate::checks::Finding;
use crate::security::{csrf, headers, sessions};
use crate::settings::{SecuritySettings, Settings};

/// A certificate with fewer days left than this is a warning.
pub(super) const EXPIRY_WARNING_DAYS: i64 = 21;

/// The findings about the answer to `GET page`.
pub(super) fn findings(settings: &Settings, page: &Url, response: &Response) -> Vec<Finding> {
    let status = response.status();
    if !status.is_success() {
        let location = response.headers().get(LOCATION).and_then(|v| v.to_str().ok());
        let message = match location {
            Some(to) if is_same_page(page, to) => format!(
                "GET {page} answered {status} to {to}, itself: a redirect loop, Keel does not see that the request came over https"
            ),
            Some(to) => format!("GET {page} answered {status} to {to}, not the page"),
            None => format!("GET {page} answered {status}, not 200"),
        };
        return vec![Finding::new(&r::SITE_UNREACHABLE, message)];
    }
    let mut findings = Vec::new();
    if page.scheme() == "https" {
        let not_after = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|tls| tls.peer_certificate())
            .and_then(cert::not_after);
        let host = page.host_str().unwrap_or_default();
        findings.extend(not_after.and_then(|end| expiry_finding(host, end, Utc::now())));
        if !response.headers().contains_key(STRICT_TRANSPORT_SECURITY) {
            findings.push(Finding::new(
                &r::HSTS_NOT_SENT,
                format!("GET {page} came without Strict-Transport-Security"),
            ));
        }
    }
    findings.extend(headers_finding(response.headers(), page));
    findings.extend(cookies_finding(&settings.security, response.headers(), page));
    findings
}

/// Whether `location` sends `page` back to itself: the same scheme, host
/// and path (Keel's https redirect drops the port).
fn is_same_page(page: &Url, location: &str) -> bool {
    page.join(location)
        .is_ok_and(|to| to.scheme() == page.scheme() && to.host_str() == page.host_str() && to.path() == page.path())
}

/// `keel.live.W051` when the certificate of `host` ends within
/// [`EXPIRY_WARNING_DAYS`] of `now`. An expired one never gets here: its
/// handshake fails (`keel.live.E050`).
pub(super) fn expiry_finding(host: &str, not_after: DateTime<Utc>, now: DateTime<Utc>) -> Option<Finding> {
    let days = (not_after - now).num_days();
    (days < EXPIRY_WARNING_DAYS).then(|| {
        Finding::new(
            &r::CERTIFICATE_EXPIRING,
            format!(
                "the certificate of {host} expires on {} ({days} day(s) from now)",
                not_after.format("%Y-%m-%d %H:%M UTC")
            ),
        )
    })
}

/// `keel.live.W054` naming the security headers that did not arrive.
pub(super) fn headers_finding(received: &HeaderMap, page: &Url) -> Option<Finding> {
    let missing: Vec<&str> = headers::ALWAYS
        .iter()
        .map(|(name, _)| *name)
        .chain(["content-security-policy"])
        .filter(|name| !received.contains_key(*name))
        .collect();
    (!missing.is_empty()).then(|| {
        Finding::new(
            &r::SECURITY_HEADERS_MISSING,
            format!("GET {page} came without {}", missing.join(", ")),
        )
    })
}

/// `keel.live.W055` when the `csrftoken` cookie is missing or either
/// cookie lacks a flag the settings ask for (`sessionid` is always
/// HttpOnly).
pub(super) fn cookies_finding(security: &SecuritySettings, received: &HeaderMap, page: &Url) -> Option<Finding> {
    let mut problems = Vec::new();
    let mut csrf_seen = false;
    let cookies = received
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| cookie::Cookie::parse(v).ok());
    for cookie in cookies {
        let secure = cookie.secure().unwrap_or(false);
        let (wants_secure, setting) = match cookie.name() {
            csrf::COOKIE_NAME => {
                csrf_seen = true;
                (security.csrf_cookie_secure, "KEEL_CSRF_COOKIE_SECURE")
            }
            sessions::COOKIE_NAME => {
                if !cookie.http_only().unwrap_or(false) {
                    problems.push(format!("{} lacks HttpOnly", sessions::COOKIE_NAME));
                }
                (security.session_cookie_secure, "KEEL_SESSION_COOKIE_SECURE")
            }
            _ => continue,
        };
        if wants_secure && !secure {
            problems.push(format!("{} lacks Secure although {setting} is on", cookie.name()));
        }
    }
    if !csrf_seen {
        problems.insert(0, format!("no {} cookie was set", csrf::COOKIE_NAME));
    }
    (!problems.is_empty()).then(|| Finding::new(&r::COOKIE_FLAGS, format!("GET {page}: {}", problems.join("; "))))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn page() -> Url {
        Url::parse("https://forms.example.com/api/csrf").unwrap()
    }

    #[test]
    fn a_certificate_warns_under_21_days_left() {
        let now = "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let days = |n| now + chrono::Duration::days(n) + chrono::Duration::hours(1);
        assert!(expiry_finding("forms.example.com", days(90), now).is_none());
        assert!(expiry_finding("forms.example.com", days(21), now).is_none());
        let soon = expiry_finding("forms.example.com", days(20), now).expect("20 days left");
        assert_eq!(soon.id, "keel.live.W051");
        assert!(
            soon.message.contains("2026-01-21") && soon.message.contains("20 day(s)"),
            "{}",
            soon.message
        );
    }

    #[test]
    fn missing_security_headers_are_named() {
        let mut received = HeaderMap::new();
        for (name, value) in headers::ALWAYS {
            received.insert(*name, HeaderValue::from_static(value));
        }
        received.insert(
            "content-security-policy",
            HeaderValue::from_static("default-src 'none'"),
        );
        assert!(headers_finding(&received, &page()).is_none(), "all there");
        received.remove("x-frame-options");
        received.remove("content-security-policy");
        let finding = headers_finding(&received, &page()).expect("two missing");
        assert!(
            finding
                .message
                .ends_with("without x-frame-options, content-security-policy"),
            "{}",
            finding.message
        );
    }

    #[test]
    fn cookie_flags_follow_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        let mut security = Settings::for_test(dir.path()).security;
        let with = |cookies: &[&'static str]| {
            let mut headers = HeaderMap::new();
            for cookie in cookies {
                headers.append(SET_COOKIE, HeaderValue::from_static(cookie));
            }
            headers
        };
        let plain = with(&["csrftoken=a; Path=/; SameSite=Lax"]);
        let secure = with(&["csrftoken=a; Path=/; SameSite=Lax; Secure"]);
        security.csrf_cookie_secure = false;
        assert!(
            cookies_finding(&security, &plain, &page()).is_none(),
            "Secure not asked for"
        );
        security.csrf_cookie_secure = true;
        assert!(
            cookies_finding(&security, &secure, &page()).is_none(),
            "Secure asked for and sent"
        );
        let finding = cookies_finding(&security, &plain, &page()).expect("Secure asked for, not sent");
        assert!(
            finding.message.contains("csrftoken lacks Secure"),
            "{}",
            finding.message
        );
        let none = cookies_finding(&security, &HeaderMap::new(), &page()).expect("no cookie");
        assert!(none.message.contains("no csrftoken cookie"), "{}", none.message);
        let session = with(&["csrftoken=a; Secure", "sessionid=b; Path=/"]);
        security.session_cookie_secure = true;
        let finding = cookies_finding(&security, &session, &page()).expect("a bare session cookie");
        assert!(
            finding.message.contains("sessionid lacks HttpOnly") && finding.message.contains("sessionid lacks Secure"),
            "{}",
            finding.message
        );
    }
}
