//! The durable outbox over real servers, on SQLite and PostgreSQL: a
//! message commits with its transaction or not at all, webhooks arrive
//! signed, failures are retried with the same idempotency key and
//! dead-lettered at the end, a worker killed mid-delivery loses nothing,
//! and many workers never deliver one message twice.

use std::collections::HashSet;
use std::time::Duration;

use hmac::{Hmac, Mac};
use keel::outbox::store::Status;
use keel::outbox::{self, OutboxMessage, WebhookMessage};
use keel::Settings;
use keel_testkit::outbox::{entry, wait_for_status};
use keel_testkit::{on_both_backends, Backend, Receiver, TestServer};
use serde_json::{json, Value};
use sha2::Sha256;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(20);
const SECRET: &str = "whsec-test-0123456789";

/// The receiver listens on loopback, which the SSRF guard refuses unless
/// private addresses are allowed.
fn allow_private(settings: &mut Settings) {
    settings.outbox.webhook_allow_private = true;
}

fn webhook(url: String, n: usize) -> OutboxMessage {
    OutboxMessage::Webhook(WebhookMessage {
        url,
        secret: SECRET.to_owned(),
        event: "response.created".to_owned(),
        payload: json!({"form": "contact", "n": n, "answers": {"name": "Ada"}}),
    })
}

/// Enqueues `messages` in one committed transaction; their ids.
async fn enqueue_committed(server: &TestServer, messages: &[OutboxMessage]) -> Vec<Uuid> {
    let mut tx = server.core.db.begin().await.unwrap();
    let mut ids = Vec::new();
    for message in messages {
        ids.push(outbox::enqueue(&mut tx, message).await.unwrap());
    }
    tx.commit().await.unwrap();
    outbox::wake_workers();
    ids
}

async fn enqueue_one(server: &TestServer, message: OutboxMessage) -> Uuid {
    enqueue_committed(server, &[message]).await[0]
}

fn key(request: &keel_testkit::ReceivedRequest) -> String {
    request.header("x-keel-idempotency-key").unwrap().to_owned()
}

on_both_backends!(
    a_rolled_back_message_is_never_sent_and_a_committed_one_is_sent_once,
    a_webhook_arrives_signed_with_timestamp_event_and_idempotency_key,
    a_webhook_failing_twice_is_delivered_on_the_third_attempt_with_the_same_key,
    a_webhook_failing_every_attempt_is_dead_lettered_after_max_attempts,
    a_message_claimed_by_a_killed_worker_is_delivered_after_restart_with_the_same_key,
    several_workers_on_one_database_never_deliver_a_message_twice,
);

async fn a_rolled_back_message_is_never_sent_and_a_committed_one_is_sent_once(backend: Backend) {
    let receiver = Receiver::start().await;
    let server = TestServer::spawn_with(keel_cli::site(), backend, allow_private).await;

    let mut tx = server.core.db.begin().await.unwrap();
    let rolled_back = outbox::enqueue(&mut tx, &webhook(receiver.url("/rolled-back"), 1))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let committed = enqueue_one(&server, webhook(receiver.url("/committed"), 2)).await;

    wait_for_status(&server.core.db, committed, Status::Delivered, false, WAIT).await;
    let found = outbox::store::find(&server.core.db, rolled_back).await.unwrap();
    assert!(found.is_none(), "a rolled-back message leaves no row");
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "one delivery, of the committed message only");
    assert_eq!(requests[0].path, "/committed");
    assert_eq!(key(&requests[0]), committed.to_string());
}

async fn a_webhook_arrives_signed_with_timestamp_event_and_idempotency_key(backend: Backend) {
    let receiver = Receiver::start().await;
    let server = TestServer::spawn_with(keel_cli::site(), backend, allow_private).await;
    let id = enqueue_one(&server, webhook(receiver.url("/hooks/keel"), 7)).await;
    let row = wait_for_status(&server.core.db, id, Status::Delivered, false, WAIT).await;
    assert_eq!(row.attempts, 1);
    assert!(row.delivered_at.is_some() && row.last_error.is_none(), "{row:?}");

    let request = receiver.deliveries().pop().expect("one delivery");
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("x-keel-event"), Some("response.created"));
    assert_eq!(key(&request), id.to_string());
    assert!(request.header("user-agent").unwrap().starts_with("Keel-Webhook/"));
    let body: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(
        body,
        json!({"form": "contact", "n": 7, "answers": {"name": "Ada"}}),
        "the body is the payload"
    );

    let timestamp = request.header("x-keel-timestamp").unwrap();
    let age = unix_now() - timestamp.parse::<i64>().unwrap();
    assert!(
        (0..60).contains(&age),
        "the timestamp is unix seconds of the attempt: {timestamp}"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", request.body).as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(request.header("x-keel-signature"), Some(expected.as_str()));
}

