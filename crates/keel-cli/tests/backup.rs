//! `keel backup` and `keel restore` round trips: on SQLite, on PostgreSQL,
//! from one to the other and back, and with media on S3; the state after
//! a restore is the state backed up (every row, every object's bytes).

mod backup_common;
mod media;

use backup_common::{archive, backup_to, fingerprint, restore_into, seed};
use keel_testkit::{on_both_backends, services, Backend, TestServer};

on_both_backends!(a_backup_restores_every_row_and_object_and_verifies_itself);

async fn a_backup_restores_every_row_and_object_and_verifies_itself(backend: Backend) {
    let source = TestServer::spawn(keel_cli::site(), backend).await;
    seed(&source).await;
    let file = archive(&source, "site.tar.zst");
    let done = backup_to(&source, &file, None, true).await;
    assert!(done.verified, "--verify restored it into a scratch database");
    assert!(done.rows >= 8, "{done:?}");
    assert_eq!(done.objects, 4, "two files in each of two submissions");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "readable by its owner only");

    let target = TestServer::spawn(keel_cli::site(), backend).await;
    let restored = restore_into(&target, &file, None, false).await.expect("the restore");
    assert_eq!(restored.rows, done.rows);
    let (before, after) = (fingerprint(&source).await, fingerprint(&target).await);
    assert_eq!(before.0, after.0, "every table holds the same rows");
    assert_eq!(before.1, after.1, "every object holds the same bytes");

    // The restored site works: its owner logs in and reads the responses.
    let login = target.login("owner@example.com", keel_testkit::GOOD_PASSWORD).await;
    assert_eq!(login.status(), 200);
    let forms: serde_json::Value = target.get("/api/forms").await.json().await.unwrap();
    let id = forms["items"][0]["id"].as_str().unwrap();
    assert_eq!(target.responses(id).await["items"].as_array().unwrap().len(), 5);
}

async fn across(from: Backend, to: Backend) {
    let source = TestServer::spawn(keel_cli::site(), from).await;
    seed(&source).await;
    let file = archive(&source, "move.tar.zst");
    backup_to(&source, &file, None, false).await;
    let target = TestServer::spawn(keel_cli::site(), to).await;
    restore_into(&target, &file, None, false).await.expect("the restore");
    assert_eq!(fingerprint(&source).await, fingerprint(&target).await);
    // New rows after the move get fresh keys (sequences continue).
    assert_eq!(
        target
            .login("owner@example.com", keel_testkit::GOOD_PASSWORD)
            .await
            .status(),
        200
    );
    let forms: serde_json::Value = target.get("/api/forms").await.json().await.unwrap();
    let slug = forms["items"][0]["slug"].as_str().unwrap().to_owned();
    let token = target.public_form(&slug).await["submission_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let parts = [
        media::Part::Text("submission_token", token),
        media::Part::Text("answers", serde_json::json!({"name": "after the move"}).to_string()),
    ];
    assert_eq!(media::submit(&target, &slug, &parts).await.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_moves_from_sqlite_to_postgresql_and_back() {
    if !services::postgres_available().await {
        return;
    }
    across(Backend::Sqlite, Backend::Postgres).await;
    across(Backend::Postgres, Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_on_s3_round_trips() {
    let Some(s3) = keel_testkit::s3_server().await else {
        return;
    };
    let source = TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, |s| s3.configure(s)).await;
    seed(&source).await;
    let file = archive(&source, "s3.tar.zst");
    let done = backup_to(&source, &file, None, true).await;
    assert_eq!(done.objects, 4);
    let before = fingerprint(&source).await;
    // The same bucket emptied, as after losing it; then restored.
    for key in before.1.keys() {
        source
            .core
            .media
            .delete(&keel::storage::ObjectKey::parse(key).unwrap())
            .await
            .unwrap();
    }
    let target = TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, |s| s3.configure(s)).await;
    restore_into(&target, &file, None, false).await.expect("the restore");
    assert_eq!(fingerprint(&target).await, before);
    assert_eq!(s3.keys().await.len(), 4);
}

on_both_backends!(a_backup_taken_while_submissions_arrive_is_one_consistent_moment);

/// Submissions keep arriving (each a response row and two file rows) while
/// the backup runs: the archive restores (every file row's response is in
/// it) and holds a count between the ones before and after.
async fn a_backup_taken_while_submissions_arrive_is_one_consistent_moment(backend: Backend) {
    let source = TestServer::spawn(keel_cli::site(), backend).await;
    seed(&source).await;
    let forms: serde_json::Value = source.get("/api/forms").await.json().await.unwrap();
    let slug = forms["items"][0]["slug"].as_str().unwrap().to_owned();
    let token = source.public_form(&slug).await["submission_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = media::count(&source, "form_responses").await;
    let traffic = async {
        let mut answered = 0;
        for n in 0..20 {
            let parts = [
                media::Part::Text("submission_token", token.clone()),
                media::Part::Text(
                    "answers",
                    serde_json::json!({"name": format!("during {n}")}).to_string(),
                ),
                media::file("photo", "cat.png", "image/png", media::png(2000 + n)),
                media::file("cv", "cv.pdf", "application/pdf", media::pdf(5000 + n)),
            ];
            if media::submit(&source, &slug, &parts).await.status() == 201 {
                answered += 1;
            }
        }
        answered
    };
    let file = archive(&source, "busy.tar.zst");
    let (answered, done) = tokio::join!(traffic, backup_to(&source, &file, None, true));
    assert_eq!(
        answered, 20,
        "the server kept serving (within the submission rate limit)"
    );
    let after = media::count(&source, "form_responses").await;
    let target = TestServer::spawn(keel_cli::site(), backend).await;
    restore_into(&target, &file, None, false)
        .await
        .expect("a consistent archive restores");
    let restored = media::count(&target, "form_responses").await;
    assert!(
        before <= restored && restored <= after,
        "{before} <= {restored} <= {after}"
    );
    assert!(done.verified);
    let orphans = "SELECT COUNT(*) FROM form_response_files f LEFT JOIN form_responses r ON r.id = f.response_id WHERE r.id IS NULL";
    let orphans: i64 =
        keel::on_pool!(&target.core.db, pool => sqlx::query_scalar(orphans).fetch_one(pool).await.unwrap());
    assert_eq!(orphans, 0, "no file row without its response");
}
