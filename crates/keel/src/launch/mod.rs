//! The composition root: the one place that knows every other module and
//! puts a server together, used by `keel serve` and by the test harness
//! alike, so tests never run a different wiring than production. Nothing
//! below imports it.
//!
//! - [`Site`]: what a binary serves (its apps and its API's title); the
//!   binary owns it, not an app
//! - `stack`: the middleware stack, in one place and one order
//! - `openapi`: the document, the core's part merged with each app's
//! - `checks`: the system checks run against a built core
//! - [`live`]: the probes `check --deploy --live` adds (database pool,
//!   Redis, mail, media, disk, the site through its proxy)
//!
//! [`Keel::build`]: services from settings, then the migration policy
//! (`dev` and `test` migrate by themselves; `prod` refuses to serve with
//! unapplied migrations and names them), then the router inside the whole
//! middleware stack. [`Keel::serve`]: the server loop on a listener the
//! caller made.

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

mod checks;
mod compress;
pub mod live;
mod metrics;
mod openapi;
mod report;
mod site;
mod stack;

pub use checks::run as run_checks;
pub use live::{run as run_live_checks, LiveOptions};
pub use openapi::document;
pub use site::Site;

use crate::app::App;
use crate::core::{Core, CoreError};
use crate::db::{migrate, DbError, Migration};
use crate::reports::Reporter;
use crate::security::policy::{Policy, RoutePattern};
use crate::server::{self, Drained};
use crate::settings::{Profile, Settings};

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("migrations failed: {0}")]
    Migrate(#[source] DbError),
    #[error("refusing to serve: {} unapplied migration(s): {}; run `keel migrate`", .0.len(), .0.join(", "))]
    PendingMigrations(Vec<&'static str>),
    #[error(
        "migration version {version} is declared twice ({first} and {second}); every app needs versions of its own"
    )]
    MigrationVersionTaken {
        version: i64,
        first: &'static str,
        second: &'static str,
    },
    #[error("the settings were loaded without the {app} app's section; load them with `Site::load_settings`")]
    SectionMissing { app: &'static str },
}

/// A built server, ready to serve.
pub struct Keel {
    pub core: Core,
    pub router: Router,
    /// `KEEL_METRICS_BIND`, once bound.
    metrics_listener: Option<TcpListener>,
}

/// The core's migrations followed by every app's; a version declared
/// twice (by the core and an app, or by two apps) is refused.
pub fn all_migrations(apps: &[Box<dyn App>]) -> Result<Vec<Migration>, LaunchError> {
    let mut all: Vec<Migration> = migrate::CORE_MIGRATIONS.to_vec();
    for app in apps {
        for migration in app.migrations() {
            if let Some(taken) = all.iter().find(|m| m.version == migration.version) {
                return Err(LaunchError::MigrationVersionTaken {
                    version: migration.version,
                    first: taken.name,
                    second: migration.name,
                });
            }
            all.push(*migration);
        }
    }
    Ok(all)
}

/// The migration policy: `dev` and `test` migrate by themselves; `prod`
/// refuses to go on with unapplied migrations and names them.
pub async fn prepare_database(core: &Core, apps: &[Box<dyn App>]) -> Result<(), LaunchError> {
    let migrations = all_migrations(apps)?;
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
    /// Builds the services, applies the migration policy and assembles the
    /// routes of the core and of `site`'s apps inside the whole stack.
    pub async fn build(settings: Settings, site: &Site) -> Result<Self, LaunchError> {
        site.check_sections(&settings)?;
        let core = Core::build(settings).await?;
        prepare_database(&core, &site.apps).await?;
        let mut routes = Router::new();
        for app in &site.apps {
            routes = routes.merge(app.routes(&core));
        }
        routes = routes.merge(openapi::router(site));
        let exempt = site
            .apps
            .iter()
            .flat_map(|app| app.csrf_exempt().iter().map(|p| RoutePattern(p)))
            .collect();
        let policy = Policy::new(&core.settings, exempt);
        report::install_panic_hook();
        if core.settings.server.metrics_bind.is_some() {
            metrics::recorder();
            for app in &site.apps {
                app.describe_metrics();
            }
        }
        let reporter = Reporter::start(&core);
        let router = stack::build(&core, &policy, routes, reporter);
        Ok(Self {
            core,
            router,
            metrics_listener: None,
        })
    }

    /// Binds `KEEL_METRICS_BIND` now (when set and not yet bound) and
    /// returns its address, so a caller can log it or a test find its
    /// port; [`Keel::serve`] binds it otherwise.
    pub async fn bind_metrics(&mut self) -> std::io::Result<Option<std::net::SocketAddr>> {
        if self.metrics_listener.is_none() {
            if let Some(addr) = self.core.settings.server.metrics_bind {
                self.metrics_listener = Some(TcpListener::bind(addr).await?);
            }
        }
        self.metrics_listener.as_ref().map(TcpListener::local_addr).transpose()
    }

    /// Serves until `shutdown` completes, then drains for at most
    /// `KEEL_SHUTDOWN_TIMEOUT`, stops the outbox worker (letting its
    /// deliveries in flight finish, within the same timeout) and closes the
    /// database pool. `/metrics` is served on its own listener meanwhile.
    /// Dropping the future aborts the worker with the server.
    pub async fn serve(
        mut self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<Drained> {
        let drain_timeout = self.core.settings.server.shutdown_timeout;
        self.bind_metrics().await?;
        let metrics = self.metrics_listener.take().map(|listener| {
            let router = metrics::router(self.core.clone());
            let listening = tokio::spawn(async move {
                if let Err(err) = axum::serve(listener, router).await {
                    tracing::error!(error = %err, "the metrics listener failed");
                }
            });
            [listening, tokio::spawn(metrics::upkeep())]
        });
        let worker = crate::outbox::Worker::spawn(self.core.clone());
        let drained = server::serve(
            listener,
            self.router,
            self.core.lifecycle.clone(),
            shutdown,
            &self.core.settings.server,
        )
        .await;
        for task in metrics.into_iter().flatten() {
            task.abort();
        }
        let drained = drained?;
        let worker_stopped = worker.stop_within(drain_timeout).await;
        if drained == Drained::Clean && worker_stopped {
            self.core.db.close().await;
        }
        Ok(drained)
    }
}