fn unix_now() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    i64::try_from(now.unwrap().as_secs()).unwrap()
}

async fn a_webhook_failing_twice_is_delivered_on_the_third_attempt_with_the_same_key(backend: Backend) {
    let receiver = Receiver::start().await;
    receiver.fail_next(2);
    let server = TestServer::spawn_with(keel_cli::site(), backend, allow_private).await;
    let id = enqueue_one(&server, webhook(receiver.url("/flaky"), 1)).await;

    // `hurry` makes each scheduled retry due at once: no waiting out the backoff.
    let row = wait_for_status(&server.core.db, id, Status::Delivered, true, WAIT).await;
    assert_eq!(row.attempts, 3);
    let requests = receiver.requests();
    let statuses: Vec<u16> = requests.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 500, 200]);
    assert!(
        requests.iter().all(|r| key(r) == id.to_string()),
        "every attempt carries the same key"
    );
}

async fn a_webhook_failing_every_attempt_is_dead_lettered_after_max_attempts(backend: Backend) {
    let receiver = Receiver::start().await;
    receiver.fail_next(usize::MAX);
    let server = TestServer::spawn_with(keel_cli::site(), backend, |s| {
        allow_private(s);
        s.outbox.max_attempts = 3;
    })
    .await;
    let id = enqueue_one(&server, webhook(receiver.url("/down"), 1)).await;

    let row = wait_for_status(&server.core.db, id, Status::Dead, true, WAIT).await;
    assert_eq!(row.attempts, 3);
    assert_eq!(row.last_error.as_deref(), Some("the receiver answered 500"));
    assert!(row.delivered_at.is_none());
    assert_eq!(receiver.requests().len(), 3, "no attempt after the last");
}

async fn a_message_claimed_by_a_killed_worker_is_delivered_after_restart_with_the_same_key(backend: Backend) {
    let receiver = Receiver::start().await;
    receiver.hang_next(1);
    let first = TestServer::spawn_with(keel_cli::site(), backend, allow_private).await;
    let id = enqueue_one(&first, webhook(receiver.url("/slow"), 1)).await;
    receiver
        .wait_until("the first attempt", WAIT, |requests| requests.len() == 1)
        .await;
    let claimed = entry(&first.core.db, id).await;
    assert_eq!(claimed.status, Status::Pending);
    assert!(
        claimed.locked_until.is_some(),
        "the first worker holds a lease: {claimed:?}"
    );

    // Another instance starts on the same database; the lease keeps it
    // off the message while the first worker may still be delivering.
    let second = first.spawn_sharing(allow_private).await;
    // The first instance dies mid-delivery: the process is gone, its claim stays.
    drop(first);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.requests().len(), 1, "a leased message is not taken over early");
    assert_eq!(entry(&second.core.db, id).await.status, Status::Pending);

    // Time passes beyond the lease.
    keel::on_pool!(&second.core.db, pool => {
        sqlx::query("UPDATE keel_outbox SET locked_until = 1 WHERE id = $1").bind(id).execute(pool).await.unwrap();
    });
    let row = wait_for_status(&second.core.db, id, Status::Delivered, false, WAIT).await;
    assert_eq!(row.attempts, 2);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].delivered());
    assert_eq!(
        key(&requests[0]),
        key(&requests[1]),
        "the redelivery carries the same idempotency key"
    );
    assert_eq!(key(&requests[1]), id.to_string());
}

async fn several_workers_on_one_database_never_deliver_a_message_twice(backend: Backend) {
    const MESSAGES: usize = 40;
    let receiver = Receiver::start().await;
    let first = TestServer::spawn_with(keel_cli::site(), backend, allow_private).await;
    let second = first.spawn_sharing(allow_private).await;
    let third = first.spawn_sharing(allow_private).await;
    let messages: Vec<OutboxMessage> = (0..MESSAGES).map(|n| webhook(receiver.url("/many"), n)).collect();
    let ids = enqueue_committed(&second, &messages).await;

    for id in &ids {
        wait_for_status(&third.core.db, *id, Status::Delivered, false, WAIT).await;
    }
    let requests = receiver.requests();
    let keys: HashSet<String> = requests.iter().map(key).collect();
    assert_eq!(requests.len(), MESSAGES, "each message delivered exactly once");
    assert_eq!(keys.len(), MESSAGES);
    assert!(requests.iter().all(|r| r.delivered()));
    let expected: HashSet<String> = ids.iter().map(Uuid::to_string).collect();
    assert_eq!(keys, expected);
}
