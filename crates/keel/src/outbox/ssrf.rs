//! Which webhook URLs and addresses Keel may reach: the guard against
//! server-side request forgery. A webhook URL is given by a user, so left
//! unchecked it would let anyone make the server call its own loopback
//! services, the cloud metadata endpoint (169.254.169.254) or the private
//! network behind it.
//!
//! Two checks: [`validate_webhook_url`] when a form is saved (syntax,
//! https in prod, IP literals), and [`resolve`] at delivery, which looks the
//! host up and refuses when any address is not public, returning the vetted
//! addresses the request must then connect to, so a second DNS answer
//! cannot switch them (DNS rebinding). `KEEL_WEBHOOK_ALLOW_PRIVATE` lifts the
//! address rule (tests, intranet deployments).
//!
//! Which addresses are public is judged by [`non_public`] (in
//! `security::addresses`, which the metrics check shares).

use std::net::{IpAddr, SocketAddr};

use url::{Host, Url};

pub use crate::security::addresses::non_public;

use crate::settings::{Profile, Settings};

/// Why a webhook may not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsrfError {
    #[error("{0}")]
    InvalidUrl(String),
    #[error("the host resolves to a non-public address ({0})")]
    NonPublicAddress(&'static str),
    #[error("the host does not resolve: {0}")]
    Unresolved(String),
}

/// Syntactic and policy check of a webhook URL when a form is saved: http
/// or https (https only in prod), a host, no user or password, and, when
/// the host is an IP literal, a public address unless private ones are
/// allowed. Names are checked when they are looked up, at delivery. The
/// message says what is wrong, for the user.
pub fn validate_webhook_url(raw: &str, settings: &Settings) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|err| format!("not a valid URL ({err})"))?;
    match url.scheme() {
        "https" => {}
        "http" if settings.profile != Profile::Prod => {}
        "http" => return Err("must use https".to_owned()),
        other => return Err(format!("must be an https URL, not {other}:")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a user name or password".to_owned());
    }
    let allow_private = settings.outbox.webhook_allow_private;
    match url.host() {
        None => return Err("must have a host".to_owned()),
        Some(Host::Domain(_)) => {}
        Some(Host::Ipv4(ip)) => check_literal(IpAddr::V4(ip), allow_private)?,
        Some(Host::Ipv6(ip)) => check_literal(IpAddr::V6(ip), allow_private)?,
    }
    Ok(url)
}

fn check_literal(ip: IpAddr, allow_private: bool) -> Result<(), String> {
    match non_public(ip) {
        Some(what) if !allow_private => Err(format!("must not point at a {what} address")),
        _ => Ok(()),
    }
}

