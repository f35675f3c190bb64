//! The per-process memory backend: moka with a time to live per entry and
//! a size bound in bytes, so a busy process cannot grow without limit.
//!
//! An entry weighs its key, its value and [`ENTRY_OVERHEAD`] (moka's node,
//! the key's `String`, the `Bytes` handle, the expiry bookkeeping), so many
//! small entries are bounded as surely as a few large ones. The values are
//! exact-size allocations where Keel makes them (see `versioned`), so the
//! weight is what the heap holds.

use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::future::Cache;
use moka::ops::compute::{CompResult, Op};
use moka::Expiry;

/// Upper bound of the memory cache, in bytes of keys, values and overhead.
pub(super) const CAPACITY_BYTES: u64 = 64 << 20;
/// What one entry costs besides its key and value bytes (an estimate on
/// the high side of moka's per-entry structures).
pub(super) const ENTRY_OVERHEAD: usize = 256;

fn weigh(key: &str, entry: &Entry) -> u32 {
    u32::try_from(key.len() + entry.value.len() + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
}

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
            .weigher(|key: &String, entry: &Entry| weigh(key, entry))
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
                        Op::Put(Entry { value, ttl: entry.ttl })
                    }
                    None => Op::Nop,
                };
                std::future::ready(op)
            })
            .await;
    }

    /// Stores `value` unless the entry holds one at least as new (by
    /// `super::versioned::supersedes`); whether it was stored. Atomic:
    /// moka runs compute operations on one key one at a time.
    pub(super) async fn set_if_newer(&self, key: String, value: Bytes, ttl: Duration) -> bool {
        let result = self
            .inner
            .entry(key)
            .and_compute_with(|existing| {
                let newer = existing.is_none_or(|e| super::versioned::supersedes(&value, &e.value().value));
                std::future::ready(if newer { Op::Put(Entry { value, ttl }) } else { Op::Nop })
            })
            .await;
        matches!(result, CompResult::Inserted(_) | CompResult::ReplacedWith(_))
    }

    /// The weight held now, after pending evictions (for tests and checks).
    #[cfg(test)]
    pub(super) async fn weighted_size(&self) -> u64 {
        self.inner.run_pending_tasks().await;
        self.inner.weighted_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 45 entries of ~1.8 MB (the adversary's forms) and 100,000 small ones
    /// stay within the byte bound, overhead included.
    #[tokio::test]
    async fn the_memory_cache_stays_within_its_byte_bound() {
        let cache = MemoryCache::new();
        let ttl = Duration::from_secs(60);
        for i in 0..45 {
            cache
                .set(format!("big{i}"), Bytes::from(vec![b'x'; 1_800_000]), ttl)
                .await;
        }
        for i in 0..100_000 {
            cache.set(format!("small{i}"), Bytes::from_static(b"1"), ttl).await;
        }
        let held = cache.weighted_size().await;
        assert!(held <= CAPACITY_BYTES, "{held} bytes held, bound {CAPACITY_BYTES}");
        assert!(held > CAPACITY_BYTES / 2, "the cache is used: {held}");
    }
}
