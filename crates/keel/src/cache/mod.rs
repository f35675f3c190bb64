//! The cache: one small interface, a per-process memory backend (moka) and a
//! shared Redis backend, chosen by `KEEL_CACHE_URL`.
//!
//! Every key is namespaced as `<prefix>:<version>:<key>` (Django's
//! `KEY_PREFIX` and `VERSION`), so sites can share one Redis and a version
//! bump drops every cached value at once. Values are bytes; `get_json` and
//! `set_json` are the typed convenience on top. The cache is an accelerator:
//! callers treat its errors as misses where they can.

mod breaker;
mod memory;
mod redis_backend;
mod versioned;
mod weigh;

use std::time::Duration;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::settings::{CacheBackendKind, CacheSettings};
pub use weigh::HeapSize;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("the cache is unreachable: {0}")]
    Unavailable(String),
    /// The cache is down and skipped until it answers again (see `breaker`).
    #[error("the cache is down and skipped for now")]
    Skipped,
    #[error("cache configuration: {0}")]
    Config(String),
    #[error("cached value is not valid: {0}")]
    Corrupt(#[from] serde_json::Error),
}

#[derive(Clone)]
enum Backend {
    Memory(memory::MemoryCache),
    Redis(std::sync::Arc<breaker::GuardedRedis>),
}

impl CacheError {
    /// Whether this is the cache being away (as opposed to a bad value):
    /// callers that fall back to something else need not log each one.
    pub fn is_outage(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Skipped)
    }
}

/// A handle on the configured cache. Cheap to clone: one atomic increment.
#[derive(Clone)]
pub struct Cache {
    backend: std::sync::Arc<Backend>,
    namespace: std::sync::Arc<str>,
    memo: Memo,
}

/// Values decoded from cached bytes, by their type and those bytes: a hot
/// entry is decoded once per process, not once per request. Keyed by the
/// bytes themselves (not the cache key), it can never serve a value other
/// than the one the cache holds: when the entry changes, so does the key.
///
/// Bounded by bytes: an entry weighs its key bytes (which it keeps alive
/// even after the cache dropped them), the decoded value's size and heap
/// ([`HeapSize`]) and a fixed overhead. Weighing only the JSON let decoded
/// values several times larger through.
#[derive(Clone)]
struct Memo(moka::sync::Cache<(std::any::TypeId, Bytes), Memoized>);

#[derive(Clone)]
struct Memoized {
    value: std::sync::Arc<dyn std::any::Any + Send + Sync>,
    weight: u32,
}

/// Upper bound of the decoded-value memo, in bytes (see [`Memo`]).
const MEMO_CAPACITY_BYTES: u64 = 16 << 20;
/// What one memo entry costs besides its bytes and value, on the high side.
const MEMO_ENTRY_OVERHEAD: usize = 256;

impl Memo {
    fn new() -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(MEMO_CAPACITY_BYTES)
                .weigher(|_, memoized: &Memoized| memoized.weight)
                // An entry no longer in the cache stops being asked for.
                .time_to_idle(Duration::from_secs(600))
                .build(),
        )
    }

    /// The value encoded in `bytes[skip..]`, decoded once while memoized.
    fn decode<T>(&self, bytes: Bytes, skip: usize) -> Result<std::sync::Arc<T>, CacheError>
    where
        T: DeserializeOwned + HeapSize + Send + Sync + 'static,
    {
        let key = (std::any::TypeId::of::<T>(), bytes);
        if let Some(hit) = self.0.get(&key) {
            if let Ok(value) = hit.value.downcast::<T>() {
                return Ok(value);
            }
        }
        let value = std::sync::Arc::new(serde_json::from_slice::<T>(key.1.get(skip..).unwrap_or_default())?);
        let weight = key.1.len() + std::mem::size_of::<T>() + value.heap_size() + MEMO_ENTRY_OVERHEAD;
        let memoized = Memoized {
            value: value.clone(),
            weight: u32::try_from(weight).unwrap_or(u32::MAX),
        };
        self.0.insert(key, memoized);
        Ok(value)
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("backend", &self.backend_name())
            .field("namespace", &self.namespace)
            .finish()
    }
}

thread_local! {
    /// `keel_cache_requests_total` by result, registered once per thread
    /// (a read is on every public form fetch).
    static READS: [metrics::Counter; 4] = ["hit", "miss", "skipped", "error"]
        .map(|result| metrics::counter!("keel_cache_requests_total", "result" => result));
}

