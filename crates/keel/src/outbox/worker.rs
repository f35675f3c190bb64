//! The outbox worker: a task inside `serve` that claims due messages,
//! delivers them and records each outcome.
//!
//! Each round it first asks whether anything is due (a cheap indexed read,
//! so an idle worker costs one query per poll and takes no write lock),
//! then claims a batch under a lease and delivers the batch concurrently.
//! A failure is retried after a jittered [`Backoff`]; after
//! `KEEL_OUTBOX_MAX_ATTEMPTS` attempts, or at once when retrying cannot help
//! (a refused URL, a malformed address), the message is dead-lettered with
//! its reason. Stopping waits for the deliveries in flight; a worker that is
//! killed instead leaves its claims to expire and be taken again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::backoff::Backoff;
use super::mail::Mailer;
use super::store::{self, Claimed};
use super::{now_ms, webhook, OutboxMessage};
use crate::core::Core;
use crate::db::DbError;

/// Wakes every worker of this process at once (call it after committing a
/// transaction that enqueued), instead of waiting for the next poll.
static WAKE: Notify = Notify::const_new();

/// Longest stored or logged failure reason, in characters.
const MAX_REASON: usize = 200;
/// The pause after repeated database errors grows up to this.
const MAX_ERROR_PAUSE: Duration = Duration::from_secs(30);

/// Wakes the workers of this process: messages committed just now go out
/// without waiting for the next poll.
pub fn wake_workers() {
    WAKE.notify_waiters();
}

/// How a worker paces itself. Not a setting: tests shorten it in code.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// Pause between rounds when nothing was due.
    pub poll_interval: Duration,
    /// Messages claimed (and delivered concurrently) per round.
    pub batch_size: u32,
    /// How long a claim is held; longer than any one delivery may take
    /// (SMTP 30 s, webhooks 10 s), so a live worker never loses its claim.
    pub lease: Duration,
    pub backoff: Backoff,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(500),
            batch_size: 16,
            lease: Duration::from_secs(120),
            backoff: Backoff::default(),
        }
    }
}

/// Starts outbox workers.
pub struct Worker;

impl Worker {
    /// A worker with the default pace, running until stopped.
    pub fn spawn(core: Core) -> WorkerHandle {
        Self::spawn_with(core, WorkerConfig::default())
    }

    pub fn spawn_with(core: Core, config: WorkerConfig) -> WorkerHandle {
        let mailer = Mailer::from_settings(&core.settings.email)
            .map(Arc::new)
            .map_err(|err| {
                tracing::error!(error = %err, "the outbox cannot send email until the settings are fixed");
                err.to_string()
            });
        let (stop, stopped) = watch::channel(false);
        let context = Context { core, mailer, config };
        let task = tokio::spawn(async move { context.run(stopped).await });
        WorkerHandle { stop, task: Some(task) }
    }
}

