//! Graceful shutdown on a real SIGTERM: `/readyz` turns 503 at once, the
//! listener closes, an in-flight request still completes with 200.
//!
//! This file holds one test because it signals its own process (the
//! server's handler takes SIGTERM over, so nothing else is disturbed).

use keel::Site;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use keel::{App, Core};
use keel_testkit::{Backend, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Slow;

impl App for Slow {
    fn name(&self) -> &'static str {
        "slow"
    }

    fn routes(&self, _core: &Core) -> Router {
        Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "finished"
            }),
        )
    }
}

/// Sends one request on a kept-alive connection and reads the status line.
async fn status_on(stream: &mut tokio::net::TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_requests_and_refuses_new_connections() {
    let mut server = TestServer::spawn_until(
        Site::new("Test", "A slow app.").with(Slow),
        Backend::Sqlite,
        |s| s.server.shutdown_timeout = Duration::from_secs(10),
        keel::server::termination_signal(),
        None,
    )
    .await;
    // Let the signal handler install before signalling.
    let mut probe = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    assert!(status_on(&mut probe, "/readyz").await.contains("200"));

    let slow = tokio::spawn({
        let client = server.client.clone();
        let url = server.url("/slow");
        async move { client.get(url).send().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    send_sigterm_to_self();

    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if std::net::TcpStream::connect(server.addr).is_err() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the listener closes after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(server.core.lifecycle.is_shutting_down(), "readiness turned off");

    let response = slow.await.unwrap().expect("the in-flight request completes");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "finished");
    assert_eq!(server.wait().await, keel::server::Drained::Clean);
}

fn send_sigterm_to_self() {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .expect("kill(1) runs");
    assert!(status.success(), "signalling ourselves");
}
