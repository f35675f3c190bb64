//! `KEEL_PUBLIC_URL` through the proxy, as a browser meets it: `GET
//! /api/csrf` on the public URL (judged in `answer`), the same on plain
//! http (it should redirect to https), and once more with a Host nobody
//! configured (it should be refused). Run only when `KEEL_PUBLIC_URL` is
//! set (`keel.security.W051` says when it is not); the https probes
//! (certificate, redirect, HSTS) only when it is https.
//!
//! Certificates are verified against the usual roots and whatever
//! `--ca-cert` adds, never skipped. Each request has its own connection,
//! so no answer rides on another's.

use std::time::Duration;

use http::header::{HOST, LOCATION};
use reqwest::redirect::Policy;
use reqwest::Client;
use url::Url;

use super::{answer, root_cause, LiveOptions, PROBE_TIMEOUT};
use crate::checks::deploy::explicit;
use crate::checks::registry as r;
use crate::checks::Finding;
use crate::settings::Settings;

/// Every Keel site answers it, with the security headers and a cookie.
const PAGE: &str = "/api/csrf";
/// A name no site is configured for (`.invalid` is reserved, RFC 2606).
pub(super) const UNKNOWN_HOST: &str = "unknown-host.keel-check.invalid";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The site's findings; none when `KEEL_PUBLIC_URL` is not set.
pub(super) async fn probe(settings: &Settings, options: &LiveOptions) -> Vec<Finding> {
    if !explicit(settings, "KEEL_PUBLIC_URL") {
        return Vec::new();
    }
    let client = match client(options) {
        Ok(client) => client,
        Err(why) => return vec![Finding::new(&r::SITE_UNREACHABLE, why)],
    };
    let base = &settings.public_url;
    let Ok(page) = base.join(PAGE) else {
        return Vec::new();
    };
    let https = base.scheme() == "https";
    let (main, redirect, unknown) = tokio::join!(
        client.get(page.clone()).send(),
        async {
            match https {
                true => redirect_finding(&client, &page, options.http_port).await,
                false => None,
            }
        },
        unknown_host_finding(&client, &page),
    );
    let mut findings: Vec<Finding> = [redirect, unknown].into_iter().flatten().collect();
    match main {
        Ok(response) => findings.extend(answer::findings(settings, &page, &response)),
        Err(err) => findings.push(Finding::new(
            &r::SITE_UNREACHABLE,
            format!("GET {page} failed: {}", request_error(&err)),
        )),
    }
    findings
}

/// A client that follows no redirect, keeps no connection, speaks
/// HTTP/1.1 (so a Host header is sent as given) and keeps the peer's
/// certificate for the expiry check.
fn client(options: &LiveOptions) -> Result<Client, String> {
    let mut builder = Client::builder()
        .redirect(Policy::none())
        .timeout(PROBE_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .http1_only()
        .pool_max_idle_per_host(0)
        .tls_info(true)
        .user_agent(concat!("keel-check-live/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = &options.ca_pem {
        let certificates = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|err| format!("the --ca-cert file cannot be used: {}", root_cause(&err)))?;
        if certificates.is_empty() {
            return Err("the --ca-cert file holds no PEM certificate".to_owned());
        }
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder
        .build()
        .map_err(|err| format!("cannot set up an HTTP client: {}", root_cause(&err)))
}

/// Why a request failed, in a few words (`Connection refused`, `invalid
/// peer certificate: UnknownIssuer`).
pub(super) fn request_error(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        format!("no answer within {}s", PROBE_TIMEOUT.as_secs())
    } else {
        root_cause(err)
    }
}

/// `keel.live.W052` unless plain http on `port` redirects to https on the
/// same host.
async fn redirect_finding(client: &Client, page: &Url, port: u16) -> Option<Finding> {
    let host = page.host_str()?;
    let mut plain = page.clone();
    plain.set_scheme("http").ok()?;
    plain.set_port(Some(port)).ok()?;
    let message = match client.get(plain.clone()).send().await {
        Err(err) => format!(
            "GET {plain} failed: {}; visitors who type the bare name reach nothing",
            request_error(&err)
        ),
        Ok(response) if response.status().is_redirection() => {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let target = plain.join(location).ok();
            let to_https = target
                .as_ref()
                .is_some_and(|t| t.scheme() == "https" && t.host_str().is_some_and(|h| h.eq_ignore_ascii_case(host)));
            if to_https {
                return None;
            }
            format!("GET {plain} redirected to {location:?}, not to https://{host}/")
        }
        Ok(response) => format!(
            "GET {plain} answered {} instead of redirecting to https",
            response.status()
        ),
    };
    Some(Finding::new(&r::PLAIN_HTTP_NOT_REDIRECTED, message))
}

/// `keel.live.W056` when a request for [`UNKNOWN_HOST`] gets an answer
/// other than a 4xx (no answer at all is a refusal too).
async fn unknown_host_finding(client: &Client, page: &Url) -> Option<Finding> {
    let response = client.get(page.clone()).header(HOST, UNKNOWN_HOST).send().await.ok()?;
    let status = response.status();
    (!status.is_client_error()).then(|| {
        Finding::new(
            &r::UNKNOWN_HOST_SERVED,
            format!("GET {page} with Host: {UNKNOWN_HOST} was answered {status}; an unknown name should be refused"),
        )
    })
}
