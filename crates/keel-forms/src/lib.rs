//! The forms service: an application on the Keel core. It knows nothing
//! about how settings are read, how sessions are stored or which cache is
//! behind the trait; it receives a [`keel::Core`] and brings its routes.
//!
//! Its modules, each importing only those on its floor or below:
//!
//! - [`domain`], [`csv`] and [`FormsError`]: validated types, pure rules
//!   and what can go wrong (no I/O)
//! - [`repo`]: where things are kept (the only SQL, the published forms'
//!   cache entries, the uploads' keys)
//! - `submissions`, `token`, `notifications`, `export`: the use cases
//!   (accepting a submission, its token, telling the owner, the CSV export),
//!   knowing nothing of HTTP
//! - `http`: the routes, each handler extracting, calling a use case or
//!   the repository, and mapping the result to an answer

pub mod csv;
pub mod domain;
mod error;
mod export;
mod http;
mod notifications;
pub mod repo;
pub mod settings;
mod submissions;
mod token;

pub use error::FormsError;

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use keel::{App, Core};

/// The forms application.
#[derive(Debug, Clone, Copy, Default)]
pub struct FormsApp;

impl App for FormsApp {
    fn name(&self) -> &'static str {
        "forms"
    }

    fn describe_metrics(&self) {
        metrics::describe_counter!(
            "keel_submissions_total",
            "Public submissions, accepted or rejected, by reason (validation, rate_limit, honeypot, closed, token, too_large, not_found, error)."
        );
    }

    fn routes(&self, core: &Core) -> Router {
        Router::new().route("/", get(home)).merge(http::router(core))
    }

    fn largest_body(&self, settings: &keel::Settings) -> u64 {
        http::largest_body(&settings.limits)
    }

    fn csrf_exempt(&self) -> &'static [&'static str] {
        http::CSRF_EXEMPT
    }

    fn settings(&self) -> Vec<keel::settings::SectionDecl> {
        vec![keel::settings::SectionDecl::of::<settings::FormsSettings>()]
    }

    fn migrations(&self) -> &'static [keel::db::Migration] {
        MIGRATIONS
    }

    fn openapi(&self) -> Option<utoipa::openapi::OpenApi> {
        Some(http::openapi::document())
    }
}

/// The app's migrations: versions 1000 and up.
static MIGRATIONS: &[keel::db::Migration] = &[
    keel::migration!(1000, "1000_forms"),
    keel::migration!(1001, "1001_response_files"),
    keel::migration!(1002, "1002_form_version"),
];

/// `GET /`: the built-in UI's home page.
#[utoipa::path(
    get,
    path = "/",
    tag = "ui",
    summary = "The built-in UI's home page",
    responses(
        (status = 200, description = "An HTML page.", body = String, content_type = "text/html"),
        keel::http::openapi::SiteErrors,
    )
)]
async fn home() -> Html<&'static str> {
    Html(include_str!("../templates/home.html"))
}
