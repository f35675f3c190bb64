//! The store on a local folder: streamed puts of both sizes, limits and
//! broken streams that leave nothing, prefixes.

use std::path::Path as FsPath;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use futures_util::StreamExt;

use super::*;

fn store(dir: &FsPath) -> MediaStore {
    let mut settings = crate::Settings::for_test(dir);
    settings.files.media_storage = MediaStorage::File {
        root: dir.join("media"),
    };
    MediaStore::from_settings(&settings.files).expect("a local store")
}

fn key(raw: &str) -> ObjectKey {
    ObjectKey::parse(raw).expect("a valid key")
}

/// `total` bytes in chunks of 64 KiB, as a request body arrives.
fn body(total: usize) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let chunk = Bytes::from(vec![7_u8; 64 * 1024]);
    let mut left = total;
    stream::iter(std::iter::from_fn(move || {
        let n = left.min(chunk.len());
        left -= n;
        (n > 0).then(|| Ok(chunk.slice(..n)))
    }))
}

/// Files under the media folder, staging files included.
fn files_on_disk(dir: &FsPath) -> usize {
    fn walk(path: &FsPath) -> usize {
        std::fs::read_dir(path).map_or(0, |entries| {
            entries
                .flatten()
                .map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 })
                .sum()
        })
    }
    walk(&dir.join("media"))
}

#[test]
fn keys_refuse_anything_that_could_leave_their_folder() {
    let cases = [
        ("forms/1/2/3", true, "ids"),
        ("a-b_c.d", true, "one segment"),
        ("../etc/passwd", false, "a parent segment"),
        ("a//b", false, "an empty segment"),
        ("/a", false, "absolute"),
        ("a/./b", false, "a dot segment"),
        ("a b", false, "a space"),
        ("a%2fb", false, "an escape"),
    ];
    for (raw, ok, why) in cases {
        assert_eq!(ObjectKey::parse(raw).is_some(), ok, "{why}");
    }
}

#[tokio::test]
async fn small_and_large_uploads_are_stored_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    for (name, size) in [("small", 1000), ("large", 11 * 1024 * 1024 + 5)] {
        let k = key(&format!("t/{name}"));
        let written = store.put_stream(&k, body(size), 64 * 1024 * 1024).await.unwrap();
        assert_eq!(written, size as u64, "{name}");
        assert_eq!(store.head(&k).await.unwrap().size, size as u64, "{name}");
        let part = store.get(&k, Some(10..20)).await.unwrap();
        let bytes: Vec<Bytes> = part.stream.map(Result::unwrap).collect().await;
        assert_eq!(bytes.concat(), vec![7_u8; 10], "{name}");
    }
    assert_eq!(store.list(&key("t")).await.unwrap().len(), 2);
    assert_eq!(store.delete_prefix(&key("t")).await.unwrap(), 2);
    assert!(store.list(&key("t")).await.unwrap().is_empty());
    assert_eq!(files_on_disk(dir.path()), 0, "empty folders are cleaned up too");
}

#[tokio::test]
async fn limits_and_broken_streams_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    for size in [100_000, 7 * 1024 * 1024] {
        let err = store.put_stream(&key("t/big"), body(size), 50_000).await.unwrap_err();
        assert!(matches!(err, StorageError::TooLarge { limit: 50_000 }), "{err}");
        let broken = body(size).chain(stream::iter([Err(std::io::Error::other("reset"))]));
        let err = store.put_stream(&key("t/broken"), broken, u64::MAX).await.unwrap_err();
        assert!(matches!(err, StorageError::Interrupted(_)), "{err}");
    }
    assert!(store.list(&key("t")).await.unwrap().is_empty());
    assert_eq!(files_on_disk(dir.path()), 0, "no staging file either");
}

#[tokio::test]
async fn a_dropped_upload_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    // 6 MiB arrive, then the body hangs: the multipart upload has begun.
    let hanging = body(6 * 1024 * 1024).chain(stream::pending());
    let dropped = key("t/dropped");
    let upload = store.put_stream(&dropped, hanging, u64::MAX);
    assert!(tokio::time::timeout(Duration::from_millis(500), upload).await.is_err());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while files_on_disk(dir.path()) > 0 {
        assert!(std::time::Instant::now() < deadline, "the staging file was not removed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(store.list(&key("t")).await.unwrap().is_empty());
}
