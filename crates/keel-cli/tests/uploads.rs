//! Public submissions with files, and their downloads, over HTTP on SQLite
//! and PostgreSQL with the local media store: what is stored and shown,
//! who may download it and how it is sent, and that every refused or
//! broken-off upload leaves no object and no row behind.

mod media;

use std::time::{Duration, Instant};

use keel_testkit::{on_both_backends, Backend, TestServer};
use media::{assert_nothing_left, file, owner_with_upload_form, pdf, png, submit, Part};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

on_both_backends!(
    multipart_file_is_stored_listed_and_downloadable_by_its_owner_only,
    file_over_the_upload_limit_is_413_and_leaves_nothing,
    body_over_the_forms_limit_is_413_and_leaves_nothing,
    html_declared_as_png_is_422_on_its_field_and_leaves_nothing,
    too_many_files_unknown_parts_and_the_honeypot_leave_nothing,
    interrupted_upload_leaves_nothing,
    deleting_a_form_deletes_its_files,
    accel_redirect_mode_answers_with_the_header_and_no_body,
    a_slow_upload_has_the_upload_timeout_not_the_request_timeout,
);

fn answers() -> Part<'static> {
    Part::Text("answers", json!({"name": "Ada"}).to_string())
}

/// Submits one PNG with a hostile name; returns (response id, file JSON).
async fn submit_png(server: &TestServer, id: &str, slug: &str, token: &str, bytes: Vec<u8>) -> (String, Value) {
    let parts = [
        Part::Text("submission_token", token.to_owned()),
        answers(),
        file("photo", "../../evil\".html", "text/html", bytes),
    ];
    let response = submit(server, slug, &parts).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let list = server.responses(id).await;
    let item = &list["items"][0];
    (item["id"].as_str().unwrap().to_owned(), item["files"][0].clone())
}

async fn multipart_file_is_stored_listed_and_downloadable_by_its_owner_only(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let (id, slug, token) = owner_with_upload_form(&server).await;
    let bytes = png(3000);
    let (rid, listed) = submit_png(&server, &id, &slug, &token, bytes.clone()).await;
    assert_eq!(listed["field"], "photo");
    assert_eq!(
        listed["name"], "evil_.html.png",
        "the name is sanitised, kept as data and ends in the sniffed type's extension"
    );
    assert_eq!(listed["size"], 3000);
    assert_eq!(
        listed["content_type"], "image/png",
        "sniffed, not the declared text/html"
    );
    let path = format!(
        "/api/forms/{id}/responses/{rid}/files/{}",
        listed["id"].as_str().unwrap()
    );

    let download = server.get(&path).await;
    assert_eq!(download.status(), 200);
    let headers = download.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["content-length"], "3000");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-security-policy"], "sandbox; default-src 'none'");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"evil_.html.png\""),
        "{disposition}"
    );
    assert_eq!(download.bytes().await.unwrap().as_ref(), bytes.as_slice());

    let part = server
        .client
        .get(server.url(&path))
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], "bytes 10-19/3000");
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[10..20]);
    let past = server
        .client
        .get(server.url(&path))
        .header("range", "bytes=3000-")
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), 416);
    assert_eq!(past.headers()["content-range"], "bytes */3000");
    let head = server.client.head(server.url(&path)).send().await.unwrap();
    assert_eq!(
        (
            head.status().as_u16(),
            head.headers()["content-length"].to_str().unwrap()
        ),
        (200, "3000")
    );

    let intruder = server.new_client();
    let signup = json!({"email": "eve@example.com", "password": keel_testkit::GOOD_PASSWORD});
    server
        .send_json_with(&intruder, reqwest::Method::POST, "/api/auth/signup", &signup)
        .await;
    assert_eq!(
        intruder.get(server.url(&path)).send().await.unwrap().status(),
        404,
        "another user's file"
    );
    assert_eq!(
        reqwest::get(server.url(&path)).await.unwrap().status(),
        401,
        "anonymous"
    );
    let other_form = format!(
        "/api/forms/{}/responses/{rid}/files/{}",
        uuid::Uuid::new_v4(),
        listed["id"].as_str().unwrap()
    );
    assert_eq!(
        server.get(&other_form).await.status(),
        404,
        "the file under another form id"
    );
}

