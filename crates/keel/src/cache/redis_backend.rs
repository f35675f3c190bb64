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

    pub(super) async fn ping(&self) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let _: String = self.timed(redis::cmd("PING").query_async(&mut conn)).await?;
        Ok(())
    }
}
