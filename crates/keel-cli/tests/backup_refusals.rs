//! Archives `keel restore` refuses, each with one line naming the problem
//! and nothing written: damaged, truncated, foreign, newer, into a target
//! that holds data (unless `--force`), or encrypted without the key.
//! Encryption round trips, and the command line (`--out-dir --keep`).

mod backup_common;
mod cli_common;
mod media;

use std::io::Write;

use backup_common::{archive, backup_to, fingerprint, is_empty, restore_into, seed};
use keel::backup::{archive::Writer, BackupError, Key};
use keel_testkit::{on_both_backends, Backend, TestServer};

on_both_backends!(
    damaged_truncated_foreign_and_newer_archives_are_refused_with_nothing_written,
    a_target_with_data_is_replaced_only_with_force,
    encrypted_archives_open_only_with_their_key,
    a_restore_that_fails_halfway_leaves_the_target_as_it_was,
    force_replaces_an_object_held_with_other_bytes_and_puts_it_back_on_failure,
);

/// `file` with the byte at `at` flipped.
fn flipped(file: &std::path::Path, at: usize, out: &std::path::Path) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[at] ^= 0x55;
    std::fs::write(out, bytes).unwrap();
}

/// An archive of `entries`, written with the real writer.
fn handmade(path: &std::path::Path, entries: &[(&str, &[u8])]) {
    let mut writer = Writer::create(std::fs::File::create(path).unwrap(), None).unwrap();
    for (name, bytes) in entries {
        keel::backup::archive::append_bytes(&mut writer, name, bytes).unwrap();
    }
    writer.finish().unwrap();
}

async fn damaged_truncated_foreign_and_newer_archives_are_refused_with_nothing_written(backend: Backend) {
    let source = TestServer::spawn(keel_cli::site(), backend).await;
    seed(&source).await;
    let good = archive(&source, "good.tar.zst");
    backup_to(&source, &good, None, false).await;
    let size = std::fs::metadata(&good).unwrap().len() as usize;
    let target = TestServer::spawn(keel_cli::site(), backend).await;
    let dir = tempfile::tempdir().unwrap();

    let damaged = dir.path().join("damaged.tar.zst");
    flipped(&good, size / 2, &damaged);
    let truncated = dir.path().join("truncated.tar.zst");
    std::fs::write(&truncated, &std::fs::read(&good).unwrap()[..size * 2 / 3]).unwrap();
    let foreign = dir.path().join("foreign.tar.zst");
    handmade(&foreign, &[("notes.txt", b"not a backup")]);
    let not_zstd = dir.path().join("photo.jpg");
    std::fs::write(&not_zstd, b"\xff\xd8\xff\xe0 a jpeg, not an archive").unwrap();
    let newer = dir.path().join("newer.tar.zst");
    let manifest = serde_json::json!({"format": "keel-backup", "format_version": 99});
    handmade(&newer, &[("manifest.json", manifest.to_string().as_bytes())]);
    let cases = [
        (&damaged, "damaged"),
        (&truncated, "truncated"),
        (&foreign, "not a Keel backup"),
        (&not_zstd, "truncated or damaged"),
        (&newer, "newer than this Keel"),
    ];
    for (file, expected) in cases {
        let err = restore_into(&target, file, None, false).await.expect_err("refused");
        let line = err.to_string();
        assert!(!line.contains('\n'), "one line: {line}");
        let named = match expected {
            "damaged" => matches!(err, BackupError::Corrupt(_) | BackupError::Truncated(_)),
            "truncated" => matches!(err, BackupError::Truncated(_) | BackupError::Corrupt(_)),
            _ => line.contains(expected),
        };
        assert!(named, "{}: {line}", file.display());
        assert!(is_empty(&target).await, "nothing written after {}", file.display());
    }
}

