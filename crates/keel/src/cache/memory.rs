//! The per-process memory backend: moka with a time to live per entry and
//! a size bound in bytes, so a busy process cannot grow without limit.

use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::future::Cache;
use moka::Expiry;

/// Upper bound of the memory cache, in bytes of values.
const CAPACITY_BYTES: u64 = 64 << 20;

#[derive(Clone)]
struct Entry {
    value: Bytes,
    ttl: Duration,
}

struct PerEntryTtl;

impl Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _key: &String, entry: &Entry, _now: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &String,
        entry: &Entry,
        _now: Instant,
        _left: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

#[derive(Clone)]
pub(super) struct MemoryCache {
    inner: Cache<String, Entry>,
}

impl MemoryCache {
    pub(super) fn new() -> Self {
        let inner = Cache::builder()
            .max_capacity(CAPACITY_BYTES)
            .weigher(|key: &String, entry: &Entry| u32::try_from(key.len() + entry.value.len()).unwrap_or(u32::MAX))
            .expire_after(PerEntryTtl)
            .build();
        Self { inner }
    }

    pub(super) async fn get(&self, key: &str) -> Option<Bytes> {
        self.inner.get(key).await.map(|entry| entry.value)
    }

    pub(super) async fn set(&self, key: String, value: Bytes, ttl: Duration) {
        self.inner.insert(key, Entry { value, ttl }).await;
    }

    pub(super) async fn incr(&self, key: String, ttl: Duration) -> u64 {
        let entry = self
            .inner
            .entry(key)
            .and_upsert_with(|existing| {
                let count = existing
                    .and_then(|e| std::str::from_utf8(&e.into_value().value).ok()?.parse::<u64>().ok())
                    .unwrap_or(0)
                    + 1;
                std::future::ready(Entry {
                    value: Bytes::from(count.to_string()),
                    ttl,
                })
            })
            .await;
        std::str::from_utf8(&entry.into_value().value)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1)
    }

    pub(super) async fn delete(&self, key: &str) {
        self.inner.invalidate(key).await;
    }

    pub(super) async fn decr(&self, key: &str) {
        self.inner
            .entry(key.to_owned())
            .and_compute_with(|existing| {
                let op = match existing.map(moka::Entry::into_value) {
                    Some(entry) => {
                        let count = std::str::from_utf8(&entry.value)
                            .ok()
                            .and_then(|s| s.parse::<u64>().ok())
                            .unwrap_or(0);
                        let value = Bytes::from(count.saturating_sub(1).to_string());
                        moka::ops::compute::Op::Put(Entry { value, ttl: entry.ttl })
                    }
                    None => moka::ops::compute::Op::Nop,
                };
                std::future::ready(op)
            })
            .await;
    }
}
