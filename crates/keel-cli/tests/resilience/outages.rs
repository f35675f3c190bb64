//! Redis, PostgreSQL and SQLite going away and coming back, with servers the
//! tests own (never the shared ones).

use keel_forms::settings::FormsSettings;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keel::settings::{CacheBackendKind, DatabaseKind, Rate};
use keel_testkit::private::{PrivatePostgres, PrivateRedis};
use keel_testkit::{on_both_backends, Backend, TestServer};
use secrecy::SecretString;
use serde_json::{json, Value};

use super::{published_form_with_id, submission_token, submit, Outcome};

on_both_backends!(the_site_rides_out_a_refused_and_a_frozen_redis);

fn private_redis() -> Option<PrivateRedis> {
    let redis = PrivateRedis::start();
    if redis.is_none() {
        keel_testkit::services::missing_program("redis-server");
    }
    redis
}

async fn readiness(server: &TestServer) -> (u16, Value) {
    let response = server.get("/readyz").await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// Polls `/readyz` until its cache check reads `want`; returns how long.
async fn wait_for_cache(server: &TestServer, want: &str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let (status, body) = readiness(server).await;
        if body["checks"]["cache"] == want {
            assert_eq!(status, 200, "ready whatever the cache: {body}");
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "cache still {body} after {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn the_site_rides_out_a_refused_and_a_frozen_redis(backend: Backend) {
    let Some(mut redis) = private_redis() else {
        return;
    };
    let url = redis.url();
    let server = TestServer::spawn_with(keel_cli::site(), backend, move |s| {
        s.cache.backend = CacheBackendKind::Redis(SecretString::from(url));
        s.update_section(|f: &mut FormsSettings| {
            f.submission_rate = Rate {
                count: 3,
                period: Duration::from_secs(600),
            }
        });
    })
    .await;
    let (id, slug) = published_form_with_id(&server).await;
    let token = submission_token(&server, &slug).await;
    let visitor = reqwest::Client::new();

    // Frozen: connections hang. The first call waits for its timeout and
    // opens the breaker; after that nothing waits for Redis.
    redis.freeze();
    for _ in 0..5 {
        server.public_form(&slug).await;
    }
    wait_for_cache(&server, "degraded", Duration::from_secs(3)).await;
    let statuses: Vec<u16> = {
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(submit(&visitor, &server, &slug, &token).await.status);
        }
        statuses
    };
    assert_eq!(
        statuses,
        [201, 201, 201, 429],
        "the rate limit is counted in the instance while Redis is away, not lifted"
    );
    // An invalidation made during the outage is replayed on the way back:
    // the cached copy (accepting) must not come back once Redis does.
    let closed = server
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/forms/{id}"),
            &json!({"accepting_responses": false}),
        )
        .await;
    assert_eq!(closed.status(), 200);
    redis.thaw();
    let back = wait_for_cache(&server, "ok", Duration::from_secs(4)).await;
    assert!(
        back <= Duration::from_millis(2500),
        "cache used again within 2 s of its return: {back:?}"
    );
    assert_eq!(
        server.public_form(&slug).await["accepting_responses"],
        false,
        "the outage's invalidation reached Redis before it was used again"
    );

    // Refused: the server is gone.
    redis.stop();
    server.public_form(&slug).await;
    wait_for_cache(&server, "degraded", Duration::from_secs(3)).await;
    assert!(redis.restart(), "redis-server starts again");
    // A second trip within a minute of the first recovery keeps the cache
    // skipped for at least 2 s (a flapping Redis is not retried at once).
    let back = wait_for_cache(&server, "ok", Duration::from_secs(6)).await;
    assert!(
        back <= Duration::from_millis(3500),
        "cache used again soon after its return: {back:?}"
    );
}

/// Runs `clients` loops of submissions and owner reads until `stop`.
fn mixed_load(
    server: &Arc<TestServer>,
    form: (&str, &str),
    token: &str,
    stop: &Arc<AtomicBool>,
) -> (Vec<tokio::task::JoinHandle<()>>, Arc<Mutex<Vec<Outcome>>>) {
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let tasks = (0..8)
        .map(|i| {
            let (server, stop, outcomes) = (server.clone(), stop.clone(), outcomes.clone());
            let (id, slug, token) = (form.0.to_owned(), form.1.to_owned(), token.to_owned());
            tokio::spawn(async move {
                let visitor = reqwest::Client::new();
                while !stop.load(Ordering::Relaxed) {
                    let outcome = if i % 2 == 0 {
                        submit(&visitor, &server, &slug, &token).await
                    } else {
                        let response = server.client.get(server.url(&format!("/api/forms/{id}"))).send().await;
                        match response {
                            Ok(r) => Outcome {
                                status: r.status().as_u16(),
                                retry_after: r.headers().contains_key("retry-after"),
                                id: None,
                            },
                            Err(_) => Outcome {
                                status: 0,
                                retry_after: false,
                                id: None,
                            },
                        }
                    };
                    outcomes.lock().unwrap().push(outcome);
                }
            })
        })
        .collect();
    (tasks, outcomes)
}

