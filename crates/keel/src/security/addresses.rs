//! Which IP addresses are public: reachable from the internet. Shared by
//! the webhook SSRF guard (a webhook may only reach public addresses) and
//! the metrics check (a metrics listener should not be on one).
//!
//! IPv4 is judged by a list of non-public ranges; IPv6 by an allow-list,
//! global unicast (`2000::/3`) without its special-purpose ranges, because
//! the IPv6 ranges that tunnel to or embed other addresses keep growing.
//! All of `2001::/23` is refused, though IANA marks a few of its anycast
//! and ORCHID blocks globally reachable: none is a webhook receiver.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of non-public address `ip` is, or `None` for a public one.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => non_public_v4(ip),
        IpAddr::V6(ip) => non_public_v6(ip),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let kind = if ip.is_unspecified() || a == 0 {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.is_private() {
        "private"
    } else if ip.is_link_local() {
        "link-local"
    } else if a == 100 && (b & 0xc0) == 64 {
        "shared (CGNAT)"
    } else if ip.is_multicast() {
        "multicast"
    } else if matches!((a, b, c), (192, 0, 2) | (198, 51, 100) | (203, 0, 113)) {
        "documentation"
    } else if ip.is_broadcast()
        || a >= 240
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 88 && c == 99)
        || (a == 198 && (b & 0xfe) == 18)
    {
        "reserved"
    } else {
        return None;
    };
    Some(kind)
}

/// IPv6 is an allow-list: only global unicast (`2000::/3`) outside its
/// special-purpose ranges is public. An address that carries an IPv4
/// address is judged by it where the network delivers to that IPv4
/// address (IPv4-mapped, the well-known NAT64 prefix) and refused outright
/// where the embedding is deprecated or local (IPv4-compatible,
/// IPv4-translated, local-use NAT64, 6to4, Teredo): a webhook has no
/// business there, and judging them would mean trusting how each relay
/// maps them.
fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if let Some(mapped) = ip.to_ipv4_mapped() {
        return non_public_v4(mapped);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return non_public_v4(v4(s[6], s[7]));
    }
    let kind = match s {
        [0, 0, 0, 0, 0, 0, _, _] => "IPv4-compatible (deprecated)",
        [0, 0, 0, 0, 0xffff, 0, _, _] => "IPv4-translated",
        [0x64, 0xff9b, 1, ..] => "NAT64 (local use)",
        [0x2002, ..] => "6to4",
        [0x2001, 0, ..] => "Teredo",
        [0x2001, 0x0db8, ..] => "documentation",
        [0x2001, b, ..] if b < 0x200 => "IETF protocol assignment",
        [0x3fff, b, ..] if b < 0x1000 => "documentation",
        [first, ..] if (first & 0xe000) == 0x2000 => return None,
        [first, ..] if (first & 0xfe00) == 0xfc00 => "private (ULA)",
        [first, ..] if (first & 0xffc0) == 0xfe80 || (first & 0xffc0) == 0xfec0 => "link-local",
        [first, ..] if (first & 0xff00) == 0xff00 => "multicast",
        _ => "reserved",
    };
    Some(kind)
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
