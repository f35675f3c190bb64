//! `TestServer`: the real app on 127.0.0.1:0 and a client that talks to it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use keel::core::Core;
use keel::server::Drained;
use keel::{Keel, Settings, Site};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::database::TestDb;
use crate::services::Backend;

/// A running server. Dropping it stops the server and removes its
/// database and files.
pub struct TestServer {
    pub addr: SocketAddr,
    /// The `/metrics` listener, when the test set `KEEL_METRICS_BIND`
    /// (`127.0.0.1:0` picks a free port).
    pub metrics_addr: Option<SocketAddr>,
    /// A client with a cookie store, as a browser would have.
    pub client: reqwest::Client,
    /// The server's services, for looking into the database in assertions.
    pub core: Core,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<Drained>>>,
    site: Arc<Site>,
    // Field order: the server stops before its database is dropped.
    db: std::sync::Arc<TestDb>,
    dir: tempfile::TempDir,
}

impl TestServer {
    /// `site`'s apps on `backend` with the test profile.
    pub async fn spawn(site: Site, backend: Backend) -> Self {
        Self::spawn_with(site, backend, |_| {}).await
    }

    /// Like `spawn`, with settings changed in place first. Stopped by
    /// dropping the server or by [`TestServer::stop`].
    pub async fn spawn_with(site: Site, backend: Backend, configure: impl FnOnce(&mut Settings)) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        Self::spawn_until(
            site,
            backend,
            configure,
            async move {
                let _ = stopped.await;
            },
            Some(stop),
        )
        .await
    }

    /// Like `spawn_with`, but the server stops when `shutdown` completes
    /// (the shutdown tests pass the real signal handler).
    pub async fn spawn_until(
        site: Site,
        backend: Backend,
        configure: impl FnOnce(&mut Settings),
        shutdown: impl Future<Output = ()> + Send + 'static,
        stop: Option<oneshot::Sender<()>>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder for the test");
        let db = std::sync::Arc::new(TestDb::create(backend, dir.path()).await);
        Self::start(db, dir, Arc::new(site), configure, shutdown, stop).await
    }

    /// A second server on this server's database (another instance, or the
    /// same site restarted with other settings).
    pub async fn spawn_sharing(&self, configure: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder for the test");
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        Self::start(self.db.clone(), dir, self.site.clone(), configure, shutdown, Some(stop)).await
    }

    async fn start(
        db: std::sync::Arc<TestDb>,
        dir: tempfile::TempDir,
        site: Arc<Site>,
        configure: impl FnOnce(&mut Settings),
        shutdown: impl Future<Output = ()> + Send + 'static,
        stop: Option<oneshot::Sender<()>>,
    ) -> Self {
        keel::telemetry::init_for_tests();
        let mut settings = site.test_settings(dir.path());
        db.configure(&mut settings);
        configure(&mut settings);
        if settings.profile == keel::settings::Profile::Prod {
            // Prod refuses unapplied migrations; deploy as an operator
            // would, with `keel migrate` first.
            let core = Core::build(settings.clone()).await.expect("services for migrating");
            let all = keel::launch::all_migrations(&site.apps).expect("migration versions are distinct");
            keel::db::migrate::run(&core.db, &all).await.expect("migrations apply");
            core.db.close().await;
        }
        let mut keel = Keel::build(settings, &site).await.expect("the test server builds");
        let metrics_addr = keel.bind_metrics().await.expect("the metrics listener binds");
        let core = keel.core.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("the bound address");
        let task = tokio::spawn(keel.serve(listener, shutdown));
        let client = new_client();
        Self {
            addr,
            metrics_addr,
            client,
            core,
            stop,
            task: Some(task),
            site,
            db,
            dir,
        }
    }

    /// A new client with its own cookie jar: another browser.
    pub fn new_client(&self) -> reqwest::Client {
        new_client()
    }

    /// The server's own origin, `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The server's database.
    pub fn db(&self) -> &TestDb {
        &self.db
    }

    /// The server's working folder (its `var/`, static root and media).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("the request reaches the server")
    }

    /// Signals shutdown (when the server was spawned with a stop channel)
    /// and waits for the drain.
    pub async fn stop(mut self) -> Drained {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.wait().await
    }

    /// Waits for the server to finish (after its shutdown future completed).
    pub async fn wait(&mut self) -> Drained {
        let task = self.task.take().expect("the server is waited for once");
        task.await
            .expect("the server task does not panic")
            .expect("the server ends cleanly")
    }
}

fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