async fn wait_ready(server: &TestServer, within: Duration) -> Duration {
    let start = Instant::now();
    while readiness(server).await.0 != 200 {
        assert!(
            start.elapsed() < within,
            "not ready {within:?} after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_and_stall_under_load_lose_no_acknowledged_submission() {
    let Some(pg) = PrivatePostgres::start() else {
        keel_testkit::services::missing_program("initdb");
        return;
    };
    let url = pg.url();
    let server = TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, move |s| {
        s.database.url = SecretString::from(url);
        s.database.kind = DatabaseKind::Postgres;
        s.server.request_timeout = Duration::from_secs(3);
        s.update_section(|f: &mut FormsSettings| {
            f.submission_rate = Rate {
                count: 1_000_000,
                period: Duration::from_secs(60),
            }
        });
    })
    .await;
    let (id, slug) = published_form_with_id(&server).await;
    let token = submission_token(&server, &slug).await;
    let server = Arc::new(server);
    let stop = Arc::new(AtomicBool::new(false));
    let (tasks, outcomes) = mixed_load(&server, (&id, &slug), &token, &stop);

    tokio::time::sleep(Duration::from_millis(800)).await;
    // A restart: sessions are terminated (57P01), then connections refused.
    tokio::task::block_in_place(|| pg.stop());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(readiness(&server).await.0, 503, "not ready while the database is away");
    tokio::task::block_in_place(|| pg.restart());
    let ready_after_restart = wait_ready(&server, Duration::from_secs(2)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    // A stall longer than the request timeout: answered 503 in time.
    tokio::task::block_in_place(|| pg.freeze());
    tokio::time::sleep(Duration::from_secs(4)).await;
    tokio::task::block_in_place(|| pg.thaw());
    let ready_after_stall = wait_ready(&server, Duration::from_secs(2)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }

    let outcomes = outcomes.lock().unwrap().clone();
    let count = |status: u16| outcomes.iter().filter(|o| o.status == status).count();
    eprintln!(
        "{} requests: {} × 201, {} × 200, {} × 503; ready {ready_after_restart:?} after the restart, \
         {ready_after_stall:?} after the stall",
        outcomes.len(),
        count(201),
        count(200),
        count(503)
    );
    for outcome in &outcomes {
        assert!(
            matches!(outcome.status, 200 | 201 | 503),
            "only successes and 503 while the database comes and goes: {outcome:?}"
        );
        if outcome.status == 503 {
            assert!(outcome.retry_after, "a 503 says when to retry");
        }
    }
    assert!(count(503) > 0, "the outage was seen");
    assert!(count(201) > 0, "submissions went through around it");
    let acknowledged: Vec<uuid::Uuid> = outcomes
        .iter()
        .filter(|o| o.status == 201)
        .map(|o| o.id.as_deref().unwrap().parse().unwrap())
        .collect();
    let keel::db::Db::Postgres(pool) = &server.core.db else {
        panic!("the server runs on PostgreSQL");
    };
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM form_responses WHERE id = ANY($1)")
        .bind(&acknowledged)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        stored as usize,
        acknowledged.len(),
        "every submission answered 201 is stored"
    );
}

#[tokio::test]
async fn a_sqlite_file_locked_by_another_process_gives_503_then_recovers() {
    let server = TestServer::spawn(keel_cli::site(), Backend::Sqlite).await;
    let (_, slug) = published_form_with_id(&server).await;
    let token = submission_token(&server, &slug).await;
    let visitor = reqwest::Client::new();
    assert_eq!(submit(&visitor, &server, &slug, &token).await.status, 201);
    let DatabaseKind::Sqlite { path } = &server.core.settings.database.kind else {
        panic!("SQLite");
    };
    // Another process takes the write lock and holds it past the busy
    // timeout (5 s).
    let path = path.display().to_string();
    let locker = tokio::task::spawn_blocking(move || {
        let mut locker = std::process::Command::new("python3")
            .args([
                "-c",
                "import sqlite3, sys, time\n\
                 c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
                 c.execute('BEGIN EXCLUSIVE')\n\
                 print('locked', flush=True)\n\
                 time.sleep(7)\n\
                 c.execute('ROLLBACK')\n",
                &path,
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(locker.stdout.take().unwrap()), &mut line).unwrap();
        assert_eq!(line.trim(), "locked");
        locker
    })
    .await
    .unwrap();
    let locked = submit(&visitor, &server, &slug, &token).await;
    assert_eq!(
        locked.status, 503,
        "a locked database is unavailable, not an error: {locked:?}"
    );
    assert!(locked.retry_after);
    server.public_form(&slug).await; // reads go on while writes wait
    let mut locker = locker;
    tokio::task::spawn_blocking(move || locker.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        submit(&visitor, &server, &slug, &token).await.status,
        201,
        "recovers once released"
    );
}
