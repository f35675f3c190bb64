//! What went wrong in a request, told to whoever reports it.
//!
//! A 500 is opaque to the client; the report to the operators needs the
//! kind of error, where in the code it was made and its cause chain. The
//! code that turns an error into a 500 records an [`Incident`] here (the
//! [`Problem::internal`] constructors do it themselves), and the report
//! layer (`launch::stack`), which opened a [`scope`] around the request,
//! reads it after the response is made. The logged-in user's id is noted
//! the same way by the session extractor.
//!
//! Outside a scope (a background task, a unit test) recording does
//! nothing.
//!
//! [`Problem::internal`]: super::Problem::internal

use std::cell::RefCell;
use std::future::Future;
use std::panic::Location;

/// The longest cause line kept: a report is for reading, not for dumping.
const MAX_CAUSE_CHARS: usize = 300;
/// The most causes kept from a chain.
const MAX_CAUSES: usize = 8;

/// One error that made a request fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// What failed: `panic`, `timeout`, or the error's type name.
    pub kind: String,
    /// `file:line` where the failure was turned into a response.
    pub location: String,
    /// The error and its sources, outermost first (empty when none).
    pub causes: Vec<String>,
}

/// What was noted during one request.
#[derive(Debug, Default)]
pub struct Recorded {
    pub incident: Option<Incident>,
    pub user_id: Option<String>,
    /// The matched route template, noted before the handler ran (so it is
    /// known even when the handler panics).
    pub route: Option<String>,
}

tokio::task_local! {
    static FACTS: RefCell<Recorded>;
}

/// Runs `request` with an empty record; returns what was recorded in it.
pub async fn scope<F: Future>(request: F) -> (F::Output, Recorded) {
    FACTS
        .scope(RefCell::new(Recorded::default()), async move {
            let output = request.await;
            let recorded = FACTS.with(|facts| std::mem::take(&mut *facts.borrow_mut()));
            (output, recorded)
        })
        .await
}

/// Records `incident` unless one is already recorded: the first failure is
/// the cause, later ones (the 500 built from it) are consequences.
pub fn record(incident: Incident) {
    let _ = FACTS.try_with(|facts| {
        let mut facts = facts.borrow_mut();
        if facts.incident.is_none() {
            facts.incident = Some(incident);
        }
    });
}

/// Records a failure of `kind` made at `location`, with `causes`.
pub fn record_at(kind: &str, location: &Location<'_>, causes: Vec<String>) {
    record(Incident {
        kind: kind.to_owned(),
        location: format!("{}:{}", location.file(), location.line()),
        causes,
    });
}

/// Records `error` (its type as the kind, its source chain as the causes)
/// at the caller's location.
#[track_caller]
pub fn record_error<E: std::error::Error + ?Sized>(error: &E) {
    let location = Location::caller();
    record_at(short_type_name::<E>(), location, cause_chain(error));
}

/// Notes the matched route template.
pub fn note_route(route: &str) {
    let _ = FACTS.try_with(|facts| facts.borrow_mut().route = Some(route.to_owned()));
}

/// Notes the logged-in user of the request, for its error report.
pub fn note_user(id: impl std::fmt::Display) {
    let _ = FACTS.try_with(|facts| facts.borrow_mut().user_id = Some(id.to_string()));
}

/// `error` and each of its sources, one line each, shortened.
pub fn cause_chain(error: &(impl std::error::Error + ?Sized)) -> Vec<String> {
    let mut causes = vec![shorten(&error.to_string())];
    let mut source = error.source();
    while let Some(cause) = source {
        if causes.len() == MAX_CAUSES {
            break;
        }
        causes.push(shorten(&cause.to_string()));
        source = cause.source();
    }
    causes
}

/// `keel::db::error::DbError` as `DbError`: the path says little the
/// location does not.
fn short_type_name<E: ?Sized>() -> &'static str {
    let full = std::any::type_name::<E>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// One line of at most 300 characters (control characters become spaces).
pub fn shorten(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_CAUSE_CHARS)
        .collect();
    if text.chars().count() > MAX_CAUSE_CHARS {
        format!("{line}…")
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer failed")]
    struct Outer(#[source] std::io::Error);

    #[tokio::test]
    async fn the_first_incident_and_the_user_are_kept() {
        let ((), recorded) = scope(async {
            note_user("u-1");
            record_error(&Outer(std::io::Error::other("disk\nfull")));
            record_at("later", Location::caller(), Vec::new());
        })
        .await;
        let incident = recorded.incident.expect("recorded");
        let user = recorded.user_id;
        assert_eq!(incident.kind, "Outer");
        assert!(incident.location.contains("incident.rs:"), "{}", incident.location);
        assert_eq!(
            incident.causes,
            ["outer failed", "disk full"],
            "sources follow, on one line each"
        );
        assert_eq!(user.as_deref(), Some("u-1"));
    }

    #[tokio::test]
    async fn recording_outside_a_scope_does_nothing() {
        record_error(&std::io::Error::other("nobody listens"));
        note_user("u-2");
        let ((), recorded) = scope(async {}).await;
        assert!(
            recorded.incident.is_none() && recorded.user_id.is_none(),
            "{recorded:?}"
        );
    }

    #[test]
    fn long_causes_are_cut() {
        let cut = shorten(&"x".repeat(1000));
        assert_eq!(cut.chars().count(), MAX_CAUSE_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