async fn a_target_with_data_is_replaced_only_with_force(backend: Backend) {
    let source = TestServer::spawn(keel_cli::site(), backend).await;
    seed(&source).await;
    let file = archive(&source, "site.tar.zst");
    backup_to(&source, &file, None, false).await;
    let target = TestServer::spawn(keel_cli::site(), backend).await;
    assert_eq!(target.signup("someone@example.com").await.status(), 201);
    let before = fingerprint(&target).await;
    let err = restore_into(&target, &file, None, false).await.expect_err("refused");
    assert!(matches!(err, BackupError::NotEmpty(_)), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(fingerprint(&target).await, before, "nothing changed");

    restore_into(&target, &file, None, true)
        .await
        .expect("replaced with --force");
    assert_eq!(
        fingerprint(&target).await,
        fingerprint(&source).await,
        "the archive's state, and only it"
    );
}

async fn encrypted_archives_open_only_with_their_key(backend: Backend) {
    let source = TestServer::spawn(keel_cli::site(), backend).await;
    seed(&source).await;
    let dir = tempfile::tempdir().unwrap();
    let identity = age::x25519::Identity::generate();
    let identity_file = dir.path().join("backup.key");
    let secret = secrecy::ExposeSecret::expose_secret(&identity.to_string()).to_owned();
    std::fs::write(&identity_file, format!("# a test key\n{secret}\n")).unwrap();
    let passphrase_file = dir.path().join("passphrase");
    std::fs::File::create(&passphrase_file)
        .unwrap()
        .write_all(b"correct horse battery staple\n")
        .unwrap();

    let sealed = archive(&source, "site.tar.zst.age");
    let recipient = Key::recipients(&identity.to_public().to_string()).unwrap();
    backup_to(&source, &sealed, Some(recipient), false).await;
    let bytes = std::fs::read(&sealed).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1"), "an age file");
    assert!(!bytes.windows(13).any(|w| w == b"owner@example"), "no address in clear");

    let target = TestServer::spawn(keel_cli::site(), backend).await;
    let err = restore_into(&target, &sealed, None, false).await.expect_err("no key");
    assert!(err.to_string().contains("--identity"), "{err}");
    let other = Key::identity_file(&{
        let path = dir.path().join("other.key");
        let other = age::x25519::Identity::generate();
        std::fs::write(&path, secrecy::ExposeSecret::expose_secret(&other.to_string())).unwrap();
        path
    })
    .unwrap();
    let err = restore_into(&target, &sealed, Some(other), false)
        .await
        .expect_err("the wrong key");
    assert!(err.to_string().contains("cannot be opened"), "{err}");
    assert!(is_empty(&target).await);
    let key = Key::identity_file(&identity_file).unwrap();
    restore_into(&target, &sealed, Some(key), false)
        .await
        .expect("opened with its identity");
    assert_eq!(fingerprint(&target).await, fingerprint(&source).await);

    let with_passphrase = archive(&source, "pass.tar.zst.age");
    let done = backup_to(
        &source,
        &with_passphrase,
        Some(Key::passphrase_file(&passphrase_file).unwrap()),
        true,
    )
    .await;
    assert!(done.verified, "--verify opens it with the same passphrase");
    let again = TestServer::spawn(keel_cli::site(), backend).await;
    restore_into(
        &again,
        &with_passphrase,
        Some(Key::passphrase_file(&passphrase_file).unwrap()),
        false,
    )
    .await
    .expect("opened with the passphrase");
    assert_eq!(fingerprint(&again).await, fingerprint(&source).await);
}

/// `good` with `extra` media entries after its own, and a manifest that
/// lists them: an archive that passes every check.
fn with_extra_media(good: &std::path::Path, out: &std::path::Path, extra: &[(&str, &[u8])]) {
    let mut writer = Writer::create(std::fs::File::create(out).unwrap(), None).unwrap();
    let mut manifest = None;
    keel::backup::archive::read_entries(good, None, |name, reader| {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).unwrap();
        if name == "manifest.json" {
            manifest = Some(bytes);
        } else {
            keel::backup::archive::append_bytes(&mut writer, name, &bytes).unwrap();
        }
        Ok(())
    })
    .unwrap();
    for (name, bytes) in extra {
        keel::backup::archive::append_bytes(&mut writer, name, bytes).unwrap();
    }
    let mut manifest = keel::backup::Manifest::parse(&manifest.unwrap()).unwrap();
    manifest.entries = writer.sums.clone();
    let bytes = serde_json::to_vec(&manifest).unwrap();
    keel::backup::archive::append_bytes(&mut writer, "manifest.json", &bytes).unwrap();
    writer.finish().unwrap();
}

