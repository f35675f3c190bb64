//! The client's address, for rate limits and logs.
//!
//! The TCP peer is the client unless the peer is one of
//! `KEEL_TRUSTED_PROXIES`; then `X-Forwarded-For` is read from the right
//! (the end the trusted proxy appended), skipping trusted addresses, and the
//! first untrusted address is the client. From anyone else the header is
//! ignored, so a client cannot pick its own address to dodge a limit.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use http::request::Parts;
use ipnet::IpNet;

use super::policy::Policy;

/// The client's IP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Whether `peer` is one of the trusted proxies, whose forwarded headers
/// (`X-Forwarded-For`, `X-Request-Id`) are believed.
pub fn is_trusted_proxy(peer: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&peer))
}

/// The client address given the peer and the forwarded-for values.
pub fn resolve(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| is_trusted_proxy(*ip, trusted);
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = forwarded_for
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => continue,
            Ok(ip) => return ip,
            // A garbled hop: stop trusting the chain here.
            Err(_) => return peer,
        }
    }
    peer
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
        let Some(policy) = parts.extensions.get::<Policy>() else {
            return Ok(Self(peer));
        };
        let values: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(Self(resolve(peer, &values, &policy.trusted_proxies)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.1/32".parse().unwrap()];
        let cases = [
            (
                "203.0.113.9",
                vec!["1.2.3.4"],
                "203.0.113.9",
                "an untrusted peer's header is ignored",
            ),
            (
                "127.0.0.1",
                vec!["1.2.3.4"],
                "1.2.3.4",
                "a trusted proxy names the client",
            ),
            (
                "127.0.0.1",
                vec!["6.6.6.6, 1.2.3.4, 10.1.1.1"],
                "1.2.3.4",
                "read from the right, skipping proxies",
            ),
            (
                "127.0.0.1",
                vec!["6.6.6.6", "1.2.3.4"],
                "1.2.3.4",
                "several headers are one list",
            ),
            ("127.0.0.1", vec![], "127.0.0.1", "no header: the peer"),
            ("127.0.0.1", vec!["garbage"], "127.0.0.1", "a garbled hop: the peer"),
            ("127.0.0.1", vec!["10.0.0.1"], "127.0.0.1", "only proxies: the peer"),
        ];
        for (peer, header, expected, why) in cases {
            assert_eq!(resolve(ip(peer), &header, &trusted), ip(expected), "{why}");
        }
    }
}
