//! The one way a Keel server is put together, used by `keel serve` and by
//! the test harness alike, so tests never run a different wiring than
//! production.
//!
//! [`Keel::build`]: services from settings, then the migration policy
//! (`dev` and `test` migrate by themselves; `prod` refuses to serve with
//! unapplied migrations and names them), then the router inside the whole
//! middleware stack. [`Keel::serve`]: the server loop on a listener the
//! caller made.

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

use crate::app::App;
use crate::core::{Core, CoreError};
use crate::db::{migrate, DbError, Migration};
use crate::http::server::{self, Drained};
use crate::settings::{Profile, Settings};

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("migrations failed: {0}")]
    Migrate(#[source] DbError),
    #[error("refusing to serve: {} unapplied migration(s): {}; run `keel migrate`", .0.len(), .0.join(", "))]
    PendingMigrations(Vec<&'static str>),
}

/// A built server, ready to serve.
pub struct Keel {
    pub core: Core,
    pub router: Router,
}

/// The core's migrations followed by every app's.
pub fn all_migrations(apps: &[Box<dyn App>]) -> Vec<Migration> {
    let mut all: Vec<Migration> = migrate::CORE_MIGRATIONS.to_vec();
    for app in apps {
        all.extend_from_slice(app.migrations());
    }
    all
}

/// The migration policy: `dev` and `test` migrate by themselves; `prod`
/// refuses to go on with unapplied migrations and names them.
pub async fn prepare_database(core: &Core, apps: &[Box<dyn App>]) -> Result<(), LaunchError> {
    let migrations = all_migrations(apps);
    if core.settings.profile == Profile::Prod {
        let pending = migrate::pending(&core.db, &migrations)
            .await
            .map_err(LaunchError::Migrate)?;
        if !pending.is_empty() {
            return Err(LaunchError::PendingMigrations(pending.iter().map(|m| m.name).collect()));
        }
    } else {
        migrate::run(&core.db, &migrations)
            .await
            .map_err(LaunchError::Migrate)?;
    }
    Ok(())
}

impl Keel {
    pub async fn build(settings: Settings, apps: &[Box<dyn App>]) -> Result<Self, LaunchError> {
        let core = Core::build(settings).await?;
        prepare_database(&core, apps).await?;
        let mut routes = Router::new();
        for app in apps {
            routes = routes.merge(app.routes(&core));
        }
        routes = routes.merge(crate::http::openapi::router(apps));
        let exempt = apps
            .iter()
            .flat_map(|app| app.csrf_exempt().iter().map(|p| crate::security::csrf::RoutePattern(p)))
            .collect();
        let policy = crate::security::Policy::new(&core.settings, exempt);
        let router = crate::http::stack::build(&core, &policy, routes);
        Ok(Self { core, router })
    }

    /// Serves until `shutdown` completes, then drains for at most
    /// `KEEL_SHUTDOWN_TIMEOUT`, stops the outbox worker (letting its
    /// deliveries in flight finish, within the same timeout) and closes the
    /// database pool. Dropping the future aborts the worker with the server.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<Drained> {
        let drain_timeout = self.core.settings.server.shutdown_timeout;
        let worker = crate::outbox::Worker::spawn(self.core.clone());
        let drained = server::serve(
            listener,
            self.router,
            self.core.lifecycle.clone(),
            shutdown,
            &self.core.settings.server,
        )
        .await?;
        let worker_stopped = worker.stop_within(drain_timeout).await;
        if drained == Drained::Clean && worker_stopped {
            self.core.db.close().await;
        }
        Ok(drained)
    }
}
