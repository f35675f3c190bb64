#![allow(dead_code, reason = "each test file uses a part of it")]

//! An app whose routes fail on purpose (an internal error with a cause
//! chain, a panic, a request that outlives the timeout), served beside the
//! forms service, for the error report, Sentry and metrics tests.

use std::time::Duration;

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use keel::accounts::http::CurrentUser;
use keel::{App, Core, Problem};
use keel_testkit::SmtpSink;
use secrecy::SecretString;

/// A secret that must never show in a report: sent as a query value and
/// in a cookie by the tests.
pub(crate) const QUERY_SECRET: &str = "query-secret-5f1e";
pub(crate) const COOKIE_SECRET: &str = "cookie-secret-77ab";

/// The error the `/fail` route reports, with a source.
#[derive(Debug, thiserror::Error)]
#[error("the ledger could not be balanced")]
pub(crate) struct LedgerError(#[source] std::io::Error);

pub(crate) struct FailingApp;

impl App for FailingApp {
    fn name(&self) -> &'static str {
        "failing"
    }

    fn routes(&self, _core: &Core) -> Router {
        Router::new()
            .route("/fail/{id}", get(fail))
            .route("/boom", get(boom))
            .route("/slow", get(slow))
            .route("/mine/fail", get(mine_fail))
    }
}

async fn fail(Path(_id): Path<String>) -> Result<String, Problem> {
    Err(Problem::internal_error(&LedgerError(std::io::Error::other(
        "disk quota exceeded",
    ))))
}

async fn boom() -> &'static str {
    panic!("the boom route always panics")
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "too late"
}

async fn mine_fail(_user: CurrentUser) -> Result<String, Problem> {
    Err(Problem::internal())
}

/// The forms service with the failing app.
pub(crate) fn site() -> keel::Site {
    keel_cli::site().with(FailingApp)
}

/// Mail through `sink`, reports to the admins and managers every second
/// at most.
pub(crate) fn reporting_to(sink: &SmtpSink) -> impl FnOnce(&mut keel::Settings) {
    let url = sink.url();
    move |s: &mut keel::Settings| {
        s.email.backend = keel::settings::EmailBackendKind::Smtp(SecretString::from(url));
        s.email.server_email = "Keel errors <errors@example.com>".to_owned();
        s.email.admins = vec!["Ops <ops@example.com>".to_owned()];
        s.email.managers = vec!["Web <web@example.com>".to_owned()];
        s.email.report_interval = Duration::from_secs(2);
    }
}
