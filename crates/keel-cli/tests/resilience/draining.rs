//! The drain as a pooling proxy (nginx's `upstream { keepalive N; }`) sees
//! it, over raw TCP: a request written on an idle kept-alive connection
//! just after the drain began is answered, not cut; every response after
//! the drain began says `Connection: close`; connections left idle are
//! closed when the drain grace ends, and the drain stays clean and short.
//!
//! Each server here is stopped by a channel the test holds, so the test
//! can keep talking to it after the drain began.

use std::time::{Duration, Instant};

use keel::server::{Drained, DRAIN_GRACE};
use keel_testkit::{Backend, TestServer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use super::connections::read_until_closed;

const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
const READYZ: &str = "GET /readyz HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// The site on SQLite; it drains when the returned sender fires.
async fn drainable() -> (TestServer, oneshot::Sender<()>) {
    let (begin, begun) = oneshot::channel::<()>();
    let server = TestServer::spawn_until(
        keel_cli::site(),
        Backend::Sqlite,
        |s| s.server.shutdown_timeout = SHUTDOWN_TIMEOUT,
        async move {
            let _ = begun.await;
        },
        None,
    )
    .await;
    (server, begin)
}

/// Begins the drain and returns once the connections have been told;
/// returns when readiness turned off (the listener was closed just before).
async fn begin_drain(server: &TestServer, begin: oneshot::Sender<()>) -> Instant {
    begin.send(()).expect("the server is running");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.core.lifecycle.is_shutting_down() {
        assert!(Instant::now() < deadline, "the drain begins");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let begun = Instant::now();
    // Each connection's task hears of the drain just after readiness turns
    // off; without the grace, an idle connection would be gone by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    begun
}

/// Sends `request` and reads one whole response (head and a
/// `Content-Length` body), leaving the connection open.
async fn exchange(stream: &mut TcpStream, request: &str) -> String {
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
        let n = read.expect("an answer in time").expect("the connection is open");
        assert!(
            n > 0,
            "closed before a whole response: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = header(&text, "content-length")
                .expect("a content-length")
                .parse()
                .unwrap();
            if seen.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

/// A header of the response in `text` (its head only).
fn header<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// A public submission to the form `slug`: a POST a proxy must not retry.
fn submission(slug: &str, token: &str) -> (String, String) {
    let body = json!({"submission_token": token, "answers": {"name": "Ada"}}).to_string();
    let head = format!(
        "POST /api/public/forms/{slug}/responses HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    (head, body)
}

/// Asserts a complete answer with `status` and `Connection: close`, after
/// which the server closed the connection.
fn assert_answered_then_closed(text: &str, closed: Option<Duration>, status: u16, what: &str) {
    assert!(
        text.starts_with(&format!("HTTP/1.1 {status} ")),
        "{what}: a complete answer, not a closed connection: {text:?}"
    );
    assert_eq!(header(text, "connection"), Some("close"), "{what}: {text}");
    assert!(closed.is_some(), "{what}: then the server closes the connection");
}

#[tokio::test]
async fn a_request_on_an_idle_kept_alive_connection_after_the_drain_began_is_answered_with_connection_close() {
    let (mut server, begin) = drainable().await;
    let slug = super::published_form(&server).await;
    let token = super::submission_token(&server, &slug).await;
    // Two pooled connections, each used once and then idle.
    let mut get = TcpStream::connect(server.addr).await.unwrap();
    let mut post = TcpStream::connect(server.addr).await.unwrap();
    for stream in [&mut get, &mut post] {
        let first = exchange(stream, READYZ).await;
        assert!(first.starts_with("HTTP/1.1 200"), "{first}");
        assert_eq!(
            header(&first, "connection"),
            None,
            "kept alive before the drain: {first}"
        );
    }

    begin_drain(&server, begin).await;

    get.write_all(READYZ.as_bytes())
        .await
        .expect("the idle connection is still open");
    let (text, closed) = read_until_closed(&mut get, Duration::from_secs(5)).await;
    assert_answered_then_closed(&text, closed, 503, "a GET on an idle connection");

    let (head, body) = submission(&slug, &token);
    post.write_all(format!("{head}{body}").as_bytes())
        .await
        .expect("the idle connection is still open");
    let (text, closed) = read_until_closed(&mut post, Duration::from_secs(5)).await;
    assert_answered_then_closed(&text, closed, 201, "a POST on an idle connection");

    assert_eq!(server.wait().await, Drained::Clean);
}

#[tokio::test]
async fn a_request_in_flight_when_the_drain_begins_is_answered_with_connection_close() {
    let (mut server, begin) = drainable().await;
    let slug = super::published_form(&server).await;
    let token = super::submission_token(&server, &slug).await;
    let (head, body) = submission(&slug, &token);
    let (early, late) = body.split_at(10);
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    // The head and part of the body: the handler is running, waiting for
    // the rest.
    stream.write_all(format!("{head}{early}").as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    begin_drain(&server, begin).await;

    stream.write_all(late.as_bytes()).await.unwrap();
    let (text, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert_answered_then_closed(&text, closed, 201, "a request in flight");
    assert_eq!(server.wait().await, Drained::Clean);
}

#[tokio::test]
async fn idle_connections_are_closed_when_the_drain_grace_ends_and_the_drain_stays_short() {
    let (mut server, begin) = drainable().await;
    let mut used = TcpStream::connect(server.addr).await.unwrap();
    assert!(exchange(&mut used, READYZ).await.starts_with("HTTP/1.1 200"));
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    // Let the server accept the silent one before the listener closes.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let begun = begin_drain(&server, begin).await;
    assert!(
        std::net::TcpStream::connect(server.addr).is_err(),
        "the listener closes at once"
    );
    for (stream, what) in [
        (&mut used, "a connection used once"),
        (&mut silent, "a connection never used"),
    ] {
        let (text, closed) = read_until_closed(stream, Duration::from_secs(8)).await;
        let closed_after = begun.elapsed();
        assert!(closed.is_some(), "{what}: closed by the server");
        assert!(
            text.is_empty(),
            "{what}: nothing sent to a client that asked nothing: {text}"
        );
        assert!(
            closed_after >= DRAIN_GRACE - Duration::from_millis(100),
            "{what}: kept open for the grace: {closed_after:?}"
        );
        assert!(
            closed_after < DRAIN_GRACE + Duration::from_millis(1500),
            "{what}: closed when the grace ends: {closed_after:?}"
        );
    }
    assert_eq!(server.wait().await, Drained::Clean);
    assert!(
        begun.elapsed() < SHUTDOWN_TIMEOUT / 2,
        "the drain ends with the grace, well within the timeout: {:?}",
        begun.elapsed()
    );
}
