//! Streaming one upload into the store with bounded memory.
//!
//! The request side only counts bytes and hands chunks over a small bounded
//! channel; a spawned writer task owns everything the store sees. A body
//! that fits in one chunk is written with one `put` (atomic on every
//! backend); a larger one goes up as a multipart upload of [`CHUNK`]-sized
//! parts, at most [`PARTS_IN_FLIGHT`] at a time. The writer keeps the object
//! only when the request side says the body ended cleanly *and* is still
//! there to hear that it was stored: a body that breaks off, goes over its
//! limit, or whose request future is dropped (client gone, timeout) aborts
//! the multipart upload or deletes the object, so nothing is left behind.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{Stream, StreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::sync::{mpsc, oneshot};

use super::{BoxError, StorageError};

/// The multipart part size: S3's smallest (all parts but the last).
const CHUNK: usize = 5 * 1024 * 1024;
/// Parts uploaded at once; memory is about `CHUNK * (PARTS_IN_FLIGHT + 1)`.
const PARTS_IN_FLIGHT: usize = 2;
/// Body chunks queued between the request and the writer.
const QUEUE: usize = 16;

pub(super) async fn put_stream<S, E>(
    store: Arc<dyn ObjectStore>,
    path: Path,
    body: S,
    limit: u64,
) -> Result<u64, StorageError>
where
    S: Stream<Item = Result<Bytes, E>> + Send,
    E: Into<BoxError>,
{
    let (chunks, received) = mpsc::channel::<Bytes>(QUEUE);
    let (ended, ended_rx) = oneshot::channel::<()>();
    let (result_tx, result_rx) = oneshot::channel();
    tokio::spawn(write(store, path, received, ended_rx, result_tx));
    match pump(body, &chunks, limit).await {
        Ok(size) => {
            // Ended first, then the channel closes: the writer sees both.
            let _ = ended.send(());
            drop(chunks);
            writer_result(result_rx).await.map(|()| size)
        }
        Err(Some(err)) => {
            drop((chunks, ended));
            // Wait for the writer's cleanup, so nothing is left on return.
            let _ = result_rx.await;
            Err(err)
        }
        Err(None) => {
            drop(ended);
            writer_result(result_rx)
                .await
                .and(Err(StorageError::Interrupted("the media writer stopped early".into())))
        }
    }
}

async fn writer_result(result: oneshot::Receiver<Result<(), StorageError>>) -> Result<(), StorageError> {
    result
        .await
        .unwrap_or_else(|_| Err(StorageError::Interrupted("the media writer task ended".into())))
}

/// Forwards the body; `Err(None)` when the writer stopped taking chunks
/// (it failed; its result says why).
async fn pump<S, E>(body: S, chunks: &mpsc::Sender<Bytes>, limit: u64) -> Result<u64, Option<StorageError>>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<BoxError>,
{
    let mut body = std::pin::pin!(body);
    let mut size = 0_u64;
    while let Some(next) = body.next().await {
        let bytes = next.map_err(|e| Some(StorageError::Interrupted(e.into())))?;
        size += bytes.len() as u64;
        if size > limit {
            return Err(Some(StorageError::TooLarge { limit }));
        }
        if !bytes.is_empty() && chunks.send(bytes).await.is_err() {
            return Err(None);
        }
    }
    Ok(size)
}

async fn write(
    store: Arc<dyn ObjectStore>,
    path: Path,
    mut received: mpsc::Receiver<Bytes>,
    mut ended: oneshot::Receiver<()>,
    result: oneshot::Sender<Result<(), StorageError>>,
) {
    let outcome = write_object(&*store, &path, &mut received, &mut ended).await;
    let stored = outcome.is_ok();
    if result.send(outcome).is_err() && stored {
        // The request went away while the last part was written: nobody
        // will record this object, so it must not stay.
        if let Err(err) = store.delete(&path).await {
            tracing::warn!(error = %err, "could not delete an abandoned upload");
        }
    }
}

/// Whether the request side said the body ended cleanly.
fn ended_cleanly(ended: &mut oneshot::Receiver<()>) -> Result<(), StorageError> {
    ended
        .try_recv()
        .map_err(|_| StorageError::Interrupted("the upload was abandoned".into()))
}

async fn write_object(
    store: &dyn ObjectStore,
    path: &Path,
    received: &mut mpsc::Receiver<Bytes>,
    ended: &mut oneshot::Receiver<()>,
) -> Result<(), StorageError> {
    let mut first: Vec<Bytes> = Vec::new();
    let mut buffered = 0_usize;
    while buffered < CHUNK {
        let Some(bytes) = received.recv().await else {
            ended_cleanly(ended)?;
            store.put(path, first.into_iter().collect::<PutPayload>()).await?;
            return Ok(());
        };
        buffered += bytes.len();
        first.push(bytes);
    }
    let mut writer = WriteMultipart::new_with_chunk_size(store.put_multipart(path).await?, CHUNK);
    let streamed = async {
        for bytes in first {
            writer.put(bytes);
        }
        while let Some(bytes) = received.recv().await {
            writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
            writer.put(bytes);
        }
        ended_cleanly(ended)
    }
    .await;
    match streamed {
        Ok(()) => {
            writer.finish().await?;
            Ok(())
        }
        Err(err) => {
            if let Err(abort) = writer.abort().await {
                tracing::warn!(error = %abort, "could not abort a multipart upload");
            }
            Err(err)
        }
    }
}
