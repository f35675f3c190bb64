//! Helpers of the upload tests: a form with file fields, multipart bodies
//! built by hand (so hostile names and declared types go out exactly as
//! written), and "nothing left behind" checks on the store and the tables.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::time::{Duration, Instant};

use keel::storage::ObjectKey;
use keel_testkit::TestServer;
use serde_json::{json, Value};

pub(crate) const BOUNDARY: &str = "keel-test-boundary-7d3f";

pub(crate) fn upload_form() -> Value {
    json!({
        "title": "Uploads",
        "fields": [
            {"key": "name", "label": "Name", "type": "short_text", "required": true},
            {"key": "photo", "label": "Photo", "type": "file", "accept": ["image/png", "image/jpeg"], "max_files": 2},
            {"key": "cv", "label": "CV", "type": "file", "accept": ["application/pdf"]}
        ]
    })
}

/// `len` bytes that sniff as PNG.
pub(crate) fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend((0..len.saturating_sub(bytes.len())).map(|i| (i % 251) as u8));
    bytes
}

/// `len` bytes that sniff as PDF.
pub(crate) fn pdf(len: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend((0..len.saturating_sub(bytes.len())).map(|i| (i % 241) as u8));
    bytes
}

/// One part of a multipart body.
pub(crate) enum Part<'a> {
    Text(&'a str, String),
    File {
        name: &'a str,
        filename: &'a str,
        declared: &'a str,
        bytes: Vec<u8>,
    },
}

pub(crate) fn file<'a>(name: &'a str, filename: &'a str, declared: &'a str, bytes: Vec<u8>) -> Part<'a> {
    Part::File {
        name,
        filename,
        declared,
        bytes,
    }
}

pub(crate) fn part_head(part: &Part<'_>) -> String {
    match part {
        Part::Text(name, _) => format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        Part::File {
            name,
            filename,
            declared,
            ..
        } => {
            let filename = filename.replace('"', "\\\"");
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
                 Content-Type: {declared}\r\n\r\n"
            )
        }
    }
}

pub(crate) fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend(part_head(part).as_bytes());
        match part {
            Part::Text(_, value) => body.extend(value.as_bytes()),
            Part::File { bytes, .. } => body.extend(bytes),
        }
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub(crate) fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// An owner (logged in on the server's client) with the upload form; its
/// id, slug and a submission token.
pub(crate) async fn owner_with_upload_form(server: &TestServer) -> (String, String, String) {
    assert_eq!(server.signup("owner@example.com").await.status(), 201);
    let form: Value = server
        .post_json("/api/forms", &upload_form())
        .await
        .json()
        .await
        .unwrap();
    let (id, slug) = (
        form["id"].as_str().unwrap().to_owned(),
        form["slug"].as_str().unwrap().to_owned(),
    );
    let public: Value = reqwest::get(server.url(&format!("/api/public/forms/{slug}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = public["submission_token"].as_str().unwrap().to_owned();
    (id, slug, token)
}

/// A cookie-less multipart submission.
pub(crate) async fn submit(server: &TestServer, slug: &str, parts: &[Part<'_>]) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url(&format!("/api/public/forms/{slug}/responses")))
        .header("content-type", content_type())
        .body(multipart(parts))
        .send()
        .await
        .unwrap()
}

pub(crate) async fn count(server: &TestServer, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    keel::on_pool!(&server.core.db, pool => {
        sqlx::query_as::<_, (i64,)>(&sql).fetch_one(pool).await.unwrap().0
    })
}

/// Objects of form `form_id` in the server's store.
pub(crate) async fn objects(server: &TestServer, form_id: &str) -> usize {
    let prefix = ObjectKey::parse(&format!("forms/{form_id}")).unwrap();
    server.core.media.list(&prefix).await.unwrap().len()
}

/// Files under the local media folder, staging files of multipart uploads
/// included (the store's listing skips those).
pub(crate) fn files_on_disk(server: &TestServer) -> usize {
    fn walk(path: &std::path::Path) -> usize {
        std::fs::read_dir(path).map_or(0, |entries| {
            entries
                .flatten()
                .map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 })
                .sum()
        })
    }
    walk(&server.dir().join("var/media"))
}

/// Waits until the store, the media folder and both tables hold nothing
/// of `form_id`; panics after a deadline saying what is left.
pub(crate) async fn assert_nothing_left(server: &TestServer, form_id: &str, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = (
            objects(server, form_id).await,
            files_on_disk(server),
            count(server, "form_responses").await,
            count(server, "form_response_files").await,
        );
        if left == (0, 0, 0, 0) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{why}: left (objects, files, responses, file rows) = {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
