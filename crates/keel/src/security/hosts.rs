//! Host validation (`KEEL_ALLOWED_HOSTS`): the first check a site request
//! meets, before any handler or session work.
//!
//! A request needs exactly one well-formed `Host` header whose name, port
//! stripped and case folded, is listed: exactly, or under a `.example.com`
//! entry (the domain and its subdomains), or `*` (any; a deploy check warns).
//! An absolute request target must name the same host. Everything else is
//! 400, so a forged Host can never reach a password-reset link or a cache
//! key.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::HOST;

use crate::http::Problem;

/// The allowed-hosts list, parsed once.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    exact: Vec<String>,
    /// `.example.com` entries, kept with their leading dot.
    domains: Vec<String>,
    any: bool,
}

impl AllowedHosts {
    pub fn new(entries: &[String]) -> Self {
        let mut hosts = Self::default();
        for entry in entries {
            let entry = entry.trim().trim_end_matches('.').to_ascii_lowercase();
            if entry == "*" {
                hosts.any = true;
            } else if entry.starts_with('.') {
                hosts.domains.push(entry);
            } else if !entry.is_empty() {
                hosts.exact.push(entry);
            }
        }
        hosts
    }

    /// Whether `host` (lowercase, no port) is allowed.
    pub fn allows(&self, host: &str) -> bool {
        self.any
            || self.exact.iter().any(|e| e == host)
            || self
                .domains
                .iter()
                .any(|d| host.ends_with(d.as_str()) || host == &d[1..])
    }
}

/// Splits a Host value into its lowercase name and port, checking its
/// shape as Django does: a DNS name or an IPv4 address, or an IPv6 literal
/// in brackets, then an optional numeric port. A trailing dot is dropped.
pub fn split_host(raw: &str) -> Option<(String, Option<u16>)> {
    let lower = raw.to_ascii_lowercase();
    let (name, port) = if let Some(rest) = lower.strip_prefix('[') {
        let end = rest.find(']')?;
        let literal = &rest[..end];
        if literal.parse::<std::net::Ipv6Addr>().is_err() {
            return None;
        }
        (format!("[{literal}]"), &rest[end + 1..])
    } else {
        match lower.rfind(':') {
            Some(i) => (lower[..i].to_owned(), &lower[i..]),
            None => (lower.clone(), ""),
        }
    };
    let port = match port {
        "" => None,
        p => Some(p.strip_prefix(':')?.parse::<u16>().ok()?),
    };
    let name = name.strip_suffix('.').map(str::to_owned).unwrap_or(name);
    let valid_name = name.starts_with('[')
        || (!name.is_empty()
            && name.len() <= 253
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && !name.starts_with('.')
            && !name.contains(".."));
    valid_name.then_some((name, port))
}

/// The validated host of a request, for the layers and handlers after this
/// one (redirects and the CSRF origin check use it).
#[derive(Debug, Clone)]
pub struct RequestHost {
    /// Lowercase name, with brackets for IPv6.
    pub name: String,
    pub port: Option<u16>,
}

impl RequestHost {
    /// `name[:port]`, as it goes into a URL.
    pub fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.name),
            None => self.name.clone(),
        }
    }
}

fn bad_host(detail: &str) -> Response {
    Problem::bad_request(format!("Invalid Host header: {detail}.")).into_response()
}

/// Middleware: 400 unless the Host is well-formed, single and allowed.
pub async fn validate_host(State(allowed): State<Arc<AllowedHosts>>, mut request: Request, next: Next) -> Response {
    let mut hosts = request.headers().get_all(HOST).iter();
    let (Some(value), None) = (hosts.next(), hosts.next()) else {
        return bad_host("exactly one Host header is required");
    };
    let Some((name, port)) = value.to_str().ok().and_then(split_host) else {
        return bad_host("it is malformed");
    };
    if let Some(authority) = request.uri().authority() {
        let same = split_host(authority.as_str()).is_some_and(|(n, p)| n == name && p == port);
        if !same {
            return bad_host("it differs from the request target");
        }
    }
    if !allowed.allows(&name) {
        tracing::warn!(host.name = %name, "disallowed host");
        return bad_host("this site does not answer to that name; add it to KEEL_ALLOWED_HOSTS");
    }
    request.extensions_mut().insert(RequestHost { name, port });
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_values_are_parsed_like_django() {
        let cases = [
            ("example.com", Some(("example.com", None)), "a plain name"),
            (
                "Example.COM:8000",
                Some(("example.com", Some(8000))),
                "case folded, port kept apart",
            ),
            ("example.com.", Some(("example.com", None)), "a trailing dot"),
            ("127.0.0.1:80", Some(("127.0.0.1", Some(80))), "IPv4 with port"),
            ("[::1]:8000", Some(("[::1]", Some(8000))), "IPv6 literal with port"),
            ("[::1]", Some(("[::1]", None)), "IPv6 literal"),
            ("[zz::1]", None, "a bad IPv6 literal"),
            ("::1", None, "IPv6 without brackets"),
            ("example.com:abc", None, "a non-numeric port"),
            ("example.com:99999", None, "a port out of range"),
            ("exa mple.com", None, "a space"),
            ("example.com/evil", None, "a path"),
            ("user@example.com", None, "userinfo"),
            ("", None, "empty"),
            (".example.com", None, "a leading dot"),
            ("a..b", None, "an empty label"),
        ];
        for (raw, expected, why) in cases {
            let got = split_host(raw);
            let expected = expected.map(|(n, p)| (n.to_owned(), p));
            assert_eq!(got, expected, "{why}: {raw:?}");
        }
    }

    #[test]
    fn allowed_hosts_match_exact_names_and_dotted_domains() {
        let hosts = AllowedHosts::new(&["Forms.Example.com".into(), ".example.org".into(), "[::1]".into()]);
        let cases = [
            ("forms.example.com", true, "exact, case-insensitive"),
            ("example.com", false, "the parent of an exact name"),
            ("evil.forms.example.com", false, "a subdomain of an exact name"),
            ("example.org", true, "the domain of a dotted entry"),
            ("a.b.example.org", true, "a subdomain of a dotted entry"),
            ("badexample.org", false, "a suffix that is not a subdomain"),
            ("[::1]", true, "an IPv6 literal"),
        ];
        for (host, allowed, why) in cases {
            assert_eq!(hosts.allows(host), allowed, "{why}: {host}");
        }
        assert!(AllowedHosts::new(&["*".into()]).allows("anything.test"));
        assert!(
            !AllowedHosts::new(&[]).allows("localhost"),
            "an empty list allows nothing"
        );
    }
}