impl Cache {
    /// Builds the backend; Redis connects on first use, so start-up does not
    /// wait for it and a Redis that comes up later is picked up.
    pub fn connect(settings: &CacheSettings) -> Result<Self, CacheError> {
        let backend = match &settings.backend {
            CacheBackendKind::Memory => Backend::Memory(memory::MemoryCache::new()),
            CacheBackendKind::Redis(url) => Backend::Redis(breaker::GuardedRedis::new(redis_backend::RedisCache::new(
                crate::settings::expose(url),
            )?)),
        };
        Ok(Self {
            backend: std::sync::Arc::new(backend),
            namespace: format!("{}:{}:", settings.key_prefix, settings.version).into(),
            memo: Memo::new(),
        })
    }

    pub fn backend_name(&self) -> &'static str {
        match *self.backend {
            Backend::Memory(_) => "memory",
            Backend::Redis(_) => "redis",
        }
    }

    /// Whether the cache is shared between processes.
    pub fn is_shared(&self) -> bool {
        matches!(*self.backend, Backend::Redis(_))
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.namespace)
    }

    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        let key = self.key(key);
        let result = match &*self.backend {
            Backend::Memory(m) => Ok(m.get(&key).await),
            Backend::Redis(r) => r.call(r.redis().get(&key)).await,
        };
        let outcome = match &result {
            Ok(Some(_)) => 0,
            Ok(None) => 1,
            Err(CacheError::Skipped) => 2,
            Err(_) => 3,
        };
        READS.with(|reads| reads[outcome].increment(1));
        result
    }

    /// Whether Redis's circuit breaker is open now (`None` for the memory
    /// cache, which has none).
    pub fn circuit_open(&self) -> Option<bool> {
        match &*self.backend {
            Backend::Memory(_) => None,
            Backend::Redis(r) => Some(r.is_open()),
        }
    }

    /// Stores `value` for `ttl`.
    pub async fn set(&self, key: &str, value: impl Into<Bytes>, ttl: Duration) -> Result<(), CacheError> {
        let key = self.key(key);
        let value = value.into();
        match &*self.backend {
            Backend::Memory(m) => {
                m.set(key, value, ttl).await;
                Ok(())
            }
            Backend::Redis(r) => r.call(r.redis().set(&key, &value, ttl)).await,
        }
    }

    /// Deletes `key`. A delete that cannot reach Redis is remembered and
    /// replayed when Redis is back, so an invalidation is never lost to an
    /// outage (within `breaker::MAX_MISSED_DELETES` keys).
    pub async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let key = self.key(key);
        match &*self.backend {
            Backend::Memory(m) => {
                m.delete(&key).await;
                Ok(())
            }
            Backend::Redis(r) => {
                let result = r.call(r.redis().delete(&key)).await;
                if result.as_ref().is_err_and(CacheError::is_outage) {
                    r.missed_delete(key);
                }
                result
            }
        }
    }

    /// Adds one to the counter at `key` (created at 0 with `ttl` when
    /// missing) and returns the new count. Atomic on both backends.
    pub async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, CacheError> {
        let key = self.key(key);
        match &*self.backend {
            Backend::Memory(m) => Ok(m.incr(key, ttl).await),
            Backend::Redis(r) => r.call(r.redis().incr(&key, ttl)).await,
        }
    }

    /// Takes one back from the counter at `key` (never below zero, never
    /// creating it).
    pub async fn decr(&self, key: &str) -> Result<(), CacheError> {
        let key = self.key(key);
        match &*self.backend {
            Backend::Memory(m) => {
                m.decr(&key).await;
                Ok(())
            }
            Backend::Redis(r) => r.call(r.redis().decr(&key)).await,
        }
    }

    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, CacheError> {
        match self.get(key).await? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Like [`get_json`](Self::get_json), for values read on every request:
    /// the decoded value is shared, and decoded only when the cached bytes
    /// are new to this process.
    pub async fn get_shared<T>(&self, key: &str) -> Result<Option<std::sync::Arc<T>>, CacheError>
    where
        T: DeserializeOwned + HeapSize + Send + Sync + 'static,
    {
        match self.get(key).await? {
            Some(bytes) => Ok(Some(self.memo.decode::<T>(bytes, 0)?)),
            None => Ok(None),
        }
    }

    pub async fn set_json<T: Serialize>(&self, key: &str, value: &T, ttl: Duration) -> Result<(), CacheError> {
        self.set(key, serde_json::to_vec(value)?, ttl).await
    }

    /// One round trip: the readiness probe. While the breaker is open this
    /// answers [`CacheError::Skipped`] without I/O.
    pub async fn ping(&self) -> Result<(), CacheError> {
        match &*self.backend {
            Backend::Memory(_) => Ok(()),
            Backend::Redis(r) => r.call(r.redis().ping()).await,
        }
    }
}
