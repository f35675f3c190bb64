//! The durable outbox: side effects (emails, webhooks) written in the same
//! transaction as the data they are about, and delivered afterwards by a
//! [`Worker`] with retries, so a committed row always gets its side effects
//! and a rolled-back one never does (ARCHITECTURE principle 6).
//!
//! - [`enqueue`] — inserts a message in the caller's transaction
//! - [`store`] — the only SQL about the `keel_outbox` table: insert, claim
//!   with a lease, record outcomes
//! - [`worker`] — claims due messages and delivers them; many instances may
//!   run at once (`FOR UPDATE SKIP LOCKED` on PostgreSQL)
//! - [`backoff`] — when a failed message is tried again
//! - [`mail`] — email through lettre: SMTP, console or file backend
//! - [`webhook`] — signed JSON POSTs
//! - [`ssrf`] — which webhook URLs and addresses may be reached
//! - [`checks`] — unusable mail settings, the SSRF guard off in prod
//!
//! Delivery is at least once: a worker that dies between delivering and
//! recording leaves the message to be delivered again after its lease
//! expires. Every delivery of one message carries the same idempotency key
//! (the message id), so receivers can drop repeats.
//!
//! This module knows nothing about forms: the application decides what to
//! send and to whom.

pub mod backoff;
pub mod checks;
pub mod mail;
pub mod ssrf;
pub mod store;
pub mod webhook;
pub mod worker;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::{DbError, Tx};

pub use ssrf::validate_webhook_url;
pub use worker::{wake_workers, Worker, WorkerConfig, WorkerHandle};

/// A side effect to deliver after the transaction commits.
#[derive(Debug, Clone, PartialEq)]
pub enum OutboxMessage {
    Email(EmailMessage),
    Webhook(WebhookMessage),
}

/// A plain-text email from `KEEL_DEFAULT_FROM_EMAIL`, or from `from` when
/// set (error reports come from `KEEL_SERVER_EMAIL`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMessage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Addresses, each `addr` or `Name <addr>`.
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
}

/// A JSON POST to `url`, signed with `secret`. The body is `payload` as it
/// is; the event name, the timestamp and the idempotency key travel in
/// headers.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookMessage {
    pub url: String,
    pub secret: String,
    pub event: String,
    pub payload: serde_json::Value,
}

impl std::fmt::Debug for WebhookMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookMessage")
            .field("url", &self.url)
            .field("secret", &"********")
            .field("event", &self.event)
            .finish_non_exhaustive()
    }
}

impl OutboxMessage {
    /// The `kind` column: what the payload decodes as.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Email(_) => store::KIND_EMAIL,
            Self::Webhook(_) => store::KIND_WEBHOOK,
        }
    }

    fn payload(&self) -> Result<String, serde_json::Error> {
        match self {
            Self::Email(message) => serde_json::to_string(message),
            Self::Webhook(message) => serde_json::to_string(message),
        }
    }

    /// The message a stored row holds; an unknown kind or a payload that
    /// does not decode is an error (the row is dead-lettered).
    pub fn decode(kind: &str, payload: &str) -> Result<Self, String> {
        let invalid = |err: serde_json::Error| format!("the stored {kind} payload does not decode: {err}");
        match kind {
            store::KIND_EMAIL => serde_json::from_str(payload).map(Self::Email).map_err(invalid),
            store::KIND_WEBHOOK => serde_json::from_str(payload).map(Self::Webhook).map_err(invalid),
            other => Err(format!("unknown outbox kind {other:?}")),
        }
    }
}

/// Inserts the message in the caller's transaction; returns its id, which
/// is also the idempotency key. It is delivered once the transaction
/// commits, and never if it rolls back. Call [`wake_workers`] after the
/// commit to have it sent at once rather than at the next poll.
pub async fn enqueue(tx: &mut Tx, message: &OutboxMessage) -> Result<Uuid, DbError> {
    let payload = message
        .payload()
        .map_err(|err| DbError::Query(sqlx::Error::Encode(Box::new(err))))?;
    let id = Uuid::now_v7();
    store::insert(tx, id, message.kind(), &payload, now_ms()).await?;
    Ok(id)
}

/// Now, in unix milliseconds: the outbox's unit of time.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
