//! Request size limits and the outbox's delivery rules.

use super::catalog as c;
use super::error::SettingsError;
use super::parse;
use super::reader::Reader;

/// Request size limits.
#[derive(Debug, Clone, Copy)]
pub struct LimitSettings {
    pub max_upload_bytes: u64,
    pub max_body_bytes: u64,
}

/// The outbox: durable emails and webhooks.
#[derive(Debug, Clone, Copy)]
pub struct OutboxSettings {
    pub max_attempts: u32,
    pub webhook_allow_private: bool,
}

pub(super) fn limits(r: &Reader<'_>) -> Result<LimitSettings, SettingsError> {
    Ok(LimitSettings {
        max_upload_bytes: r.get(c::MAX_UPLOAD_BYTES, parse::byte_size)?,
        max_body_bytes: r.get(c::MAX_BODY_BYTES, parse::byte_size)?,
    })
}

pub(super) fn outbox(r: &Reader<'_>) -> Result<OutboxSettings, SettingsError> {
    Ok(OutboxSettings {
        max_attempts: r.get(c::OUTBOX_MAX_ATTEMPTS, |s| parse::integer(s, 1, 100))? as u32,
        webhook_allow_private: r.boolean(c::WEBHOOK_ALLOW_PRIVATE)?,
    })
}
