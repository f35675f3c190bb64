//! `Core`: the services built once from [`Settings`] and shared by every
//! request: the database pool, the cache, the media store and the process
//! lifecycle. Each service is built from its own settings section only.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use secrecy::SecretString;

use crate::cache::{Cache, CacheError};
use crate::db::{Db, DbError};
use crate::security::hash_gate::HashGate;
use crate::security::sessions::Sessions;
use crate::security::signing::Signer;
use crate::settings::Settings;
use crate::storage::{MediaStore, StorageError};

/// Whether the process is shutting down. Shared by the server (which sets
/// it on SIGTERM) and `/readyz` (which then answers 503).
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    shutting_down: Arc<AtomicBool>,
}

impl Lifecycle {
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}

/// The shared services, behind one `Arc`: cloning a `Core` (which every
/// request's extensions and every app state do) is one atomic increment.
#[derive(Debug, Clone)]
pub struct Core(Arc<Services>);

impl std::ops::Deref for Core {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What a [`Core`] holds. Each is a handle, cheap to clone on its own.
#[derive(Debug)]
pub struct Services {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub cache: Cache,
    pub media: MediaStore,
    pub signer: Signer,
    pub sessions: Sessions,
    /// Password hashing, one per core at a time.
    pub hashing: HashGate,
    pub lifecycle: Lifecycle,
}

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Media(#[from] StorageError),
}

impl Core {
    /// Builds the services. Nothing here waits on the network: pools and
    /// the Redis connection are made on first use.
    pub async fn build(settings: Settings) -> Result<Self, CoreError> {
        let db = Db::connect(&settings.database).await?;
        let cache = Cache::connect(&settings.cache)?;
        let media = MediaStore::from_settings(&settings.files)?;
        // Without a key (prod misconfigured) signing uses a throwaway one:
        // `check --deploy` reports the missing key and `serve` refuses to
        // start, but the commands that only inspect still run.
        let key = settings
            .secret
            .key
            .clone()
            .unwrap_or_else(|| SecretString::from(crate::settings::secret::generate_key()));
        let signer = Signer::new(key, &settings.secret.fallbacks);
        let sessions = Sessions::new(
            db.clone(),
            cache.clone(),
            signer.clone(),
            settings.security.session_cookie_age,
            settings.security.session_cookie_secure,
        );
        Ok(Self(Arc::new(Services {
            settings: Arc::new(settings),
            db,
            cache,
            media,
            signer,
            sessions,
            hashing: HashGate::default(),
            lifecycle: Lifecycle::default(),
        })))
    }
}
