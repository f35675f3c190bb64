#![allow(dead_code, reason = "each test file uses a part of it")]

//! What the backup tests share: a site with data in every table and files
//! in the media store, and a fingerprint of a server's whole state (every
//! table's rows and every object's bytes) to compare after a round trip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use keel::backup::{self, BackupOptions, Done, Key, RestoreOptions};
use keel_testkit::TestServer;
use serde_json::json;

use crate::media::{file, owner_with_upload_form, pdf, png, submit, Part};

/// An owner, a form with file fields, two submissions with files, three
/// without, an owner's session and an outbox row (the notification).
pub(crate) async fn seed(server: &TestServer) {
    let (_, slug, token) = owner_with_upload_form(server).await;
    for n in 0..2 {
        let parts = [
            Part::Text("submission_token", token.clone()),
            Part::Text("answers", json!({"name": format!("Ada {n}")}).to_string()),
            file("photo", "cat.png", "image/png", png(3000 + n)),
            file("cv", "cv.pdf", "application/pdf", pdf(70_000 + n)),
        ];
        let response = submit(server, &slug, &parts).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    }
    for n in 0..3 {
        let parts = [
            Part::Text("submission_token", token.clone()),
            Part::Text("answers", json!({"name": format!("Grace \"{n}\" ✓")}).to_string()),
        ];
        assert_eq!(submit(server, &slug, &parts).await.status(), 201);
    }
}

/// Every table's rows as the backup reads them (timestamps cut to the
/// microsecond, which PostgreSQL keeps), and every object's sha256.
pub(crate) async fn fingerprint(server: &TestServer) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let micros = regex::Regex::new(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6})\d*").unwrap();
    let mut rows = BTreeMap::new();
    let mut snapshot = backup::tables::Snapshot::begin(&server.core.db).await.unwrap();
    for table in snapshot.tables.clone() {
        let mut out = Vec::new();
        snapshot.dump(&table, &mut out).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        rows.insert(table.name.clone(), micros.replace_all(&text, "$1").into_owned());
    }
    snapshot.end().await.unwrap();
    let mut media = BTreeMap::new();
    for object in server.core.media.list_all().await.unwrap() {
        let key = keel::storage::ObjectKey::parse(&object.key).unwrap();
        let digest = backup::media::digest(&server.core.media, &key).await.unwrap().unwrap();
        media.insert(object.key, digest);
    }
    (rows, media)
}

pub(crate) async fn backup_to(server: &TestServer, out: &Path, key: Option<Key>, verify: bool) -> Done {
    let options = BackupOptions {
        out: out.to_owned(),
        key,
        verify,
    };
    backup::backup(&server.core, &keel_cli::site().apps, &options, &|_| {})
        .await
        .expect("the backup is made")
}

pub(crate) async fn restore_into(
    server: &TestServer,
    file: &Path,
    key: Option<Key>,
    force: bool,
) -> Result<Done, backup::BackupError> {
    let options = RestoreOptions {
        file: file.to_owned(),
        key,
        force,
    };
    backup::restore(&server.core, &keel_cli::site().apps, &options, &|_| {}).await
}

/// A path for an archive in the server's folder.
pub(crate) fn archive(server: &TestServer, name: &str) -> PathBuf {
    server.dir().join(name)
}

/// Whether the server holds no row in any table and no object.
pub(crate) async fn is_empty(server: &TestServer) -> bool {
    let (rows, media) = fingerprint(server).await;
    media.is_empty() && rows.values().all(|dump| dump.lines().count() == 1)
}
