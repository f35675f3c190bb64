//! The seam between the core and an application.
//!
//! An app names itself, brings its routes and its migrations, and may add
//! system checks. It receives the [`Core`] and never reads settings sources,
//! opens pools or picks a cache itself. `examples/hello.rs` is a whole app
//! in one file.

use axum::Router;

use crate::checks::Finding;
use crate::core::Core;
use crate::db::Migration;

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

    /// Unsafe routes this app protects by other means than the CSRF token
    /// (a signed token of its own, say); listed by `keel check`.
    fn csrf_exempt(&self) -> &'static [&'static str] {
        &[]
    }

    /// Extra system checks, run by `keel check` and before `serve` in prod.
    fn checks(&self, _core: &Core) -> Vec<Finding> {
        Vec::new()
    }

    /// The OpenAPI description of this app's routes, merged into the core's
    /// at `GET /api/openapi.json` (see [`crate::http::openapi`]).
    fn openapi(&self) -> Option<utoipa::openapi::OpenApi> {
        None
    }
}
