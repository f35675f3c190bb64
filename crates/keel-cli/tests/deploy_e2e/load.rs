//! Zero failed requests through failure and deploys: a steady, bounded load
//! of public form reads and submissions through nginx while one instance is
//! killed (`kill -9`), and then while both are restarted one after the
//! other (SIGTERM, exit, start, ready) as a rolling deploy does.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::topology::Topology;

/// What a load run saw.
#[derive(Default)]
pub(crate) struct Counts {
    pub sent: AtomicU64,
    pub failed_gets: AtomicU64,
    pub failed_posts: AtomicU64,
    /// Submission number → the id its 201 named.
    pub created: Mutex<BTreeMap<u64, String>>,
    pub failures: Mutex<Vec<String>>,
}

/// Workers, each at most this many requests.
const WORKERS: usize = 8;
const MAX_PER_WORKER: u64 = 4000;

pub(crate) struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    pub counts: Arc<Counts>,
}

impl Load {
    /// Starts the workers: each alternates a read of the public form and a
    /// submission numbered from `next`.
    pub(crate) fn start(t: &Topology, slug: &str, token: &str, next: Arc<AtomicU64>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let tasks = (0..WORKERS)
            .map(|_| {
                let (client, stop, counts, next) = (t.client.clone(), stop.clone(), counts.clone(), next.clone());
                let read = t.url(&format!("/api/public/forms/{slug}"));
                let write = t.url(&format!("/api/public/forms/{slug}/responses"));
                let token = token.to_owned();
                tokio::spawn(async move {
                    for _ in 0..MAX_PER_WORKER / 2 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        counts.sent.fetch_add(2, Ordering::Relaxed);
                        match client.get(&read).send().await {
                            Ok(r) if r.status() == 200 => {}
                            other => {
                                counts.failed_gets.fetch_add(1, Ordering::Relaxed);
                                counts.failures.lock().unwrap().push(format!("GET {other:?}"));
                            }
                        }
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        let body = json!({"submission_token": token, "answers": {"n": n}});
                        match client.post(&write).json(&body).send().await {
                            Ok(r) if r.status() == 201 => {
                                let id: Value = r.json().await.unwrap_or_default();
                                let id = id["id"].as_str().unwrap_or_default().to_owned();
                                counts.created.lock().unwrap().insert(n, id);
                            }
                            other => {
                                counts.failed_posts.fetch_add(1, Ordering::Relaxed);
                                counts.failures.lock().unwrap().push(format!("POST {other:?}"));
                            }
                        }
                    }
                })
            })
            .collect();
        Self { stop, tasks, counts }
    }

    pub(crate) async fn finish(self) -> Arc<Counts> {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.expect("a load worker");
        }
        self.counts
    }
}

/// Every stored response's submission number, with how often it is there.
pub(crate) async fn stored(t: &Topology) -> BTreeMap<u64, usize> {
    let pool = sqlx::PgPool::connect(&t.db.url).await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as("SELECT answers FROM form_responses")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    let mut seen = BTreeMap::new();
    for (answers,) in rows {
        let answers: Value = serde_json::from_str(&answers).unwrap();
        *seen.entry(answers["n"].as_u64().unwrap()).or_insert(0) += 1;
    }
    seen
}

/// Checks a run: every 201 is stored, nothing is stored twice; prints and
/// returns (sent, failed GETs, failed POSTs, 201s).
pub(crate) fn report(name: &str, counts: &Counts, stored: &BTreeMap<u64, usize>) -> (u64, u64, u64, usize) {
    let created = counts.created.lock().unwrap();
    let missing: BTreeSet<&u64> = created.keys().filter(|n| !stored.contains_key(n)).collect();
    assert!(missing.is_empty(), "{name}: answered 201 but not stored: {missing:?}");
    let twice: Vec<_> = stored.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "{name}: stored twice: {twice:?}");
    let result = (
        counts.sent.load(Ordering::Relaxed),
        counts.failed_gets.load(Ordering::Relaxed),
        counts.failed_posts.load(Ordering::Relaxed),
        created.len(),
    );
    println!(
        "{name}: {} requests sent, {} failed GETs, {} failed POSTs, {} answered 201, all {} found stored once ({} rows in all)",
        result.0, result.1, result.2, result.3, result.3, stored.len()
    );
    result
}

/// Lets the load run for a while.
pub(crate) async fn pause(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}