/// A running worker. Dropping it aborts the worker at once (its claims
/// expire and are taken again); [`WorkerHandle::stop`] lets deliveries in
/// flight finish first.
#[derive(Debug)]
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl WorkerHandle {
    /// Signals the worker to stop and waits for its deliveries in flight.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Like [`WorkerHandle::stop`], giving up (and aborting the worker)
    /// after `limit`; false when it had to give up.
    pub async fn stop_within(mut self, limit: Duration) -> bool {
        let _ = self.stop.send(true);
        let Some(task) = self.task.as_mut() else {
            return true;
        };
        // On time out the handle is still held, so dropping `self` aborts.
        let stopped = tokio::time::timeout(limit, task).await.is_ok();
        if !stopped {
            tracing::warn!("outbox worker did not stop in time; its claims will be retried after their lease");
        }
        stopped
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Why one delivery attempt failed.
struct Failure {
    reason: String,
    /// Retrying cannot help: dead-letter at once.
    permanent: bool,
}

impl Failure {
    fn new(reason: impl ToString, permanent: bool) -> Self {
        let reason: String = reason.to_string().chars().take(MAX_REASON).collect();
        Self { reason, permanent }
    }
}

struct Context {
    core: Core,
    mailer: Result<Arc<Mailer>, String>,
    config: WorkerConfig,
}

impl Context {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut errors: u32 = 0;
        while !*stop.borrow() {
            let pause = match self.round().await {
                Ok(claimed) if claimed >= self.config.batch_size as usize => continue,
                Ok(_) => {
                    errors = 0;
                    self.config.poll_interval
                }
                Err(err) => {
                    errors = errors.saturating_add(1);
                    tracing::warn!(error = %err, consecutive_errors = errors, "outbox worker cannot read the outbox");
                    self.config
                        .poll_interval
                        .saturating_mul(1 << errors.min(8))
                        .min(MAX_ERROR_PAUSE)
                }
            };
            tokio::select! {
                changed = stop.changed() => if changed.is_err() { break },
                () = tokio::time::sleep(pause) => {}
                () = WAKE.notified() => {}
            }
        }
    }

    /// Claims and delivers one batch; returns how many were claimed.
    async fn round(&self) -> Result<usize, DbError> {
        let db = &self.core.db;
        let now = now_ms();
        if !store::any_due(db, now).await? {
            return Ok(0);
        }
        let lease_until = now.saturating_add(millis(self.config.lease));
        let claimed = store::claim(db, now, lease_until, i64::from(self.config.batch_size)).await?;
        let count = claimed.len();
        futures_util::future::join_all(claimed.into_iter().map(|c| self.process(c))).await;
        Ok(count)
    }

    async fn process(&self, claimed: Claimed) {
        let max_attempts = self.core.settings.outbox.max_attempts;
        let outcome = if claimed.attempts > i32::try_from(max_attempts).unwrap_or(i32::MAX) {
            // Earlier attempts were cut short (the worker died mid-delivery)
            // until the attempts ran out: give up rather than loop forever.
            Err(Failure::new("attempts exhausted by interrupted deliveries", true))
        } else {
            // Ending well within the lease keeps a slow receiver from
            // making another worker take the message over mid-delivery.
            tokio::time::timeout(self.config.lease / 2, self.deliver(&claimed))
                .await
                .unwrap_or_else(|_| Err(Failure::new("delivery took longer than half the lease", false)))
        };
        let recorded = match outcome {
            Ok(()) => self.record_delivery(&claimed).await,
            Err(failure) => self.record_failure(&claimed, &failure, max_attempts).await,
        };
        match recorded {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                outbox.id = %claimed.id,
                attempt = claimed.attempts,
                "outbox claim expired before the outcome was recorded; another worker took the message over"
            ),
            Err(err) => tracing::error!(
                outbox.id = %claimed.id,
                error = %err,
                "cannot record an outbox outcome; the message is tried again after its lease"
            ),
        }
    }

    async fn deliver(&self, claimed: &Claimed) -> Result<(), Failure> {
        let message = OutboxMessage::decode(&claimed.kind, &claimed.payload).map_err(|why| Failure::new(why, true))?;
        match message {
            OutboxMessage::Email(email) => {
                let mailer = self.mailer.as_ref().map_err(|why| Failure::new(why, false))?;
                mailer
                    .send(&email, Some(claimed.id))
                    .await
                    .map_err(|err| Failure::new(&err, err.is_permanent()))
            }
            OutboxMessage::Webhook(hook) => webhook::deliver(&hook, claimed.id, &self.core.settings)
                .await
                .map_err(|err| Failure::new(&err, err.is_permanent())),
        }
    }

    async fn record_delivery(&self, claimed: &Claimed) -> Result<bool, DbError> {
        tracing::info!(outbox.id = %claimed.id, outbox.kind = %claimed.kind, attempt = claimed.attempts, "outbox message delivered");
        metrics::counter!("keel_outbox_deliveries_total", "kind" => kind_label(&claimed.kind), "outcome" => "delivered").increment(1);
        store::mark_delivered(&self.core.db, claimed, now_ms()).await
    }

    async fn record_failure(&self, claimed: &Claimed, failure: &Failure, max_attempts: u32) -> Result<bool, DbError> {
        let attempt = u32::try_from(claimed.attempts).unwrap_or(u32::MAX);
        let delay = (!failure.permanent && attempt < max_attempts)
            .then(|| self.config.backoff.delay(attempt, &mut rand::thread_rng()));
        let (id, kind, reason) = (&claimed.id, &claimed.kind, &failure.reason);
        match delay {
            Some(delay) => tracing::warn!(
                outbox.id = %id, outbox.kind = %kind, attempt, retry_in_ms = millis(delay), reason = %reason,
                "outbox delivery failed; will retry"
            ),
            None => tracing::error!(
                outbox.id = %id, outbox.kind = %kind, attempt, reason = %reason,
                "outbox delivery failed; message dead-lettered"
            ),
        }
        let outcome = if delay.is_some() { "retried" } else { "dead" };
        metrics::counter!("keel_outbox_deliveries_total", "kind" => kind_label(kind), "outcome" => outcome)
            .increment(1);
        let retry_at = delay.map(|d| now_ms().saturating_add(millis(d)));
        store::mark_failed(&self.core.db, claimed, retry_at, reason).await
    }
}

/// The stored kind as a metric label (a foreign kind is `other`).
fn kind_label(kind: &str) -> &'static str {
    match kind {
        store::KIND_EMAIL => store::KIND_EMAIL,
        store::KIND_WEBHOOK => store::KIND_WEBHOOK,
        _ => "other",
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
