//! The files of one submission while it is being accepted: where they went
//! in the media store, and the promise that they do not stay there unless
//! the response that names them is committed.
//!
//! [`Uploads::store`] streams a file in, never holding it whole, after its
//! field's rules: at most `max_files`, of a type its `accept` admits judged
//! by the content sniffed from its first bytes (never the type the client
//! declared), at most `KEEL_MAX_UPLOAD_BYTES`. It is written under a
//! generated key (see `repo::media`) with the sanitised original name kept
//! as data, ending in an extension of the sniffed type
//! (`keel::storage::filename::for_type`: `x.html` of text is `x.html.txt`).
//!
//! [`Uploads::discard`] deletes them on every refusal (validation, limits,
//! a broken-off body); dropping an `Uploads` that was neither kept nor
//! discarded (the request future was dropped: client gone, timeout) spawns
//! the same deletion. [`Uploads::commit`] runs the response's transaction
//! on a task of its own, so a request dropped mid-commit cannot leave
//! objects without a row, or a row without its objects.

use std::collections::HashMap;
use std::future::Future;

use bytes::Bytes;
use futures_util::{stream, Stream, StreamExt};
use keel::storage::sniff::{sniff, OCTET_STREAM};
use keel::storage::{filename, BoxError, MediaStore, ObjectKey, StorageError};
use uuid::Uuid;

use crate::domain::media::accepts;
use crate::domain::Field;
use crate::repo::files::StoredFile;
use crate::repo::media;
use crate::FormsError;

/// Files stored for one response that is not committed yet.
pub(crate) struct Uploads {
    store: MediaStore,
    pub(super) response_id: Uuid,
    /// Keys written or being written, so an interrupted one is cleaned too.
    keys: Vec<ObjectKey>,
    pub(super) files: Vec<StoredFile>,
    settled: bool,
}

impl Uploads {
    /// No files yet, for the response `response_id` (chosen before the
    /// body is read, since the files' keys name it).
    pub(crate) fn new(store: MediaStore, response_id: Uuid) -> Self {
        Self {
            store,
            response_id,
            keys: Vec::new(),
            files: Vec::new(),
            settled: false,
        }
    }

    /// Stores one file of form `form_id` for `field`: `head`, its first
    /// bytes (enough to sniff its type), then `rest`. At most `limit` bytes.
    pub(crate) async fn store<S, E>(
        &mut self,
        form_id: Uuid,
        field: &Field,
        declared_name: &str,
        head: Vec<u8>,
        rest: S,
        limit: u64,
    ) -> Result<(), FormsError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: Into<BoxError> + Send,
    {
        let max = field.max_files.unwrap_or(1);
        if self.files.iter().filter(|f| f.field_key == field.key).count() >= max as usize {
            let field = field.key.clone();
            return Err(FormsError::TooManyFiles { field, max });
        }
        let kind = sniff(&head).unwrap_or(OCTET_STREAM);
        if !accepts(field.accept.as_deref().unwrap_or_default(), kind) {
            let (field, kind) = (field.key.clone(), kind.to_owned());
            return Err(FormsError::FileRefused { field, kind });
        }
        let id = Uuid::new_v4();
        let key = media::upload_key(form_id, self.response_id, id)
            .ok_or_else(|| FormsError::Corrupt(format!("no object key for file {id}")))?;
        // Tracked before anything is written there, so an interrupted write is cleaned too.
        self.keys.push(key.clone());
        let body = stream::iter([Ok(Bytes::from(head))]).chain(rest);
        let size = self
            .store
            .put_stream(&key, body, limit)
            .await
            .map_err(|err| match err {
                StorageError::TooLarge { limit } => FormsError::FileTooLarge {
                    field: field.key.clone(),
                    limit,
                },
                other => other.into(),
            })?;
        self.files.push(StoredFile {
            id,
            response_id: self.response_id,
            field_key: field.key.clone(),
            storage_key: key.to_string(),
            name: filename::for_type(declared_name, kind),
            size: i64::try_from(size).unwrap_or(i64::MAX),
            content_type: kind.to_owned(),
            created_at: chrono::Utc::now(),
        });
        Ok(())
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
    pub(crate) async fn discard(mut self) {
        self.settled = true;
        delete_all(&self.store, std::mem::take(&mut self.keys)).await;
    }

    /// Runs `write` (the response's transaction) on its own task: when it
    /// fails the objects are deleted, when it succeeds they are kept, even
    /// if this request is dropped meanwhile.
    pub(super) async fn commit<T, F>(mut self, write: F) -> Result<T, FormsError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, FormsError>> + Send + 'static,
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
            Ok(written) => written,
            Err(err) => {
                tracing::error!(error = %err, "the response's transaction task failed");
                Err(FormsError::TaskFailed)
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
