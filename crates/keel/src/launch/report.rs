//! The report layer: opens the incident record around each request and
//! hands failures and broken links to the [`Reporter`], and the panic hook
//! that tells the panic catcher where a panic happened.

use std::cell::RefCell;
use std::sync::Once;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{header, Method, StatusCode};

use crate::http::incident;
use crate::http::observe::{current_request_id, RouteName};
use crate::reports::{BrokenLink, ErrorReport, Report, Reporter};
use crate::settings::Settings;

/// Middleware: records what went wrong inside, reports it after.
pub(super) async fn report(
    State(reporter): State<(Reporter, IgnorableLinks)>,
    request: Request,
    next: Next,
) -> Response {
    let (reporter, ignorable) = reporter;
    let method = request.method().clone();
    let link = if reporter.wants_broken_links() {
        LinkFacts::of(&request)
    } else {
        None
    };
    let (mut response, recorded) = incident::scope(next.run(request)).await;
    // A panic unwound past the route layer: the route noted before it ran
    // names the response for the layers outside (metrics, access log).
    if let (None, Some(route)) = (response.extensions().get::<RouteName>(), &recorded.route) {
        response.extensions_mut().insert(RouteName(route.clone()));
    }
    let status = response.status();
    if let (Some(incident), true) = (recorded.incident, status.is_server_error() && reporter.wants_errors()) {
        let route = recorded.route.unwrap_or_else(|| "<unmatched>".to_owned());
        reporter.report(Report::Error(ErrorReport {
            time: chrono::Utc::now(),
            request_id: current_request_id(),
            method: method.to_string(),
            route,
            status: status.as_u16(),
            user_id: recorded.user_id,
            incident,
        }));
    } else if let (Some(link), StatusCode::NOT_FOUND) = (link, status) {
        if !ignorable.matches(&link.path) {
            reporter.report(Report::BrokenLink(BrokenLink {
                time: chrono::Utc::now(),
                request_id: current_request_id(),
                path: link.path,
                referer: link.referer,
                user_agent: link.user_agent,
            }));
        }
    }
    response
}

/// `KEEL_IGNORABLE_404_URLS`.
#[derive(Clone)]
pub(super) struct IgnorableLinks(std::sync::Arc<Vec<regex::Regex>>);

impl IgnorableLinks {
    pub(super) fn new(settings: &Settings) -> Self {
        Self(std::sync::Arc::new(settings.email.ignorable_404_urls.clone()))
    }

    fn matches(&self, path: &str) -> bool {
        self.0.iter().any(|pattern| pattern.is_match(path))
    }
}

/// What a broken-link report needs from the request, taken only for a
/// page request (GET or HEAD outside `/api/`: an API's 404 is an answer to
/// a program, not a broken link) whose `Referer` is a page of this host
/// other than the one requested (Django's rule: a page linking to itself
/// is a robot's guess).
struct LinkFacts {
    path: String,
    referer: String,
    user_agent: Option<String>,
}

impl LinkFacts {
    fn of(request: &Request) -> Option<Self> {
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            return None;
        }
        let path = request.uri().path();
        if path == "/api" || path.starts_with("/api/") {
            return None;
        }
        let host = request.headers().get(header::HOST)?.to_str().ok()?;
        let referer = request.headers().get(header::REFERER)?.to_str().ok()?;
        let referer = url::Url::parse(referer).ok()?;
        let referer_host = match referer.port() {
            Some(port) => format!("{}:{port}", referer.host_str()?),
            None => referer.host_str()?.to_owned(),
        };
        let same_site = matches!(referer.scheme(), "http" | "https") && referer_host.eq_ignore_ascii_case(host);
        if !same_site || referer.path() == path {
            return None;
        }
        let user_agent = request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Some(Self {
            path: path.to_owned(),
            referer: format!("{}://{referer_host}{}", referer.scheme(), referer.path()),
            user_agent,
        })
    }
}

thread_local! {
    /// Where the last panic on this thread happened, for the catcher.
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once per process) a panic hook that notes the location of
/// each panic for [`take_panic_location`], then runs the hook before it.
pub(super) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let location = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
            PANIC_LOCATION.with(|slot| *slot.borrow_mut() = location);
            previous(info);
        }));
    });
}

/// The location of the panic just caught on this thread.
pub(super) fn take_panic_location() -> Option<String> {
    PANIC_LOCATION.with(|slot| slot.borrow_mut().take())
}
