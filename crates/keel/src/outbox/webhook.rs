//! Webhook delivery: one signed JSON POST per attempt.
//!
//! Headers: `X-Keel-Event`, `X-Keel-Timestamp` (unix seconds),
//! `X-Keel-Signature: sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`
//! and `X-Keel-Idempotency-Key` (the outbox id, the same on every attempt).
//! A 2xx answer is a delivery; anything else, or no answer within
//! [`TIMEOUT`], is a failure to retry. Redirects are not followed and no
//! proxy is used; the request connects only to the addresses
//! [`ssrf::resolve`] vetted.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::ssrf::{self, SsrfError};
use super::WebhookMessage;
use crate::settings::Settings;

/// How long one attempt may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(10);

const USER_AGENT: &str = concat!("Keel-Webhook/", env!("CARGO_PKG_VERSION"));

/// Why a webhook attempt failed. The texts are short and hold no secret,
/// body or address: they are logged and stored as `last_error`.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("refused: {0}")]
    Refused(#[from] SsrfError),
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("timed out after {}s", TIMEOUT.as_secs())]
    Timeout,
    #[error("cannot connect to the receiver")]
    Connect,
    #[error("the request failed")]
    Request,
    #[error("the receiver answered {0}")]
    Status(u16),
}

impl WebhookError {
    /// Whether trying again cannot help: the URL is refused by policy.
    /// (A name that does not resolve may resolve later: retried.)
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            Self::Refused(SsrfError::InvalidUrl(_) | SsrfError::NonPublicAddress(_))
        )
    }
}

/// `sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One attempt at delivering `message`, whose outbox id is `id`.
pub async fn deliver(message: &WebhookMessage, id: Uuid, settings: &Settings) -> Result<(), WebhookError> {
    let url = ssrf::validate_webhook_url(&message.url, settings).map_err(SsrfError::InvalidUrl)?;
    let addresses = ssrf::resolve(&url, settings.outbox.webhook_allow_private).await?;
    let mut client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(USER_AGENT);
    if let Some(url::Host::Domain(domain)) = url.host() {
        client = client.resolve_to_addrs(domain, &addresses);
    }
    let client = client.build().map_err(WebhookError::Client)?;
    let body = message.payload.to_string();
    let timestamp = chrono::Utc::now().timestamp();
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-keel-event", &message.event)
        .header("x-keel-timestamp", timestamp.to_string())
        .header("x-keel-signature", signature(&message.secret, timestamp, &body))
        .header("x-keel-idempotency-key", id.to_string())
        .body(body)
        .send()
        .await
        .map_err(|err| classify(&err))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(WebhookError::Status(status.as_u16()))
    }
}

fn classify(err: &reqwest::Error) -> WebhookError {
    if err.is_timeout() {
        WebhookError::Timeout
    } else if err.is_connect() {
        WebhookError::Connect
    } else {
        WebhookError::Request
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_dot_body() {
        // HMAC-SHA256("secret", "1700000000.{}"), computed independently.
        let expected = {
            let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
            mac.update(b"1700000000.{}");
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        };
        assert_eq!(signature("secret", 1_700_000_000, "{}"), expected);
        assert_ne!(signature("other", 1_700_000_000, "{}"), expected, "the key matters");
        assert_ne!(
            signature("secret", 1_700_000_001, "{}"),
            expected,
            "the timestamp matters"
        );
    }
}
