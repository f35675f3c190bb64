//! The media side: every object of the store, spooled to disk one at a
//! time on the way out (memory stays bounded whatever the sizes), and
//! streamed from the archive into the store on the way back.

use std::io::{Read, Seek, Write};

use bytes::Bytes;
use futures_util::StreamExt;

use super::BackupError;
use crate::storage::{MediaStore, ObjectKey, StorageError};

/// The folder of media entries in an archive.
pub const PREFIX: &str = "media/";
/// Bytes per chunk when streaming an entry into the store.
const CHUNK: usize = 256 * 1024;

/// Copies object `key` into `spool` (emptied first); its size, or `None`
/// when it was deleted since it was listed.
pub async fn spool(store: &MediaStore, key: &str, spool: &mut std::fs::File) -> Result<Option<u64>, BackupError> {
    let key =
        ObjectKey::parse(key).ok_or_else(|| BackupError::Corrupt(format!("the store holds an odd key {key:?}")))?;
    spool.set_len(0).map_err(BackupError::spool)?;
    spool.rewind().map_err(BackupError::spool)?;
    let mut object = match store.get(&key, None).await {
        Ok(object) => object,
        Err(StorageError::NotFound(_)) => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    let mut size = 0;
    while let Some(chunk) = object.stream.next().await {
        let chunk = chunk?;
        spool.write_all(&chunk).map_err(BackupError::spool)?;
        size += chunk.len() as u64;
    }
    Ok(Some(size))
}

/// Streams `reader` (an archive entry) into `key` of the store, through
/// a spool file (an entry cannot cross threads; the store's upload does).
pub async fn put(store: &MediaStore, key: &ObjectKey, reader: &mut dyn Read) -> Result<u64, BackupError> {
    let mut file = tempfile::tempfile().map_err(BackupError::spool)?;
    std::io::copy(reader, &mut file).map_err(BackupError::truncated)?;
    file.rewind().map_err(BackupError::spool)?;
    let chunks = futures_util::stream::iter(std::iter::from_fn(move || {
        let mut buf = vec![0; CHUNK];
        match file.read(&mut buf) {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some(Ok::<_, std::io::Error>(Bytes::from(buf)))
            }
            Err(err) => Some(Err(err)),
        }
    }));
    Ok(store.put_stream(key, chunks, u64::MAX).await?)
}

/// The bytes of object `key` copied to a temporary file (to put back if
/// the restore that replaces it fails).
pub async fn set_aside(store: &MediaStore, key: &ObjectKey) -> Result<std::fs::File, BackupError> {
    let mut file = tempfile::tempfile().map_err(BackupError::spool)?;
    spool(store, key.as_str(), &mut file).await?;
    file.rewind().map_err(BackupError::spool)?;
    Ok(file)
}

/// The sha256 of object `key` when the store holds it.
pub async fn digest(store: &MediaStore, key: &ObjectKey) -> Result<Option<String>, BackupError> {
    use sha2::Digest;
    let mut object = match store.get(key, None).await {
        Ok(object) => object,
        Err(StorageError::NotFound(_)) => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    let mut hash = sha2::Sha256::new();
    while let Some(chunk) = object.stream.next().await {
        hash.update(chunk?);
    }
    Ok(Some(hex::encode(hash.finalize())))
}
