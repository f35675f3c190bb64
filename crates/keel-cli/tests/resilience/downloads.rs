//! The keep-alive clock on a response body: a download that keeps moving
//! is never cut, one the client stopped reading is.

use std::time::{Duration, Instant};

use keel_testkit::{Backend, TestServer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::media::{file, png, submit, upload_form, Part};

/// The file's size: more than the server's send buffer and the client's
/// receive buffer hold, so a client that stops reading stalls the server.
const SIZE: usize = 40 << 20;

/// An owner's session cookie and the download path of one 40 MiB file.
async fn uploaded_file(server: &TestServer) -> (String, String) {
    let signup = server.signup("owner@example.com").await;
    assert_eq!(signup.status(), 201);
    let cookie = signup
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("sessionid="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let form = server.publish_form(&upload_form()).await;
    let parts = [
        Part::Text("submission_token", form.token.clone()),
        Part::Text("answers", json!({"name": "Ada"}).to_string()),
        file("photo", "big.png", "image/png", png(SIZE)),
    ];
    let response = submit(server, &form.slug, &parts).await;
    assert_eq!(response.status(), 201);
    let list = server.responses(&form.id).await;
    let item = &list["items"][0];
    let path = format!(
        "/api/forms/{}/responses/{}/files/{}",
        form.id,
        item["id"].as_str().unwrap(),
        item["files"][0]["id"].as_str().unwrap()
    );
    (cookie, path)
}

/// Connects with a small receive buffer and asks for `path`.
async fn download(server: &TestServer, cookie: &str, path: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(8192).unwrap();
    let mut stream = socket.connect(server.addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// Reads until the server closes (`Some(bytes)`) or `quiet` passes with
/// nothing to read (`None`: the connection is still open).
async fn drain(stream: &mut TcpStream, quiet: Duration) -> Option<usize> {
    let mut total = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(quiet, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(total),
            Ok(Ok(n)) => total += n,
            Err(_) => {
                eprintln!("drain: quiet after {total} bytes");
                return None;
            }
        }
    }
}

#[tokio::test]
async fn a_download_the_client_stopped_reading_is_cut_but_a_steady_one_is_not() {
    let server = TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, |s| {
        s.server.keepalive_timeout = Duration::from_secs(1);
        s.limits.max_upload_bytes = 64 << 20;
    })
    .await;
    let (cookie, path) = uploaded_file(&server).await;

    // Reads a little every 100 ms for 3 s, three keep-alive timeouts.
    let mut steady = download(&server, &cookie, &path).await;
    let started = Instant::now();
    let mut buf = vec![0u8; 32 * 1024];
    let mut read = 0;
    while started.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let n = tokio::time::timeout(Duration::from_secs(2), steady.read(&mut buf))
            .await
            .expect("the steady download keeps coming")
            .unwrap();
        assert!(n > 0, "the steady download is not cut after {:?}", started.elapsed());
        read += n;
    }
    assert!(read < SIZE, "the download was still going ({read} bytes read)");

    // Stops reading: the server's writes stall, and after the keep-alive
    // timeout it lets go of the connection.
    let mut stalled = download(&server, &cookie, &path).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let received = drain(&mut stalled, Duration::from_secs(3))
        .await
        .expect("the server closed the stalled download");
    assert!(
        received < SIZE,
        "the server gave up before the end ({received} of {SIZE} bytes)"
    );
}
