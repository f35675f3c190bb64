//! Error reports to Sentry (`KEEL_SENTRY_DSN`), through the `sentry` crate
//! with its reqwest transport.
//!
//! A client of our own rather than the process-wide hub: nothing else in
//! the process sends through it, and it reads nothing from the
//! environment (the settings already did). An event carries the request
//! id, the route template, the method, the status, the user id, the
//! error's kind, location and causes, and Sentry's release
//! (`keel@VERSION`) and environment (the profile); it is grouped by the
//! same fingerprint as the mail. No request headers, cookies, bodies or
//! query strings: the [`Request`](sentry::protocol::Request) part is left
//! out, and `send_default_pii` stays off.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use sentry::protocol::{Event, Exception, Level, Map, User};

use super::report::ErrorReport;
use crate::settings::Settings;

/// How long closing waits for events still in flight.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Client(Arc<sentry::Client>);

impl Client {
    /// A client for `KEEL_SENTRY_DSN`, or `None` when it is unset or not
    /// a DSN (`check --deploy` reports that).
    pub fn start(settings: &Settings) -> Option<Self> {
        let dsn = settings.log.sentry_dsn.as_ref()?;
        let dsn = match dsn.expose_secret().parse::<sentry::types::Dsn>() {
            Ok(dsn) => dsn,
            Err(err) => {
                tracing::error!(error = %err, "KEEL_SENTRY_DSN is not a Sentry DSN; errors are not sent to Sentry");
                return None;
            }
        };
        let options = sentry::ClientOptions {
            dsn: Some(dsn),
            release: Some(Cow::Owned(format!("keel@{}", env!("CARGO_PKG_VERSION")))),
            environment: Some(Cow::Owned(settings.profile.to_string())),
            send_default_pii: false,
            default_integrations: false,
            transport: Some(Arc::new(sentry::transports::DefaultTransportFactory)),
            ..Default::default()
        };
        Some(Self(Arc::new(sentry::Client::from(options))))
    }

    /// Sends one event for `report` (queued by the transport; never waits).
    pub fn send(&self, report: &ErrorReport) {
        self.0.capture_event(event(report), None);
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.0.close(Some(FLUSH_TIMEOUT));
    }
}

fn event(r: &ErrorReport) -> Event<'static> {
    let incident = &r.incident;
    let mut tags = Map::new();
    tags.insert("route".to_owned(), r.route.clone());
    tags.insert("method".to_owned(), r.method.clone());
    tags.insert("status".to_owned(), r.status.to_string());
    if let Some(id) = &r.request_id {
        tags.insert("request_id".to_owned(), id.clone());
    }
    let mut extra = Map::new();
    extra.insert("location".to_owned(), incident.location.clone().into());
    extra.insert("causes".to_owned(), incident.causes.clone().into());
    let exception = Exception {
        ty: incident.kind.clone(),
        value: incident.causes.first().cloned(),
        ..Default::default()
    };
    Event {
        level: Level::Error,
        message: Some(format!("{} at {} {}", incident.kind, r.method, r.route)),
        transaction: Some(format!("{} {}", r.method, r.route)),
        culprit: Some(incident.location.clone()),
        fingerprint: Cow::Owned(vec![
            Cow::Owned(incident.kind.clone()),
            Cow::Owned(r.method.clone()),
            Cow::Owned(r.route.clone()),
            Cow::Owned(incident.location.clone()),
        ]),
        exception: vec![exception].into(),
        user: r.user_id.as_ref().map(|id| User {
            id: Some(id.clone()),
            ..Default::default()
        }),
        tags,
        extra,
        timestamp: r.time.into(),
        ..Default::default()
    }
}
