//! The cache interface, the same tests on the memory backend and on Redis.

use std::time::{Duration, Instant};

use keel::cache::Cache;
use keel::settings::{CacheBackendKind, CacheSettings};
use secrecy::SecretString;

/// A fresh namespace per test, so tests sharing one Redis never meet.
fn settings(backend: CacheBackendKind, version: u32) -> CacheSettings {
    CacheSettings {
        backend,
        key_prefix: format!("keeltest-{}", uuid_like()),
        version,
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        Instant::now().elapsed().as_nanos()
    )
}

async fn backends() -> Vec<CacheBackendKind> {
    let mut all = vec![CacheBackendKind::Memory];
    if let Some(url) = keel_testkit::redis_url().await {
        all.push(CacheBackendKind::Redis(SecretString::from(url)));
    }
    all
}

#[tokio::test]
async fn set_get_and_delete_round_trip_on_every_backend() {
    for backend in backends().await {
        let cache = Cache::connect(&settings(backend, 1)).unwrap();
        let name = cache.backend_name();
        assert_eq!(cache.get("k").await.unwrap(), None, "{name}: a missing key is a miss");
        cache.set("k", b"v1".to_vec(), Duration::from_secs(60)).await.unwrap();
        assert_eq!(cache.get("k").await.unwrap().as_deref(), Some(&b"v1"[..]), "{name}");
        cache.set("k", b"v2".to_vec(), Duration::from_secs(60)).await.unwrap();
        assert_eq!(
            cache.get("k").await.unwrap().as_deref(),
            Some(&b"v2"[..]),
            "{name}: set overwrites"
        );
        cache.delete("k").await.unwrap();
        assert_eq!(cache.get("k").await.unwrap(), None, "{name}: deleted");
        cache.delete("never-set").await.unwrap();

        cache
            .set_json("j", &serde_json::json!({"a": [1, 2]}), Duration::from_secs(60))
            .await
            .unwrap();
        let back: serde_json::Value = cache.get_json("j").await.unwrap().unwrap();
        assert_eq!(back["a"][1], 2, "{name}: JSON round trip");
    }
}

#[tokio::test]
async fn entries_expire_after_their_time_to_live() {
    for backend in backends().await {
        let cache = Cache::connect(&settings(backend, 1)).unwrap();
        let name = cache.backend_name();
        cache
            .set("short", b"x".to_vec(), Duration::from_millis(150))
            .await
            .unwrap();
        cache.set("long", b"y".to_vec(), Duration::from_secs(60)).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while cache.get("short").await.unwrap().is_some() {
            assert!(Instant::now() < deadline, "{name}: the short entry expires");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(
            cache.get("long").await.unwrap().is_some(),
            "{name}: the long entry stays"
        );
    }
}

#[tokio::test]
async fn prefix_and_version_separate_namespaces() {
    for backend in backends().await {
        let v1 = settings(backend.clone(), 1);
        let mut v2 = v1.clone();
        v2.version = 2;
        let mut other = v1.clone();
        other.key_prefix.push_str("-other");
        let (a, b, c) = (
            Cache::connect(&v1).unwrap(),
            Cache::connect(&v2).unwrap(),
            Cache::connect(&other).unwrap(),
        );
        a.set("shared", b"a".to_vec(), Duration::from_secs(60)).await.unwrap();
        if a.is_shared() {
            // Two handles on one Redis with the same namespace see each other.
            let a2 = Cache::connect(&v1).unwrap();
            assert_eq!(a2.get("shared").await.unwrap().as_deref(), Some(&b"a"[..]));
        }
        assert_eq!(b.get("shared").await.unwrap(), None, "a new version drops every value");
        assert_eq!(c.get("shared").await.unwrap(), None, "another prefix is another site");
    }
}

#[tokio::test]
async fn an_unreachable_redis_is_a_quick_error_not_a_hang() {
    let cache = Cache::connect(&settings(
        CacheBackendKind::Redis(SecretString::from("redis://127.0.0.1:1".to_owned())),
        1,
    ))
    .unwrap();
    let started = Instant::now();
    assert!(cache.get("k").await.is_err());
    assert!(cache.ping().await.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

/// `get_shared` decodes an entry once per process and shares it, yet always
/// answers what the cache holds now: a changed or deleted entry is seen at
/// once, another instance's write included (Redis), and a value of another
/// type under the same bytes is decoded for that type.
#[tokio::test]
async fn shared_values_are_decoded_once_and_follow_the_cache() {
    for backend in backends().await {
        let settings = settings(backend, 1);
        let cache = Cache::connect(&settings).unwrap();
        let name = cache.backend_name();
        let ttl = Duration::from_secs(60);
        assert!(
            cache.get_shared::<Vec<u32>>("s").await.unwrap().is_none(),
            "{name}: a miss"
        );
        cache.set_json("s", &vec![1_u32, 2], ttl).await.unwrap();
        let first = cache.get_shared::<Vec<u32>>("s").await.unwrap().unwrap();
        let second = cache.get_shared::<Vec<u32>>("s").await.unwrap().unwrap();
        assert_eq!(*first, vec![1, 2], "{name}");
        assert!(std::sync::Arc::ptr_eq(&first, &second), "{name}: decoded once, shared");
        let as_values = cache.get_shared::<Vec<serde_json::Value>>("s").await.unwrap().unwrap();
        assert_eq!(as_values[1], 2, "{name}: another type decodes on its own");

        // Another handle on the same cache (another instance, for Redis).
        let other = if cache.is_shared() {
            Cache::connect(&settings).unwrap()
        } else {
            cache.clone()
        };
        other.set_json("s", &vec![3_u32], ttl).await.unwrap();
        let changed = cache.get_shared::<Vec<u32>>("s").await.unwrap().unwrap();
        assert_eq!(*changed, vec![3], "{name}: a changed entry is seen at once");
        other.delete("s").await.unwrap();
        assert!(
            cache.get_shared::<Vec<u32>>("s").await.unwrap().is_none(),
            "{name}: deleted"
        );
        cache.set("bad", b"not json".to_vec(), ttl).await.unwrap();
        assert!(
            cache.get_shared::<Vec<u32>>("bad").await.is_err(),
            "{name}: corrupt is an error"
        );
    }
}
