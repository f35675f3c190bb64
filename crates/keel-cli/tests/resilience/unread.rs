//! A request whose body the server did not read (refused before it was
//! needed) closes its connection, and the answer says `Connection: close`,
//! so a client never sends its next request on a connection that is going
//! away; a body that was read keeps the connection alive.

use std::time::Duration;

use keel_testkit::{Backend, TestServer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::connections::read_until_closed;

/// `head` then `body` on a new connection; what came back before the server
/// closed (or a second passed).
async fn exchange(server: &TestServer, request: &str) -> (String, Option<Duration>) {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    read_until_closed(&mut stream, Duration::from_secs(1)).await
}

fn post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn a_body_left_unread_closes_the_connection_and_says_so() {
    let server = TestServer::spawn(keel_cli::site(), Backend::Sqlite).await;
    // No CSRF token: refused before the body is looked at.
    let (answer, closed) = exchange(&server, &post("/api/forms", r#"{"title":"Never read"}"#)).await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(closed.is_some(), "and the connection is closed");

    // A body that was read (a submission with a bad token) keeps it open.
    let slug = super::published_form(&server).await;
    let body = r#"{"submission_token":"nope","answers":{}}"#;
    let (answer, closed) = exchange(&server, &post(&format!("/api/public/forms/{slug}/responses"), body)).await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(!answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(closed.is_none(), "a read body leaves the connection open");
}
