//! The text of a report mail.
//!
//! An error report holds: the time, the request id, the method, the route
//! template (never the raw path, which may carry ids or addresses), the
//! status, the user id when logged in, Keel's version and profile, the
//! error's kind, location and cause chain, and the fingerprint. A broken
//! link report holds the requested path and the referring page, both
//! without their query, and the user agent. Neither holds headers,
//! cookies, bodies or query strings.

use std::fmt::Write;

use super::report::{BrokenLink, ErrorReport, Report};
use crate::http::incident::shorten;
use crate::settings::Settings;

/// Subject and body of the mail for `report`.
pub fn mail(report: &Report, fingerprint: u64, suppressed: u64, settings: &Settings) -> (String, String) {
    let (subject, mut text) = match report {
        Report::Error(r) => error(r, settings),
        Report::BrokenLink(r) => broken_link(r),
    };
    let _ = writeln!(text, "Fingerprint: {fingerprint:016x}");
    if suppressed > 0 {
        let _ = write!(
            text,
            "\n{suppressed} more like this since the last report were not mailed \
             (at most one per KEEL_ERROR_REPORT_INTERVAL).\n"
        );
    }
    (subject, text)
}

fn error(r: &ErrorReport, settings: &Settings) -> (String, String) {
    let subject = format!(
        "[Keel] ERROR {}: {} at {} {}",
        r.status, r.incident.kind, r.method, r.route
    );
    let mut text = String::from("A request failed on the server.\n\n");
    let rows = [
        ("Time", r.time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        ("Request id", r.request_id.clone().unwrap_or_else(|| "-".to_owned())),
        ("Method", r.method.clone()),
        ("Route", r.route.clone()),
        ("Status", r.status.to_string()),
        (
            "User id",
            r.user_id.clone().unwrap_or_else(|| "(not logged in)".to_owned()),
        ),
        (
            "Keel",
            format!("{} ({} profile)", env!("CARGO_PKG_VERSION"), settings.profile),
        ),
        ("Error kind", r.incident.kind.clone()),
        ("Location", r.incident.location.clone()),
    ];
    for (name, value) in rows {
        let _ = writeln!(text, "{:<12} {value}", format!("{name}:"));
    }
    if !r.incident.causes.is_empty() {
        text.push_str("\nCause chain:\n");
        for (n, cause) in r.incident.causes.iter().enumerate() {
            let _ = writeln!(text, "  {}. {cause}", n + 1);
        }
    }
    text.push('\n');
    (subject, text)
}

fn broken_link(r: &BrokenLink) -> (String, String) {
    let subject = format!("[Keel] Broken link: {}", shorten(&r.path));
    let mut text = String::from("A page of this site links to a path that does not exist.\n\n");
    let rows = [
        ("Time", r.time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        ("Request id", r.request_id.clone().unwrap_or_else(|| "-".to_owned())),
        ("Path", shorten(&r.path)),
        ("Referrer", shorten(&r.referer)),
        (
            "User agent",
            r.user_agent.as_deref().map_or_else(|| "-".to_owned(), shorten),
        ),
    ];
    for (name, value) in rows {
        let _ = writeln!(text, "{:<12} {value}", format!("{name}:"));
    }
    text.push('\n');
    (subject, text)
}
