//! The Redis backend: one multiplexed connection per process, made on first
//! use and remade after a failure, with short timeouts so an outage turns
//! into quick errors (which callers treat as misses) instead of hung
//! requests.

use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;

use super::CacheError;

/// A cache that answers slower than this is treated as down.
/// (A healthy Redis answers in well under a millisecond; the breaker makes
/// only the first call of an outage wait this long.)
const OP_TIMEOUT: Duration = Duration::from_millis(250);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(250);

/// `SET key value PX ttl` unless the stored value's version header (its
/// first `HEADER_LEN` bytes, all digits) is at least the new one's;
/// equal-length digit strings compare as numbers do.
const SET_IF_NEWER: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur then
  local held = string.sub(cur, 1, 21)
  if #held == 21 and string.find(held, '^%d+$') and held >= string.sub(ARGV[1], 1, 21) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
";

#[derive(Clone)]
pub(super) struct RedisCache {
    conn: ConnectionManager,
}

fn unavailable(err: impl std::fmt::Display) -> CacheError {
    CacheError::Unavailable(err.to_string())
}

impl RedisCache {
    pub(super) fn new(url: &str) -> Result<Self, CacheError> {
        let client = redis::Client::open(url).map_err(|e| CacheError::Config(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let conn =
            ConnectionManager::new_lazy_with_config(client, config).map_err(|e| CacheError::Config(e.to_string()))?;
        Ok(Self { conn })
    }

    async fn timed<T>(&self, op: impl std::future::Future<Output = redis::RedisResult<T>>) -> Result<T, CacheError> {
        match tokio::time::timeout(OP_TIMEOUT, op).await {
            Ok(result) => result.map_err(unavailable),
            Err(_) => Err(unavailable("timed out")),
        }
    }

    pub(super) async fn get(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        let mut conn = self.conn.clone();
        let value: Option<Vec<u8>> = self.timed(conn.get(key)).await?;
        Ok(value.map(Bytes::from))
    }

    pub(super) async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let _: () = self
            .timed(
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("PX")
                    .arg(millis)
                    .query_async(&mut conn),
            )
            .await?;
        Ok(())
    }

    pub(super) async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, CacheError> {
        let mut conn = self.conn.clone();
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        // SET NX gives a new counter its lifetime; INCR keeps it.
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(key)
            .arg(0)
            .arg("PX")
            .arg(millis)
            .arg("NX")
            .ignore()
            .cmd("INCR")
            .arg(key);
        let (count,): (u64,) = self.timed(pipe.query_async(&mut conn)).await?;
        Ok(count)
    }

    pub(super) async fn decr(&self, key: &str) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        // Only an existing, positive counter goes down: a DECR on a missing
        // key would make a counter with no lifetime.
        let script = redis::Script::new(
            "if (tonumber(redis.call('GET', KEYS[1]) or '0') > 0) then return redis.call('DECR', KEYS[1]) end return 0",
        );
        let _: i64 = self.timed(script.key(key).invoke_async(&mut conn)).await?;
        Ok(())
    }

    pub(super) async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let _: i64 = self.timed(conn.del(key)).await?;
        Ok(())
    }

    /// Stores `value` unless the key holds one at least as new: the
    /// comparison of `super::versioned::supersedes`, in one script, so no
    /// other writer can come between the read and the write.
    pub(super) async fn set_if_newer(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, CacheError> {
        let mut conn = self.conn.clone();
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        // EVAL, not EVALSHA: writes are rare (a miss), and the script is short.
        let eval = redis::cmd("EVAL")
            .arg(SET_IF_NEWER)
            .arg(1)
            .arg(key)
            .arg(value)
            .arg(millis)
            .to_owned();
        let stored: i64 = self.timed(eval.query_async(&mut conn)).await?;
        Ok(stored == 1)
    }

    pub(super) async fn ping(&self) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let _: String = self.timed(redis::cmd("PING").query_async(&mut conn)).await?;
        Ok(())
    }
}