async fn a_restore_that_fails_halfway_leaves_the_target_as_it_was(backend: Backend) {
    let source = TestServer::spawn(keel_cli::site(), backend).await;
    seed(&source).await;
    let good = archive(&source, "good.tar.zst");
    backup_to(&source, &good, None, false).await;
    // The last object cannot be written: its key needs `forms/zz` to be a
    // folder, and the entry before made it a file. By then the rows are
    // loaded and the other objects written.
    let failing = archive(&source, "failing.tar.zst");
    with_extra_media(
        &good,
        &failing,
        &[("media/forms/zz", b"a file"), ("media/forms/zz/child", b"cannot be")],
    );
    assert!(
        keel::backup::check(&failing, None).is_ok(),
        "the archive itself is sound"
    );
    let target = TestServer::spawn(keel_cli::site(), backend).await;
    let err = restore_into(&target, &failing, None, false)
        .await
        .expect_err("the store refuses");
    assert!(matches!(err, BackupError::Media(_)), "{err}");
    assert!(is_empty(&target).await, "no row and no object left behind");
}

async fn force_replaces_an_object_held_with_other_bytes_and_puts_it_back_on_failure(backend: Backend) {
    let source = TestServer::spawn(keel_cli::site(), backend).await;
    seed(&source).await;
    let good = archive(&source, "good.tar.zst");
    backup_to(&source, &good, None, false).await;
    let (_, objects) = fingerprint(&source).await;
    let key = keel::storage::ObjectKey::parse(objects.keys().next().unwrap()).unwrap();

    // The target holds that key with other bytes, and a row.
    let target = TestServer::spawn(keel_cli::site(), backend).await;
    assert_eq!(target.signup("someone@example.com").await.status(), 201);
    let other = futures_util::stream::iter([Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"other bytes"))]);
    target.core.media.put_stream(&key, other, 1 << 20).await.unwrap();
    let before = fingerprint(&target).await;
    let err = restore_into(&target, &good, None, false)
        .await
        .expect_err("refused without --force");
    assert!(
        matches!(err, BackupError::NotEmpty(_) | BackupError::MediaConflict(_)),
        "{err}"
    );

    // With --force, a restore that fails halfway puts the old bytes back.
    let failing = archive(&source, "failing.tar.zst");
    with_extra_media(
        &good,
        &failing,
        &[("media/forms/zz", b"a file"), ("media/forms/zz/child", b"cannot be")],
    );
    restore_into(&target, &failing, None, true)
        .await
        .expect_err("the store refuses");
    assert_eq!(fingerprint(&target).await, before, "rows and objects as they were");

    restore_into(&target, &good, None, true)
        .await
        .expect("replaced with --force");
    assert_eq!(fingerprint(&target).await, fingerprint(&source).await);
}

#[test]
fn the_command_line_keeps_the_newest_archives_and_refuses_a_damaged_one_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("KEEL_LOG_LEVEL", "warn")];
    assert!(cli_common::run(dir.path(), &["migrate"], &env).status.success());
    let mut names = Vec::new();
    for _ in 0..3 {
        let out = cli_common::run(
            dir.path(),
            &["backup", "--out-dir", "backups", "--keep", "2", "--verify"],
            &env,
        );
        let said = cli_common::text(&out.stdout);
        assert!(out.status.success(), "{said}{}", cli_common::text(&out.stderr));
        assert!(
            said.starts_with("backed up backups/keel-") && said.contains(", verified"),
            "{said}"
        );
        names.push(said.split_whitespace().nth(2).unwrap().trim_end_matches(':').to_owned());
        // Archive names carry the second they were made in.
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let mut left: Vec<String> = std::fs::read_dir(dir.path().join("backups"))
        .unwrap()
        .map(|e| format!("backups/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    left.sort();
    assert_eq!(left, names[1..], "the newest two are kept");

    let bad_input = [
        (vec!["restore", "missing.tar.zst"], "missing.tar.zst"),
        (
            vec!["backup", "--encrypt-to", "not-a-recipient"],
            "--encrypt-to: not an age recipient",
        ),
        (vec!["backup", "--passphrase-file", "nowhere"], "nowhere"),
        (vec!["restore", "x.tar.zst", "--identity", "nowhere"], "nowhere"),
    ];
    for (args, named) in bad_input {
        let out = cli_common::run(dir.path(), &args, &env);
        let said = cli_common::text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {said}");
        assert_eq!(said.lines().count(), 1, "{args:?}: {said}");
        assert!(said.contains(named), "{args:?}: {said}");
    }

    let bad = dir.path().join("bad.tar.zst");
    std::fs::write(&bad, b"garbage").unwrap();
    let out = cli_common::run(dir.path(), &["restore", bad.to_str().unwrap()], &env);
    assert_eq!(out.status.code(), Some(1));
    let said = cli_common::text(&out.stderr);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.starts_with("keel: restore refused: the archive is truncated or damaged"),
        "{said}"
    );
}
