//! What the `keel` binary serves: the forms service on the Keel core. The
//! binary, not an app, owns this list (and the title of its API document);
//! `serve`, the other commands and the integration tests all take it from
//! here, so each runs the same apps.

use keel::Site;

/// The `keel` binary's site: the forms app on the core.
pub fn site() -> Site {
    Site::new(
        "Keel",
        "The Keel forms service's HTTP API: accounts, forms, public submissions, file uploads and CSV export.",
    )
    .with(keel_forms::FormsApp)
}
