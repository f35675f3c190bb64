//! The files of one submission while it is being accepted: where they went
//! in the media store, and the promise that they do not stay there unless
//! the response that names them is committed.
//!
//! [`Uploads::discard`] deletes them on every refusal (validation, limits,
//! a broken-off body); dropping an `Uploads` that was neither kept nor
//! discarded (the request future was dropped: client gone, timeout) spawns
//! the same deletion. [`Uploads::commit`] runs the response's transaction
//! on a task of its own, so a request dropped mid-commit cannot leave
//! objects without a row, or a row without its objects.

use std::collections::HashMap;
use std::future::Future;

use keel::storage::{MediaStore, ObjectKey};
use uuid::Uuid;

use crate::repo::files::StoredFile;

/// Files stored for one response that is not committed yet.
pub(super) struct Uploads {
    store: MediaStore,
    pub(super) response_id: Uuid,
    /// Keys written or being written, so an interrupted one is cleaned too.
    keys: Vec<ObjectKey>,
    pub(super) files: Vec<StoredFile>,
    settled: bool,
}

impl Uploads {
    pub(super) fn new(store: MediaStore, response_id: Uuid) -> Self {
        Self {
            store,
            response_id,
            keys: Vec::new(),
            files: Vec::new(),
            settled: false,
        }
    }

    /// Marks `key` as this submission's before anything is written there.
    pub(super) fn track(&mut self, key: ObjectKey) {
        self.keys.push(key);
    }

    /// Uploaded files per field key, for answer validation.
    pub(super) fn counts(&self) -> HashMap<String, u32> {
        let mut counts = HashMap::new();
        for file in &self.files {
            *counts.entry(file.field_key.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// Deletes every object of this submission, and waits for it.
    pub(super) async fn discard(mut self) {
        self.settled = true;
        delete_all(&self.store, std::mem::take(&mut self.keys)).await;
    }

    /// Runs `write` (the response's transaction) on its own task: when it
    /// fails the objects are deleted, when it succeeds they are kept, even
    /// if this request is dropped meanwhile.
    /// `Err(None)` when the task itself failed (a panic).
    pub(super) async fn commit<T, E, F>(mut self, write: F) -> Result<T, Option<E>>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.settled = true;
        let store = self.store.clone();
        let keys = std::mem::take(&mut self.keys);
        let task = tokio::spawn(async move {
            let written = write.await;
            if written.is_err() {
                delete_all(&store, keys).await;
            }
            written
        });
        match task.await {
            Ok(written) => written.map_err(Some),
            Err(err) => {
                tracing::error!(error = %err, "the response's transaction task failed");
                Err(None)
            }
        }
    }
}

impl Drop for Uploads {
    fn drop(&mut self) {
        if self.settled || self.keys.is_empty() {
            return;
        }
        let store = self.store.clone();
        let keys = std::mem::take(&mut self.keys);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { delete_all(&store, keys).await });
        }
    }
}

async fn delete_all(store: &MediaStore, keys: Vec<ObjectKey>) {
    for key in keys {
        if let Err(err) = store.delete(&key).await {
            tracing::warn!(error = %err, "could not delete an upload of a refused submission");
        }
    }
}