async fn file_over_the_upload_limit_is_413_and_leaves_nothing(backend: Backend) {
    let server = TestServer::spawn_with(keel_cli::site(), backend, |s| s.limits.max_upload_bytes = 64 * 1024).await;
    let (id, slug, token) = owner_with_upload_form(&server).await;
    // A first file within the limit is stored, then the second is too big.
    let parts = [
        Part::Text("submission_token", token),
        answers(),
        file("photo", "ok.png", "image/png", png(1000)),
        file("photo", "big.png", "image/png", png(100 * 1024)),
    ];
    let response = submit(&server, &slug, &parts).await;
    assert_eq!(response.status(), 413);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "answers.photo", "{problem}");
    assert_nothing_left(&server, &id, "a file over the limit").await;
}

async fn body_over_the_forms_limit_is_413_and_leaves_nothing(backend: Backend) {
    // 3 files of at most 64 KiB plus 1 MiB; the answers part may be large.
    let server = TestServer::spawn_with(keel_cli::site(), backend, |s| {
        s.limits.max_upload_bytes = 64 * 1024;
        s.limits.max_body_bytes = 4 * 1024 * 1024;
    })
    .await;
    let (id, slug, token) = owner_with_upload_form(&server).await;
    let padding = json!({"name": "Ada", "pad": "x".repeat(1536 * 1024)}).to_string();
    let parts = [
        Part::Text("submission_token", token),
        file("photo", "a.png", "image/png", png(60 * 1024)),
        file("cv", "cv.pdf", "application/pdf", pdf(60 * 1024)),
        Part::Text("answers", padding),
    ];
    let declared = submit(&server, &slug, &parts).await;
    assert_eq!(declared.status(), 413, "refused by its Content-Length");
    // Chunked, without a length: refused while streaming, after the files.
    let body = media::multipart(&parts);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body.chunks(16 * 1024).map(|c| Ok(c.to_vec())).collect();
    let streamed = reqwest::Client::new()
        .post(server.url(&format!("/api/public/forms/{slug}/responses")))
        .header("content-type", media::content_type())
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), 413, "refused by counting");
    assert_nothing_left(&server, &id, "a body over the form's limit").await;
}

async fn html_declared_as_png_is_422_on_its_field_and_leaves_nothing(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let (id, slug, token) = owner_with_upload_form(&server).await;
    let cases: [(&[u8], &str); 3] = [
        (
            b"<!DOCTYPE html><script>alert(document.cookie)</script>",
            "HTML named .png",
        ),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
            "SVG named .png",
        ),
        (b"%PDF-1.7 a PDF in an image field", "a PDF where images are accepted"),
    ];
    for (bytes, why) in cases {
        let parts = [
            Part::Text("submission_token", token.clone()),
            answers(),
            file("photo", "cat.png", "image/png", bytes.to_vec()),
        ];
        let response = submit(&server, &slug, &parts).await;
        assert_eq!(response.status(), 422, "{why}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "answers.photo", "{why}: {problem}");
    }
    assert_nothing_left(&server, &id, "refused types").await;
}

async fn too_many_files_unknown_parts_and_the_honeypot_leave_nothing(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let (id, slug, token) = owner_with_upload_form(&server).await;
    let parts = [
        Part::Text("submission_token", token.clone()),
        answers(),
        file("cv", "one.pdf", "application/pdf", pdf(2000)),
        file("cv", "two.pdf", "application/pdf", pdf(2000)),
    ];
    let response = submit(&server, &slug, &parts).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "answers.cv", "{problem}");
    let unknown = [
        Part::Text("submission_token", token.clone()),
        answers(),
        file("nope", "x.pdf", "application/pdf", pdf(10)),
    ];
    let status = submit(&server, &slug, &unknown).await.status();
    assert_eq!(status, 422, "a part for no field");
    let bot = [
        Part::Text("submission_token", token),
        answers(),
        file("photo", "spam.png", "image/png", png(500)),
        Part::Text("_hp", "http://spam.example".to_owned()),
    ];
    let status = submit(&server, &slug, &bot).await.status();
    assert_eq!(status, 201, "the honeypot answers like a success");
    assert_nothing_left(&server, &id, "too many files, an unknown part, a bot").await;
}

