//! `Receiver`: a real HTTP server on 127.0.0.1:0 that records every request
//! (webhook deliveries) and answers 200, or, when told to, 500 or nothing at
//! all for the next few requests (a failing or hung receiver).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::Router;
use tokio::task::JoinHandle;

/// One request as the receiver got it, with the status it answered (0 for
/// a request it never answered).
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
    pub status: u16,
}

impl ReceivedRequest {
    /// The header `name` as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the receiver answered 2xx: a delivery.
    pub fn delivered(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[derive(Default)]
struct Script {
    requests: Mutex<Vec<ReceivedRequest>>,
    fail_next: AtomicUsize,
    hang_next: AtomicUsize,
}

/// A running receiver; dropping it stops it.
pub struct Receiver {
    pub addr: SocketAddr,
    script: Arc<Script>,
    task: JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the receiver");
        let addr = listener.local_addr().expect("the bound address");
        let script = Arc::new(Script::default());
        let app = Router::new().fallback(record).with_state(script.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, script, task }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next `count` requests are answered 500.
    pub fn fail_next(&self, count: usize) {
        self.script.fail_next.store(count, Ordering::SeqCst);
    }

    /// The next `count` requests are recorded and never answered.
    pub fn hang_next(&self, count: usize) {
        self.script.hang_next.store(count, Ordering::SeqCst);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.script.requests.lock().expect("the receiver's lock").clone()
    }

    /// The requests answered 2xx.
    pub fn deliveries(&self) -> Vec<ReceivedRequest> {
        self.requests().into_iter().filter(ReceivedRequest::delivered).collect()
    }

    /// Waits until `done` holds for the requests so far; panics with `what`
    /// after `timeout`.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[ReceivedRequest]) -> bool,
    ) -> Vec<ReceivedRequest> {
        let deadline = Instant::now() + timeout;
        loop {
            let requests = self.requests();
            if done(&requests) {
                return requests;
            }
            assert!(
                Instant::now() < deadline,
                "receiver: {what} did not happen within {timeout:?}; got {} request(s)",
                requests.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Takes one from `counter` when it is above zero.
fn take_one(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

async fn record(
    State(script): State<Arc<Script>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let hang = take_one(&script.hang_next);
    let status = if hang {
        0
    } else if take_one(&script.fail_next) {
        500
    } else {
        200
    };
    script
        .requests
        .lock()
        .expect("the receiver's lock")
        .push(ReceivedRequest {
            method,
            path: uri.path().to_owned(),
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            status,
        });
    if hang {
        std::future::pending::<()>().await;
    }
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
