//! The seam between the core and an application.
//!
//! An app names itself, brings its routes and its migrations, and may add
//! settings of its own, system checks and a part of the API document. It receives the [`Core`] and never reads settings sources,
//! opens pools or picks a cache itself. `examples/hello.rs` is a whole app
//! in one file.

use axum::Router;

use crate::checks::{Check, Finding};
use crate::core::Core;
use crate::db::Migration;
use crate::settings::{SectionDecl, Settings};

pub trait App: Send + Sync + 'static {
    /// A short lowercase name, used in logs and check output.
    fn name(&self) -> &'static str;

    /// The app's routes; they run inside the whole middleware stack.
    fn routes(&self, core: &Core) -> Router;

    /// Migrations, with versions disjoint from the core's (below 1000) and
    /// from other apps'.
    fn migrations(&self) -> &'static [Migration] {
        &[]
    }

    /// The largest request body any of this app's routes accepts (a
    /// multipart upload route's limit, say), so a proxy in front can be
    /// told (`deploy render` writes nginx's `client_max_body_size`).
    fn largest_body(&self, _settings: &Settings) -> u64 {
        0
    }

    /// Unsafe routes this app protects by other means than the CSRF token
    /// (a signed token of its own, say); listed by `keel check`.
    fn csrf_exempt(&self) -> &'static [&'static str] {
        &[]
    }

    /// Settings sections of its own (`SectionDecl::of::<T>()`), read by
    /// the core's loader with the same sources, provenance and listing;
    /// the app reads them back with `core.settings.section::<T>()`.
    fn settings(&self) -> Vec<SectionDecl> {
        Vec::new()
    }

    /// Every check [`App::checks`] may report, for `keel check --list`.
    fn check_list(&self) -> &'static [&'static Check] {
        &[]
    }

    /// Extra system checks, run by `keel check` and before `serve` in prod;
    /// each finding is of a check in [`App::check_list`].
    fn checks(&self, _core: &Core) -> Vec<Finding> {
        Vec::new()
    }

    /// Describes the app's own metrics (`metrics::describe_counter!` and
    /// the like), called once the recorder is installed, so `/metrics`
    /// carries their help text.
    fn describe_metrics(&self) {}

    /// The OpenAPI description of this app's routes, merged into the core's
    /// at `GET /api/openapi.json` (see [`crate::launch::document`]).
    fn openapi(&self) -> Option<utoipa::openapi::OpenApi> {
        None
    }
}