/// The addresses a webhook request may connect to, looked up now and
/// vetted (all of them, unless private addresses are allowed).
pub async fn resolve(url: &Url, allow_private: bool) -> Result<Vec<SocketAddr>, SsrfError> {
    let host = url
        .host()
        .ok_or_else(|| SsrfError::InvalidUrl("the URL has no host".to_owned()))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| SsrfError::InvalidUrl("the URL has no port".to_owned()))?;
    let addresses: Vec<SocketAddr> = match host {
        Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Host::Domain(domain) => tokio::net::lookup_host((domain, port))
            .await
            .map_err(|err| SsrfError::Unresolved(err.kind().to_string()))?
            .collect(),
    };
    if !allow_private {
        // Any bad answer refuses the whole name: a host that also resolves
        // to an internal address is not trusted for its public ones.
        if let Some(what) = addresses.iter().find_map(|a| non_public(a.ip())) {
            return Err(SsrfError::NonPublicAddress(what));
        }
    }
    if addresses.is_empty() {
        return Err(SsrfError::Unresolved("no addresses".to_owned()));
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_classified() {
        let cases = [
            ("8.8.8.8", None, "public"),
            ("93.184.216.34", None, "public"),
            ("127.0.0.1", Some("loopback"), "loopback"),
            ("10.1.2.3", Some("private"), "10/8"),
            ("172.16.0.1", Some("private"), "172.16/12"),
            ("192.168.1.1", Some("private"), "192.168/16"),
            ("169.254.169.254", Some("link-local"), "cloud metadata"),
            ("100.64.0.1", Some("shared (CGNAT)"), "CGNAT"),
            ("0.0.0.0", Some("unspecified"), "unspecified"),
            ("224.0.0.1", Some("multicast"), "multicast"),
            ("255.255.255.255", Some("reserved"), "broadcast"),
            ("::1", Some("loopback"), "v6 loopback"),
            ("::", Some("unspecified"), "v6 unspecified"),
            ("fd00::1", Some("private (ULA)"), "ULA"),
            ("fe80::1", Some("link-local"), "v6 link-local"),
            ("ff02::1", Some("multicast"), "v6 multicast"),
            ("::ffff:127.0.0.1", Some("loopback"), "v4-mapped loopback"),
            (
                "64:ff9b::a9fe:a9fe",
                Some("link-local"),
                "NAT64 of the metadata address",
            ),
            ("2002:0a00:0001::", Some("6to4"), "6to4 of 10.0.0.1"),
            ("2002:0808:0808::", Some("6to4"), "6to4, whatever it embeds"),
            ("2606:4700:4700::1111", None, "public v6"),
            ("2a00:1450:4001:81d::200e", None, "another public v6"),
            ("::ffff:8.8.8.8", None, "v4-mapped public"),
            ("::ffff:10.0.0.1", Some("private"), "v4-mapped private"),
            ("::ffff:169.254.169.254", Some("link-local"), "v4-mapped metadata"),
            (
                "::127.0.0.1",
                Some("IPv4-compatible (deprecated)"),
                "v4-compatible loopback",
            ),
            (
                "::8.8.8.8",
                Some("IPv4-compatible (deprecated)"),
                "v4-compatible public",
            ),
            ("::ffff:0:127.0.0.1", Some("IPv4-translated"), "v4-translated loopback"),
            ("::ffff:0:8.8.8.8", Some("IPv4-translated"), "v4-translated public"),
            ("64:ff9b::8.8.8.8", None, "NAT64 of a public address"),
            ("64:ff9b::127.0.0.1", Some("loopback"), "NAT64 of loopback"),
            ("64:ff9b::10.0.0.1", Some("private"), "NAT64 of a private address"),
            ("64:ff9b:1::a9fe:a9fe", Some("NAT64 (local use)"), "local-use NAT64"),
            (
                "64:ff9b:1:a9fe:a9fe::",
                Some("NAT64 (local use)"),
                "local-use NAT64, another embedding",
            ),
            ("64:ff9b:2::1", Some("reserved"), "next to NAT64"),
            ("2001::1", Some("Teredo"), "Teredo"),
            ("2001:db8::1", Some("documentation"), "documentation"),
            ("2001:10::1", Some("IETF protocol assignment"), "ORCHID"),
            ("2001:20::1", Some("IETF protocol assignment"), "ORCHIDv2"),
            ("2001:1ff::1", Some("IETF protocol assignment"), "the end of 2001::/23"),
            ("2001:200::1", None, "just past 2001::/23"),
            ("3fff::1", Some("documentation"), "documentation (RFC 9637)"),
            ("3fff:1000::1", None, "just past 3fff::/20"),
            ("100::1", Some("reserved"), "discard-only"),
            ("5f00::1", Some("reserved"), "SRv6 SIDs"),
            ("4000::1", Some("reserved"), "unassigned, outside 2000::/3"),
            ("fec0::1", Some("link-local"), "deprecated site-local"),
            ("ff0e::1", Some("multicast"), "global multicast"),
            ("192.0.2.1", Some("documentation"), "TEST-NET-1"),
            ("198.51.100.1", Some("documentation"), "TEST-NET-2"),
            ("203.0.113.1", Some("documentation"), "TEST-NET-3"),
            ("192.88.99.1", Some("reserved"), "the deprecated 6to4 relay anycast"),
        ];
        for (ip, expected, why) in cases {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(non_public(ip), expected, "{ip}: {why}");
        }
    }
}
