//! The forms app's routes: one router per resource. The handlers extract,
//! call a use case or the repository, and map the result: their bodies are
//! the types of `bodies`, their errors `FormsError`s made `Problem`s.

mod accept;
mod bodies;
mod embed;
mod files;
mod multipart;
pub(crate) mod openapi;
mod owner;
mod public;
mod responses;

use axum::Router;
use keel::security::throttle::Throttle;
use keel::Core;

/// Shared by the handlers.
#[derive(Clone)]
pub(crate) struct FormsState {
    pub core: Core,
    pub submissions: Throttle,
}

/// Every route of the app.
pub(crate) fn router(core: &Core) -> Router {
    let state = FormsState {
        core: core.clone(),
        submissions: Throttle::new(
            core.cache.clone(),
            "submission",
            crate::settings::FormsSettings::of(&core.settings).submission_rate,
        ),
    };
    Router::new()
        .merge(owner::router(state.clone()))
        .merge(responses::router(state.clone()))
        .merge(files::router(state.clone()))
        .merge(public::router(state.clone()))
        .merge(accept::router(state))
}

/// The route patterns that carry no CSRF token (see `accept`).
pub(crate) const CSRF_EXEMPT: &[&str] = &["/api/public/forms/{slug}/responses"];

/// The largest body a route of the app accepts: a submission with every
/// file it may carry.
pub(crate) fn largest_body(limits: &keel::settings::LimitSettings) -> u64 {
    multipart::route_limit(limits) as u64
}
