//! Uploads and downloads with the media store on S3: a real moto server
//! process on a loopback port, spoken to over the S3 protocol (see
//! `keel_testkit::s3_server`). Skipped without moto, unless
//! `KEEL_TEST_REQUIRE_SERVICES=1`.

mod media;

use keel_testkit::{Backend, S3Server, TestServer};
use media::{assert_nothing_left, file, owner_with_upload_form, pdf, png, submit, Part};
use serde_json::json;

async fn server_on(s3: &S3Server) -> TestServer {
    TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, |s| {
        s3.configure(s);
        s.limits.max_upload_bytes = 8 * 1024 * 1024;
    })
    .await
}

fn answers() -> Part<'static> {
    Part::Text("answers", json!({"name": "Ada"}).to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_stored_in_s3_and_downloaded_with_ranges() {
    let Some(s3) = keel_testkit::s3_server().await else {
        return;
    };
    let server = server_on(&s3).await;
    let (id, slug, token) = owner_with_upload_form(&server).await;
    let (small, large) = (png(2048), pdf(6 * 1024 * 1024 + 123));
    let parts = [
        Part::Text("submission_token", token),
        answers(),
        file("photo", "cat.png", "image/png", small.clone()),
        file("cv", "cv.pdf", "application/pdf", large.clone()),
    ];
    let response = submit(&server, &slug, &parts).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let keys = s3.keys().await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys.iter().all(|k| k.starts_with(&format!("media/forms/{id}/"))),
        "under the prefix: {keys:?}"
    );

    let list = server.responses(&id).await;
    let rid = list["items"][0]["id"].as_str().unwrap();
    for (listed, bytes) in list["items"][0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .zip([&small, &large])
    {
        let path = format!(
            "/api/forms/{id}/responses/{rid}/files/{}",
            listed["id"].as_str().unwrap()
        );
        let whole = server.get(&path).await;
        assert_eq!(whole.status(), 200);
        assert_eq!(whole.headers()["content-length"], bytes.len().to_string().as_str());
        assert_eq!(whole.bytes().await.unwrap().as_ref(), bytes.as_slice(), "{listed}");
        let tail = server
            .client
            .get(server.url(&path))
            .header("range", "bytes=-100")
            .send()
            .await
            .unwrap();
        assert_eq!(tail.status(), 206);
        assert_eq!(tail.bytes().await.unwrap().as_ref(), &bytes[bytes.len() - 100..]);
    }
    let deleted = server
        .send_json(reqwest::Method::DELETE, &format!("/api/forms/{id}"), &json!({}))
        .await;
    assert_eq!(deleted.status(), 204);
    assert!(s3.keys().await.is_empty(), "deleting the form deleted its objects");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_uploads_leave_nothing_in_s3() {
    let Some(s3) = keel_testkit::s3_server().await else {
        return;
    };
    let server = server_on(&s3).await;
    let (id, slug, token) = owner_with_upload_form(&server).await;
    // Over the 8 MiB limit after a multipart upload has begun.
    let too_large = [
        Part::Text("submission_token", token.clone()),
        answers(),
        file("photo", "ok.png", "image/png", png(1000)),
        file("cv", "huge.pdf", "application/pdf", pdf(9 * 1024 * 1024)),
    ];
    assert_eq!(submit(&server, &slug, &too_large).await.status(), 413);
    let html = [
        Part::Text("submission_token", token),
        answers(),
        file(
            "photo",
            "x.png",
            "image/png",
            b"<html><script>alert(1)</script>".to_vec(),
        ),
    ];
    assert_eq!(submit(&server, &slug, &html).await.status(), 422);
    assert_nothing_left(&server, &id, "refused uploads on S3").await;
    assert!(s3.keys().await.is_empty());
    assert_eq!(s3.pending_uploads().await, 0, "the multipart upload was aborted");
}
