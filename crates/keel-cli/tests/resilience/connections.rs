//! Slow and abusive clients: header read and keep-alive clocks, 431 for an
//! oversized head, 408 for a body that does not arrive, the connection cap
//! and load shedding. No storage is involved beyond start-up, so these run
//! on SQLite only.

use std::time::{Duration, Instant};

use keel_testkit::{Backend, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection (or `limit` passes);
/// returns what was read and how long the server took to close.
pub(crate) async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let start = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&seen).into_owned(), Some(start.elapsed())),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&seen).into_owned(), None),
        }
    }
}

/// A form to post to; returns the head of a JSON submission to it that
/// announces a 100-byte body.
async fn submission_head(server: &TestServer) -> String {
    let slug = super::published_form(server).await;
    format!(
        "POST /api/public/forms/{slug}/responses HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"answers\":"
    )
}

async fn with_clocks(header_s: u64, keepalive_s: u64) -> TestServer {
    TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, |s| {
        s.server.header_read_timeout = Duration::from_secs(header_s);
        s.server.keepalive_timeout = Duration::from_secs(keepalive_s);
    })
    .await
}

#[tokio::test]
async fn a_slow_header_sender_is_dropped_at_the_header_read_timeout() {
    let server = with_clocks(1, 30).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let started = Instant::now();
    // One header line every 300 ms, for up to 5 s: a slowloris.
    let drip = async {
        for i in 0..16 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if stream.write_all(format!("X-Drip-{i}: 1\r\n").as_bytes()).await.is_err() {
                break;
            }
        }
    };
    drip.await;
    let (_, closed) = read_until_closed(&mut stream, Duration::from_secs(3)).await;
    assert!(closed.is_some(), "the connection is closed");
    // Writes fail once the server has closed: the drip stopped early.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "dropped near the 1 s header timeout, not after the whole drip: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_at_the_header_read_timeout() {
    let server = with_clocks(1, 30).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let (text, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    let closed = closed.expect("closed by the server");
    assert!(
        closed >= Duration::from_millis(900),
        "not before the timeout: {closed:?}"
    );
    assert!(
        text.is_empty(),
        "nothing was sent to a client that asked nothing: {text}"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_gets_the_keep_alive_clock_not_the_header_one() {
    let server = with_clocks(1, 3).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
    stream.write_all(request).await.unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Idle for longer than the header timeout: still open.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    stream.write_all(request).await.unwrap();
    let n = stream.read(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "a keep-alive connection idle past the header timeout still serves"
    );
    let (_, closed) = read_until_closed(&mut stream, Duration::from_secs(6)).await;
    let closed = closed.expect("closed after the keep-alive timeout");
    assert!(
        closed >= Duration::from_millis(2800),
        "not before the keep-alive timeout: {closed:?}"
    );
}

#[tokio::test]
async fn an_oversized_request_head_is_431() {
    let server = TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, |s| s.server.max_header_bytes = 8192).await;
    let big = "a".repeat(16 * 1024);
    let (status, _) = server
        .raw(&format!(
            "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: {big}\r\nConnection: close\r\n\r\n"
        ))
        .await;
    assert_eq!(status, 431);
    let (status, _) = server
        .raw("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Small: 1\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(status, 200, "a head within the limit is served");
}

#[tokio::test]
async fn a_body_that_does_not_arrive_is_408_problem() {
    let server = TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, |s| {
        s.server.body_read_timeout = Duration::from_secs(1);
    })
    .await;
    // A public submission: no session or CSRF stands before the body read.
    let head = submission_head(&server).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let (text, closed) = read_until_closed(&mut stream, Duration::from_secs(8)).await;
    assert!(closed.is_some(), "answered and closed: {text}");
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    assert!(text.contains("urn:keel:problem:request-timeout"), "{text}");
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_at_once_and_admitted_again_later() {
    let server = TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, |s| {
        s.server.max_connections = Some(4)
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // Let the server accept the four before the fifth arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(server.addr).await.unwrap();
    let started = Instant::now();
    let (text, closed) = read_until_closed(&mut extra, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "the fifth connection is closed, not queued");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused at once: {:?}",
        started.elapsed()
    );
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.to_ascii_lowercase().contains("retry-after: 1"), "{text}");
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _) = server
            .raw("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "admitted again once the others closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn requests_over_the_in_flight_cap_are_shed_but_health_checks_never_are() {
    let server = TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, |s| {
        s.server.max_concurrent_requests = 2;
        s.server.body_read_timeout = Duration::from_secs(20);
    })
    .await;
    // Two requests in flight: each waits for a body that does not come.
    let head = submission_head(&server).await;
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        slow.push(stream);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let shed = loop {
        let response = server.get("/api/csrf").await;
        if response.status() == 503 {
            break response;
        }
        assert!(
            Instant::now() < deadline,
            "a third request is shed while two are in flight"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(shed.headers()["retry-after"], "1");
    assert_eq!(shed.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = shed.json().await.unwrap();
    assert_eq!(body["type"], "urn:keel:problem:overloaded");
    assert!(body["request_id"].is_string(), "{body}");
    assert_eq!(server.get("/healthz").await.status(), 200, "liveness is never shed");
    assert_eq!(server.get("/readyz").await.status(), 200, "readiness is never shed");
    drop(slow);
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.get("/api/csrf").await.status() != 200 {
        assert!(Instant::now() < deadline, "served again once the slow requests ended");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
