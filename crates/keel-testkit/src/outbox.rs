//! Looking into the outbox from tests: a message's row, waiting for it to
//! reach a status, and making scheduled retries due now, so retry tests
//! need no sleeps and no shortened backoff.

use std::time::{Duration, Instant};

use keel::db::Db;
use keel::outbox::store::{self, Entry, Status};
use uuid::Uuid;

/// The row of message `id`; panics when there is none.
pub async fn entry(db: &Db, id: Uuid) -> Entry {
    store::find(db, id)
        .await
        .expect("the outbox is readable")
        .unwrap_or_else(|| panic!("no outbox row {id}"))
}

/// Makes every pending message that waits for a retry due now (as if its
/// backoff had passed). Claimed messages are left alone.
pub async fn retry_now(db: &Db) {
    keel::on_pool!(db, pool => {
        sqlx::query("UPDATE keel_outbox SET next_attempt_at = 0 WHERE status = 'pending' AND locked_until IS NULL")
            .execute(pool)
            .await
            .expect("rescheduling outbox retries");
    });
}

/// Waits until message `id` has `status`, making retries due on the way
/// when `hurry` is set; panics after `timeout` with the last row seen.
pub async fn wait_for_status(db: &Db, id: Uuid, status: Status, hurry: bool, timeout: Duration) -> Entry {
    let deadline = Instant::now() + timeout;
    loop {
        let row = entry(db, id).await;
        if row.status == status {
            return row;
        }
        assert!(
            Instant::now() < deadline,
            "outbox {id} did not become {} within {timeout:?}: {row:?}",
            status.as_str()
        );
        if hurry {
            retry_now(db).await;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