async fn interrupted_upload_leaves_nothing(backend: Backend) {
    let server = TestServer::spawn_with(keel_cli::site(), backend, |s| {
        s.limits.max_upload_bytes = 32 * 1024 * 1024
    })
    .await;
    let (id, slug, token) = owner_with_upload_form(&server).await;
    let head = [Part::Text("submission_token", token), answers()];
    let mut body = media::multipart(&head);
    body.truncate(body.len() - format!("--{}--\r\n", media::BOUNDARY).len());
    body.extend(media::part_head(&file("cv", "big.pdf", "application/pdf", Vec::new())).as_bytes());
    // 6 MiB of a promised 20: more than one multipart chunk is written.
    body.extend(pdf(6 * 1024 * 1024));
    let request = format!(
        "POST /api/public/forms/{slug}/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
        media::content_type(),
        20 * 1024 * 1024
    );
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while media::files_on_disk(&server) == 0 {
        assert!(Instant::now() < deadline, "the upload never reached the store");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(stream);
    assert_nothing_left(&server, &id, "an upload cut off mid-body").await;
}

async fn deleting_a_form_deletes_its_files(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let (id, slug, token) = owner_with_upload_form(&server).await;
    submit_png(&server, &id, &slug, &token, png(500)).await;
    assert_eq!(media::objects(&server, &id).await, 1);
    let deleted = server
        .send_json(reqwest::Method::DELETE, &format!("/api/forms/{id}"), &json!({}))
        .await;
    assert_eq!(deleted.status(), 204);
    assert_nothing_left(&server, &id, "a deleted form").await;
}

async fn accel_redirect_mode_answers_with_the_header_and_no_body(backend: Backend) {
    let server = TestServer::spawn_with(keel_cli::site(), backend, |s| {
        s.files.media_accel_redirect = Some("/protected-media/".to_owned());
    })
    .await;
    let (id, slug, token) = owner_with_upload_form(&server).await;
    let (rid, listed) = submit_png(&server, &id, &slug, &token, png(700)).await;
    let fid = listed["id"].as_str().unwrap();
    let response = server
        .get(&format!("/api/forms/{id}/responses/{rid}/files/{fid}"))
        .await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(
        headers["x-accel-redirect"],
        format!("/protected-media/forms/{id}/{rid}/{fid}").as_str()
    );
    assert_eq!(headers["content-type"], "image/png");
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    assert_eq!(headers["content-security-policy"], "sandbox; default-src 'none'");
    assert!(
        response.bytes().await.unwrap().is_empty(),
        "nginx sends the bytes, not Keel"
    );
}

/// Sends a multipart submission in ten pieces 150 ms apart (1.5 s in all)
/// on a raw connection; returns the status line's code.
async fn trickle_upload(server: &TestServer, slug: &str, token: &str) -> u16 {
    use tokio::io::AsyncReadExt;
    let parts = [
        Part::Text("submission_token", token.to_owned()),
        answers(),
        file("cv", "cv.pdf", "application/pdf", pdf(64 * 1024)),
    ];
    let body = media::multipart(&parts);
    let head = format!(
        "POST /api/public/forms/{slug}/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        media::content_type(),
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    for piece in body.chunks(body.len().div_ceil(10)) {
        tokio::time::sleep(Duration::from_millis(150)).await;
        // A server that answered early may have closed the connection.
        if stream.write_all(piece).await.is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {answer:?}"))
}

/// A multipart body gets `KEEL_UPLOAD_TIMEOUT`, not `KEEL_REQUEST_TIMEOUT`:
/// a 1.5 s upload passes a 300 ms request timeout, and is cut (503, nothing
/// left) by a 300 ms upload timeout.
async fn a_slow_upload_has_the_upload_timeout_not_the_request_timeout(backend: Backend) {
    let server = TestServer::spawn_with(keel_cli::site(), backend, |s| {
        s.server.request_timeout = Duration::from_millis(300);
        s.server.upload_timeout = Duration::from_secs(30);
    })
    .await;
    let (id, slug, token) = owner_with_upload_form(&server).await;
    assert_eq!(trickle_upload(&server, &slug, &token).await, 201);
    let list = server.responses(&id).await;
    assert_eq!(list["items"][0]["files"][0]["size"], 64 * 1024);

    let strict = TestServer::spawn_with(keel_cli::site(), backend, |s| {
        s.server.request_timeout = Duration::from_secs(30);
        s.server.upload_timeout = Duration::from_millis(300);
    })
    .await;
    let (id, slug, token) = owner_with_upload_form(&strict).await;
    assert_eq!(trickle_upload(&strict, &slug, &token).await, 503);
    assert_nothing_left(&strict, &id, "an upload cut by the upload timeout").await;
}
