//! Versioned entries: a value stored with the version of what it was made
//! from (a row's version column, say), so that an older value can never
//! replace a newer one, whatever order writers arrive in.
//!
//! A reader that missed reads the source and writes back what it read; if
//! the source changed meanwhile and its writer already invalidated the
//! entry, a plain `set` would put the old value back for the whole time to
//! live. Here the writer of a change leaves a *mark* of the new version
//! ([`Cache::mark_version`]) instead of deleting, and every write is a
//! compare-and-set ([`Cache::set_if_newer`]): atomic in one Lua script on
//! Redis, in moka's per-key compute on the memory cache.
//!
//! The stored bytes are a header, 20 decimal digits of the version and one
//! byte (`0` a mark, `1` a value), then the value: headers compare as byte
//! strings exactly as (version, is a value) compare, so a value replaces
//! the mark of its own version but a mark never replaces that value. The
//! guard lasts as long as the mark: a mark that expires or is evicted
//! before a stale writer arrives no longer stops it, which is why callers
//! that must never act on a stale value also check the version at the
//! source (the forms app does, in the statement that stores a response).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::{Backend, Cache, CacheError, HeapSize};

/// The version's digits and the kind byte.
pub(super) const HEADER_LEN: usize = 21;

fn encode(version: u64, value: Option<&[u8]>) -> Bytes {
    let body = value.unwrap_or_default();
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
    bytes.extend_from_slice(format!("{version:020}{}", u8::from(value.is_some())).as_bytes());
    bytes.extend_from_slice(body);
    // Exact capacity: the memory cache's weight is what the heap holds.
    Bytes::from(bytes)
}

fn header(bytes: &[u8]) -> Option<&[u8]> {
    let head = bytes.get(..HEADER_LEN)?;
    head.iter().all(u8::is_ascii_digit).then_some(head)
}

/// Whether `candidate` may replace `held`: its header is greater, or what
/// is held has none (a value written before versioning).
pub(super) fn supersedes(candidate: &[u8], held: &[u8]) -> bool {
    match (header(candidate), header(held)) {
        (Some(new), Some(old)) => new > old,
        (_, None) => true,
        (None, Some(_)) => false,
    }
}

impl Cache {
    /// Stores `value` at `key` as of `version`, unless the key holds a
    /// value of that version or newer, or a mark of a newer one. Whether it
    /// was stored.
    pub async fn set_if_newer(&self, key: &str, version: u64, value: &[u8], ttl: Duration) -> Result<bool, CacheError> {
        self.store_versioned(key, encode(version, Some(value)), ttl).await
    }

    /// Drops the value at `key` and refuses, for `ttl`, every value older
    /// than `version`: the invalidation after a change to version `version`.
    pub async fn mark_version(&self, key: &str, version: u64, ttl: Duration) -> Result<bool, CacheError> {
        self.store_versioned(key, encode(version, None), ttl).await
    }

    async fn store_versioned(&self, key: &str, bytes: Bytes, ttl: Duration) -> Result<bool, CacheError> {
        let key = self.key(key);
        match &*self.backend {
            Backend::Memory(m) => Ok(m.set_if_newer(key, bytes, ttl).await),
            Backend::Redis(r) => {
                let result = r.call(r.redis().set_if_newer(&key, &bytes, ttl)).await;
                // A mark that could not be written is an invalidation lost
                // to the outage: replayed (as a delete) when Redis is back.
                if result.as_ref().is_err_and(CacheError::is_outage) {
                    r.missed_delete(key);
                }
                result
            }
        }
    }

    /// The value at `key` and its version, decoded once per process (like
    /// [`get_shared`](Self::get_shared)); `None` for a miss or a mark.
    pub async fn get_versioned<T>(&self, key: &str) -> Result<Option<(u64, Arc<T>)>, CacheError>
    where
        T: DeserializeOwned + HeapSize + Send + Sync + 'static,
    {
        let Some(bytes) = self.get(key).await? else {
            return Ok(None);
        };
        let version = match header(&bytes) {
            Some(head) if head[HEADER_LEN - 1] == b'1' => std::str::from_utf8(&head[..HEADER_LEN - 1])
                .ok()
                .and_then(|digits| digits.parse::<u64>().ok()),
            _ => None,
        };
        let Some(version) = version else {
            return Ok(None);
        };
        Ok(Some((version, self.memo.decode::<T>(bytes, HEADER_LEN)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_order_versions_and_marks() {
        let v = |n, value: Option<&[u8]>| encode(n, value);
        let cases = [
            (
                v(2, Some(b"a")),
                v(1, Some(b"b")),
                true,
                "a newer value replaces an older one",
            ),
            (
                v(1, Some(b"a")),
                v(2, Some(b"b")),
                false,
                "an older value never replaces a newer one",
            ),
            (v(1, Some(b"a")), v(1, Some(b"b")), false, "the same version is kept"),
            (
                v(2, Some(b"a")),
                v(2, None),
                true,
                "a value replaces the mark of its version",
            ),
            (
                v(1, Some(b"a")),
                v(2, None),
                false,
                "an older value does not pass a newer mark",
            ),
            (
                v(2, None),
                v(2, Some(b"a")),
                false,
                "a mark does not drop the value of its version",
            ),
            (v(3, None), v(2, Some(b"a")), true, "a newer mark drops an older value"),
            (v(10, Some(b"a")), v(9, Some(b"b")), true, "versions compare as numbers"),
            (
                v(1, Some(b"a")),
                Bytes::from_static(b"{\"legacy\":1}"),
                true,
                "an unversioned value is replaced",
            ),
        ];
        for (candidate, held, replaces, why) in cases {
            assert_eq!(supersedes(&candidate, &held), replaces, "{why}");
        }
    }
}
