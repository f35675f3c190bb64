//! The server process's section: timeouts, caps and the metrics listener.

use std::net::SocketAddr;
use std::time::Duration;

use super::catalog as c;
use super::error::SettingsError;
use super::parse;
use super::reader::Reader;

/// The server process.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub metrics_bind: Option<SocketAddr>,
    pub shutdown_timeout: Duration,
    pub request_timeout: Duration,
    /// The timeout of requests with a multipart body (file uploads).
    pub upload_timeout: Duration,
    /// How long a non-upload request body may take to arrive (408).
    pub body_read_timeout: Duration,
    /// How long a request head may take, from its first byte or the accept.
    pub header_read_timeout: Duration,
    /// How long an idle keep-alive connection stays open.
    pub keepalive_timeout: Duration,
    /// The largest request head (431 above it).
    pub max_header_bytes: usize,
    /// Open connections at most; `None`: from the file-descriptor limit.
    pub max_connections: Option<usize>,
    /// Requests handled at once; above it they are shed (503).
    pub max_concurrent_requests: usize,
}

impl ServerSettings {
    /// `KEEL_MAX_CONNECTIONS`, with `auto` resolved: three quarters of the
    /// process's file-descriptor limit (raised to its hard limit first), the
    /// rest left for the database, the cache, logs and media.
    pub fn max_connections(&self) -> usize {
        self.max_connections.unwrap_or_else(|| {
            let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
            usize::try_from(limit / 4 * 3).unwrap_or(usize::MAX).max(16)
        })
    }
}

pub(super) fn read(r: &Reader<'_>) -> Result<ServerSettings, SettingsError> {
    let max_connections = r.get(c::MAX_CONNECTIONS, |s| match s.trim() {
        "auto" => Ok(None),
        other => parse::integer(other, 1, 1_000_000).map(|n| Some(n as usize)),
    })?;
    Ok(ServerSettings {
        metrics_bind: r.optional(c::METRICS_BIND, parse::socket_addr)?,
        shutdown_timeout: r.seconds(c::SHUTDOWN_TIMEOUT)?,
        request_timeout: r.positive_seconds(c::REQUEST_TIMEOUT)?,
        upload_timeout: r.positive_seconds(c::UPLOAD_TIMEOUT)?,
        body_read_timeout: r.positive_seconds(c::BODY_READ_TIMEOUT)?,
        header_read_timeout: r.positive_seconds(c::HEADER_READ_TIMEOUT)?,
        keepalive_timeout: r.positive_seconds(c::KEEPALIVE_TIMEOUT)?,
        max_header_bytes: r.get(c::MAX_HEADER_BYTES, |s| {
            let n = parse::byte_size(s)?;
            if !(1024..=16 << 20).contains(&n) {
                return Err("must be between 1KiB and 16MiB".to_owned());
            }
            Ok(n as usize)
        })?,
        max_connections,
        max_concurrent_requests: r.get(c::MAX_CONCURRENT_REQUESTS, |s| parse::integer(s, 1, 1_000_000))? as usize,
    })
}
