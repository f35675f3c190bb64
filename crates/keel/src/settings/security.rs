//! The security layers' section: hosts, https, HSTS, cookies, CSRF, CORS,
//! proxies, sign-up and the core's rate limits.

use std::time::Duration;

use super::catalog as c;
use super::error::SettingsError;
use super::parse::{self, Rate};
use super::reader::Reader;

/// The security middleware's settings.
#[derive(Debug, Clone)]
pub struct SecuritySettings {
    pub allowed_hosts: Vec<String>,
    pub ssl_redirect: bool,
    /// Header name (lowercase) and the value that marks a request as https.
    pub proxy_ssl_header: Option<(String, String)>,
    pub hsts_seconds: u64,
    pub hsts_include_subdomains: bool,
    pub hsts_preload: bool,
    pub session_cookie_secure: bool,
    pub csrf_cookie_secure: bool,
    pub session_cookie_age: Duration,
    pub csrf_trusted_origins: Vec<String>,
    pub cors_allowed_origins: Vec<String>,
    pub cors_allow_credentials: bool,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub signup_open: bool,
    pub login_rate: Rate,
    pub signup_rate: Rate,
}

pub(super) fn read(r: &Reader<'_>) -> Result<SecuritySettings, SettingsError> {
    let cors_allow_credentials = r.boolean(c::CORS_ALLOW_CREDENTIALS)?;
    let cors_allowed_origins = r.get(c::CORS_ALLOWED_ORIGINS, |s| {
        let origins = parse::list(s);
        for origin in &origins {
            if origin == "*" {
                if cors_allow_credentials {
                    return Err("\"*\" with KEEL_CORS_ALLOW_CREDENTIALS=true would let every site act as the logged-in user; list the origins, or turn credentials off".to_owned());
                }
                continue;
            }
            parse_origin(origin)?;
        }
        Ok(origins)
    })?;
    Ok(SecuritySettings {
        allowed_hosts: r.list(c::ALLOWED_HOSTS)?,
        ssl_redirect: r.boolean(c::SECURE_SSL_REDIRECT)?,
        proxy_ssl_header: r.optional(c::SECURE_PROXY_SSL_HEADER, |s| {
            let (name, value) = s.split_once(':').ok_or_else(|| {
                format!("expected `Header-Name: value` such as `X-Forwarded-Proto: https`, got {s:?}")
            })?;
            let name = name.trim();
            http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("{name:?} is not a header name"))?;
            Ok((name.to_ascii_lowercase(), value.trim().to_owned()))
        })?,
        hsts_seconds: r.get(c::SECURE_HSTS_SECONDS, |s| parse::integer(s, 0, 10 * 365 * 86_400))?,
        hsts_include_subdomains: r.boolean(c::SECURE_HSTS_INCLUDE_SUBDOMAINS)?,
        hsts_preload: r.boolean(c::SECURE_HSTS_PRELOAD)?,
        session_cookie_secure: r.boolean(c::SESSION_COOKIE_SECURE)?,
        csrf_cookie_secure: r.boolean(c::CSRF_COOKIE_SECURE)?,
        session_cookie_age: r.seconds(c::SESSION_COOKIE_AGE)?,
        csrf_trusted_origins: r.get(c::CSRF_TRUSTED_ORIGINS, |s| {
            let origins = parse::list(s);
            origins.iter().try_for_each(|o| parse_origin(o).map(drop))?;
            Ok(origins)
        })?,
        cors_allowed_origins,
        cors_allow_credentials,
        trusted_proxies: r.get(c::TRUSTED_PROXIES, |s| {
            parse::list(s)
                .iter()
                .map(|item| {
                    item.parse::<ipnet::IpNet>()
                        .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                        .map_err(|_| format!("{item:?} is not an address or CIDR such as 10.0.0.0/8"))
                })
                .collect()
        })?,
        signup_open: r.boolean(c::SIGNUP_OPEN)?,
        login_rate: r.get(c::LOGIN_RATE, Rate::parse)?,
        signup_rate: r.get(c::SIGNUP_RATE, Rate::parse)?,
    })
}

/// An origin is a scheme, host and optional port, nothing more.
fn parse_origin(raw: &str) -> Result<url::Url, String> {
    let url = parse::url(raw, &["http", "https"]).map_err(|e| format!("origin {raw:?}: {e}"))?;
    if url.host_str().is_none()
        || url.path() != "/"
        || url.query().is_some()
        || raw.trim_end_matches('/') != url.origin().ascii_serialization()
    {
        return Err(format!("{raw:?} is not an origin; expected scheme://host[:port]"));
    }
    Ok(url)
}
