//! The test harness every Keel test uses: the real app, built by the same
//! [`keel::Keel::build`] as `keel serve`, on a random loopback port, with a
//! fresh database per test (a temporary SQLite file, or a PostgreSQL
//! database created for the test and dropped after).
//!
//! PostgreSQL and Redis are found at `KEEL_TEST_DATABASE_URL` and
//! `KEEL_TEST_CACHE_URL` (defaults: their standard loopback ports); an S3
//! server is started per test from moto ([`s3_server`]). When one is
//! missing its tests are skipped with a printed reason, or fail when
//! `KEEL_TEST_REQUIRE_SERVICES=1`.
//!
//! ```text
//! keel_testkit::on_both_backends!(healthz_answers);
//! async fn healthz_answers(backend: Backend) {
//!     let server = TestServer::spawn(keel_cli::site(), backend).await;
//!     assert_eq!(server.get("/healthz").await.status(), 200);
//! }
//! ```

mod browser;
mod database;
mod forms;
pub mod outbox;
pub mod private;
mod receiver;
mod s3;
mod server;
pub mod services;
mod smtp;

pub use browser::GOOD_PASSWORD;
pub use database::TestDb;
pub use forms::PublishedForm;
pub use receiver::{ReceivedRequest, Receiver};
pub use s3::{s3_server, S3Server};
pub use server::TestServer;
pub use services::{redis_url, Backend};
pub use smtp::{SmtpMessage, SmtpSink};

/// Generates `mod <name> { sqlite, postgres }` tests that call
/// `async fn <name>(backend: Backend)` once per backend; the PostgreSQL one
/// skips (or fails, under `KEEL_TEST_REQUIRE_SERVICES=1`) when PostgreSQL is
/// missing.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::services::postgres_available().await {
                        super::$name($crate::Backend::Postgres).await
                    }
                }
            }
        )+
    };
}
