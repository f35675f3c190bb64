//! The security policy: everything the security layers need, parsed once
//! from settings at start and shared (cheaply cloned) by every request.

use std::ops::Deref;
use std::sync::Arc;

use http::HeaderValue;
use ipnet::IpNet;

use super::cors::CorsPolicy;
use super::hosts::AllowedHosts;
use crate::settings::{Profile, Settings};

/// A route pattern such as `/api/public/forms/{slug}/responses`: `{...}`
/// matches one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern(pub &'static str);

impl RoutePattern {
    pub fn matches(&self, path: &str) -> bool {
        let mut want = self.0.split('/');
        let mut have = path.split('/');
        loop {
            match (want.next(), have.next()) {
                (None, None) => return true,
                (Some(w), Some(h)) if w.starts_with('{') && w.ends_with('}') && !h.is_empty() => {}
                (Some(w), Some(h)) if w == h => {}
                _ => return false,
            }
        }
    }
}

#[derive(Debug)]
pub struct PolicyInner {
    pub allowed_hosts: Arc<AllowedHosts>,
    pub ssl_redirect: bool,
    /// Lowercase header name and the value that marks https.
    pub proxy_ssl_header: Option<(String, String)>,
    /// The whole `Strict-Transport-Security` value, when HSTS is on.
    pub hsts: Option<HeaderValue>,
    /// Origins trusted for unsafe requests besides the request's own.
    pub csrf_trusted_origins: Vec<String>,
    pub csrf_exempt: Vec<RoutePattern>,
    pub csrf_cookie_secure: bool,
    pub session_cookie_secure: bool,
    pub cors: Arc<CorsPolicy>,
    pub trusted_proxies: Vec<IpNet>,
    /// Detailed error pages: `dev` with `KEEL_DEBUG` only.
    pub debug_pages: bool,
}

/// Shared handle on the policy.
#[derive(Debug, Clone)]
pub struct Policy(Arc<PolicyInner>);

impl Deref for Policy {
    type Target = PolicyInner;

    fn deref(&self) -> &PolicyInner {
        &self.0
    }
}

fn hsts_value(seconds: u64, subdomains: bool, preload: bool) -> Option<HeaderValue> {
    if seconds == 0 {
        return None;
    }
    let mut value = format!("max-age={seconds}");
    if subdomains {
        value.push_str("; includeSubDomains");
    }
    if preload {
        value.push_str("; preload");
    }
    HeaderValue::from_str(&value).ok()
}

impl Policy {
    /// Builds the policy; `csrf_exempt` are the route patterns the apps
    /// declared exempt.
    pub fn new(settings: &Settings, csrf_exempt: Vec<RoutePattern>) -> Self {
        let s = &settings.security;
        Self(Arc::new(PolicyInner {
            allowed_hosts: Arc::new(AllowedHosts::new(&s.allowed_hosts)),
            ssl_redirect: s.ssl_redirect,
            proxy_ssl_header: s.proxy_ssl_header.clone(),
            hsts: hsts_value(s.hsts_seconds, s.hsts_include_subdomains, s.hsts_preload),
            csrf_trusted_origins: s
                .csrf_trusted_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_owned())
                .collect(),
            csrf_exempt,
            csrf_cookie_secure: s.csrf_cookie_secure,
            session_cookie_secure: s.session_cookie_secure,
            cors: Arc::new(CorsPolicy::new(&s.cors_allowed_origins, s.cors_allow_credentials)),
            trusted_proxies: s.trusted_proxies.clone(),
            debug_pages: settings.debug && settings.profile == Profile::Dev,
        }))
    }
}
