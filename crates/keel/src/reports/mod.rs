//! Error reports to the people who run the site (Django's `mail_admins`
//! and `BrokenLinkEmailsMiddleware`), and to Sentry.
//!
//! - a request that failed with a 5xx and recorded an
//!   [`Incident`] (a panic, an internal error, a timeout) is reported to
//!   `KEEL_ADMINS` from `KEEL_SERVER_EMAIL`, and to Sentry when
//!   `KEEL_SENTRY_DSN` is set;
//! - a 404 whose `Referer` is this site is reported to `KEEL_MANAGERS`,
//!   unless its path matches `KEEL_IGNORABLE_404_URLS`.
//!
//! Mail goes through the durable outbox. Each report has a fingerprint
//! (error kind + route + location, or the broken path), and the [`gate`]
//! lets at most one per fingerprint through per
//! `KEEL_ERROR_REPORT_INTERVAL` (10 minutes), the next one saying how many
//! were held back. Reports travel to one task over a bounded queue, so a
//! flood of failures costs the requests nothing and memory stays bounded:
//! when the queue is full, reports are dropped and counted.
//!
//! What a report carries is listed in [`compose`]: never secrets, cookies,
//! tokens, bodies, query strings or the addresses of the public.
//!
//! [`Incident`]: crate::http::incident::Incident

pub mod compose;
pub mod gate;
pub mod report;
#[cfg(feature = "sentry")]
pub mod sentry;

use std::time::Instant;

use tokio::sync::mpsc;

use crate::core::Core;
use crate::outbox::{self, EmailMessage, OutboxMessage};
use gate::{Decision, Gate};
pub use report::{BrokenLink, ErrorReport, Report};

/// Reports waiting for the reporting task; more are dropped and counted.
const QUEUE: usize = 256;

/// The handle requests report through; cheap to clone.
#[derive(Debug, Clone)]
pub struct Reporter {
    queue: Option<mpsc::Sender<Report>>,
    errors: bool,
    broken_links: bool,
}

impl Reporter {
    /// Starts the reporting task when anyone is to hear of anything.
    pub fn start(core: &Core) -> Self {
        let email = &core.settings.email;
        let sentry = SentryClient::start(&core.settings);
        let errors = !email.admins.is_empty() || sentry.is_some();
        let broken_links = !email.managers.is_empty();
        let queue = (errors || broken_links).then(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run(core.clone(), sentry, rx));
            tx
        });
        Self {
            queue,
            errors,
            broken_links,
        }
    }

    /// Whether failed requests are reported to anyone.
    pub fn wants_errors(&self) -> bool {
        self.errors
    }

    /// Whether broken links are reported to anyone (the managers).
    pub fn wants_broken_links(&self) -> bool {
        self.broken_links
    }

    /// Hands `report` to the reporting task without waiting.
    pub fn report(&self, report: Report) {
        let Some(queue) = &self.queue else { return };
        let label = report.label();
        if queue.try_send(report).is_err() {
            metrics::counter!("keel_error_reports_total", "report" => label, "outcome" => "dropped").increment(1);
        }
    }
}

#[cfg(feature = "sentry")]
use sentry::Client as SentryClient;

/// Without the `sentry` feature: a DSN is never used.
#[cfg(not(feature = "sentry"))]
struct SentryClient;

#[cfg(not(feature = "sentry"))]
impl SentryClient {
    fn start(settings: &crate::settings::Settings) -> Option<Self> {
        if settings.log.sentry_dsn.is_some() {
            tracing::warn!("KEEL_SENTRY_DSN is set but this build has no `sentry` feature; errors are not sent");
        }
        None
    }

    fn send(&self, _report: &ErrorReport) {}
}

/// Broken-link mails per interval at most, whatever the paths: `Referer`
/// and the path are the client's to choose, so a scan of random paths
/// could otherwise mail the managers once per path.
const MAX_BROKEN_LINKS_PER_INTERVAL: u32 = 20;

async fn run(core: Core, sentry: Option<SentryClient>, mut queue: mpsc::Receiver<Report>) {
    let interval = core.settings.email.report_interval;
    let mut gate = Gate::new(interval);
    let mut links = (Instant::now(), 0_u32);
    while let Some(report) = queue.recv().await {
        if let (Some(sentry), Report::Error(error)) = (&sentry, &report) {
            sentry.send(error);
        }
        let to = match &report {
            Report::Error(_) => &core.settings.email.admins,
            Report::BrokenLink(_) => &core.settings.email.managers,
        };
        if to.is_empty() {
            continue;
        }
        let fingerprint = report.fingerprint();
        let label = report.label();
        let Decision::Send { suppressed } = gate.admit(fingerprint, Instant::now()) else {
            metrics::counter!("keel_error_reports_total", "report" => label, "outcome" => "suppressed").increment(1);
            continue;
        };
        // Then the cap over all broken links of the interval.
        if let Report::BrokenLink(_) = &report {
            if links.0.elapsed() >= interval {
                links = (Instant::now(), 0);
            }
            if links.1 >= MAX_BROKEN_LINKS_PER_INTERVAL {
                metrics::counter!("keel_error_reports_total", "report" => "broken_link", "outcome" => "suppressed")
                    .increment(1);
                continue;
            }
            links.1 += 1;
        }
        let (subject, text) = compose::mail(&report, fingerprint, suppressed, &core.settings);
        let message = OutboxMessage::Email(EmailMessage {
            from: Some(core.settings.email.server_email.clone()),
            to: to.clone(),
            subject,
            text,
        });
        match enqueue(&core, &message).await {
            Ok(()) => {
                metrics::counter!("keel_error_reports_total", "report" => label, "outcome" => "sent").increment(1);
            }
            Err(err) => {
                tracing::error!(error = %err, report = label, "cannot queue the report mail");
                metrics::counter!("keel_error_reports_total", "report" => label, "outcome" => "failed").increment(1);
                gate.failed(fingerprint, suppressed);
            }
        }
    }
}

async fn enqueue(core: &Core, message: &OutboxMessage) -> Result<(), crate::db::DbError> {
    let mut tx = core.db.begin().await?;
    outbox::enqueue(&mut tx, message).await?;
    tx.commit().await?;
    outbox::wake_workers();
    Ok(())
}
