//! `keel check --deploy --live`, the probes of the services: the database
//! (credentials, a stopped server, pools against `max_connections`),
//! Redis, the mail server or folder, media storage; and the command run
//! end to end. Each probe is shown passing and failing against real
//! servers.

mod cli_common;
mod live_common;

use cli_common::{run, text};
use keel::launch::LiveOptions;
use keel_testkit::private::{free_port, PrivatePostgres};
use live_common::{find, ids, probe, probe_with, settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_probes_report_a_wrong_password_a_stopped_server_and_pools_over_max_connections() {
    let Some(pg) = PrivatePostgres::start() else {
        keel_testkit::services::missing_program("initdb");
        return;
    };
    let admin = pg.url();
    sqlx_execute(&admin, "ALTER SYSTEM SET max_connections = 20").await;
    pg.stop();
    pg.restart();
    let dir = tempfile::tempdir().unwrap();
    let url_with = |password: &str| format!("postgres://postgres:{password}@127.0.0.1:{}/postgres", pg.port);
    let with_pool = |url: &str| settings(dir.path(), &[("DATABASE_URL", url), ("KEEL_DB_MAX_CONNECTIONS", "10")]);
    let one = LiveOptions::default();
    let two = LiveOptions {
        instances: 2,
        ..LiveOptions::default()
    };

    let findings = probe_with(with_pool(&admin), &one).await;
    assert_eq!(
        ids(&findings, "keel.db."),
        Vec::<&str>::new(),
        "reachable and migrated: {findings:?}"
    );
    assert!(
        find(&findings, "keel.live.W001").is_none(),
        "10 connections fit in 20 less 3"
    );
    let findings = probe_with(with_pool(&admin), &two).await;
    let pool = find(&findings, "keel.live.W001").expect("2 × 10 is over 17");
    assert!(
        pool.message.contains("= 20 connections") && pool.message.contains("takes 17"),
        "{}",
        pool.message
    );

    pg.require_password("right-db-password").await;
    let findings = probe_with(with_pool(&url_with("right-db-password")), &one).await;
    assert_eq!(
        ids(&findings, "keel.db."),
        Vec::<&str>::new(),
        "the right password: {findings:?}"
    );
    let findings = probe(with_pool(&url_with("wrong-db-password"))).await;
    let refused = find(&findings, "keel.db.E001").expect("a wrong password is refused");
    assert!(
        refused.message.contains("password authentication failed"),
        "{}",
        refused.message
    );
    let everything = format!("{findings:?}");
    assert!(!everything.contains("wrong-db-password"), "no password in {everything}");
    assert!(
        find(&findings, "keel.live.W001").is_none(),
        "no pool probe without a connection"
    );

    pg.stop();
    let findings = probe(with_pool(&url_with("right-db-password"))).await;
    let down = find(&findings, "keel.db.E001").expect("a stopped server");
    assert!(
        !format!("{findings:?}").contains("right-db-password"),
        "{}",
        down.message
    );
}

async fn sqlx_execute(url: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("the private cluster answers");
    sqlx::query(sql).execute(&mut conn).await.expect("the statement runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_probe_pings_redis_and_reports_a_closed_port_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let findings = probe(settings(dir.path(), &[])).await;
    assert!(
        find(&findings, "keel.live.E010").is_none(),
        "the memory cache is always there"
    );
    if let Some(url) = keel_testkit::redis_url().await {
        let findings = probe(settings(dir.path(), &[("KEEL_CACHE_URL", &url)])).await;
        assert!(
            find(&findings, "keel.live.E010").is_none(),
            "Redis answers: {findings:?}"
        );
    }
    let closed = format!("redis://:cache-secret-pw@127.0.0.1:{}/0", free_port());
    let findings = probe(settings(dir.path(), &[("KEEL_CACHE_URL", &closed)])).await;
    let down = find(&findings, "keel.live.E010").expect("nothing listens there");
    assert_eq!(down.level, keel::checks::Level::Error);
    assert!(down.message.contains("connection refused"), "{}", down.message);
    assert!(
        down.message.contains(":********@127.0.0.1"),
        "the URL without its password: {}",
        down.message
    );
    assert!(!format!("{findings:?}").contains("cache-secret-pw"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_probe_logs_in_without_sending_and_reports_refusals() {
    let sink = keel_testkit::SmtpSink::start_with_login("keel", "mail-secret-pw").await;
    let dir = tempfile::tempdir().unwrap();
    let smtp = |password: &str| format!("smtp://keel:{password}@{}?tls=none", sink.addr);
    let with = |url: &str| settings(dir.path(), &[("KEEL_EMAIL_URL", url)]);

    let findings = probe(with(&smtp("mail-secret-pw"))).await;
    assert!(find(&findings, "keel.live.E020").is_none(), "logged in: {findings:?}");
    assert!(sink.messages().is_empty(), "no mail is sent");

    let findings = probe(with(&smtp("wrong-mail-pw"))).await;
    let refused = find(&findings, "keel.live.E020").expect("a wrong password");
    assert!(refused.message.contains("535"), "{}", refused.message);
    assert!(
        !format!("{findings:?}").contains("wrong-mail-pw"),
        "{}",
        refused.message
    );

    let closed = format!("smtp://127.0.0.1:{}?tls=none", free_port());
    let findings = probe(with(&closed)).await;
    let down = find(&findings, "keel.live.E020").expect("nothing listens there");
    assert!(down.message.contains("connection refused"), "{}", down.message);

    let folder = dir.path().join("mail");
    let findings = probe(with(&format!("file://{}", folder.display()))).await;
    assert!(
        find(&findings, "keel.live.E020").is_none(),
        "a folder it can make and write"
    );
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 0, "the probe file is gone");
    let blocked = dir.path().join("not-a-folder");
    std::fs::write(&blocked, "a file where the folder should be").unwrap();
    let findings = probe(with(&format!("file://{}", blocked.display()))).await;
    let unwritable = find(&findings, "keel.live.E020").expect("the folder cannot be made");
    assert!(
        unwritable.message.contains("cannot create the mail folder"),
        "{}",
        unwritable.message
    );
}

/// Makes `folder` unwritable: read-only, and, where that does not stop
/// this process (root ignores modes), a file in its place.
fn make_unwritable(folder: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::write(folder.join("try"), "").is_ok() {
        std::fs::remove_dir_all(folder).unwrap();
        std::fs::write(folder, "a file where the media folder was").unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_probe_round_trips_an_object_in_a_folder_and_in_s3() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("media");
    let storage = format!("file://{}", media.display());
    let findings = probe(settings(dir.path(), &[("KEEL_MEDIA_STORAGE", &storage)])).await;
    assert!(
        find(&findings, "keel.live.E030").is_none(),
        "a writable folder: {findings:?}"
    );
    assert_eq!(
        std::fs::read_dir(&media).unwrap().count(),
        0,
        "the probe object is gone"
    );

    let site = keel_cli::site();
    let core = keel::core::Core::build(settings(dir.path(), &[("KEEL_MEDIA_STORAGE", &storage)]))
        .await
        .unwrap();
    make_unwritable(&media);
    let findings = keel::launch::run_live_checks(&core, &site.apps, &LiveOptions::default()).await;
    let refused = find(&findings, "keel.live.E030").expect("an unwritable folder");
    assert!(
        refused.message.contains("cannot write a probe object"),
        "{}",
        refused.message
    );

    let Some(s3) = keel_testkit::s3_server().await else {
        return;
    };
    let env = |bucket: &str| {
        let storage = format!("s3://{bucket}/media");
        settings(
            dir.path(),
            &[
                ("KEEL_MEDIA_STORAGE", storage.as_str()),
                ("KEEL_S3_ENDPOINT", s3.endpoint.as_str()),
                ("KEEL_S3_REGION", "us-east-1"),
                ("KEEL_S3_ACCESS_KEY_ID", "keel-test"),
                ("KEEL_S3_SECRET_ACCESS_KEY", "keel-test-secret"),
            ],
        )
    };
    let findings = probe(env(&s3.bucket)).await;
    assert!(
        find(&findings, "keel.live.E030").is_none(),
        "moto's bucket: {findings:?}"
    );
    assert!(s3.keys().await.is_empty(), "the probe object is gone");
    let findings = probe(env("no-such-bucket")).await;
    let missing = find(&findings, "keel.live.E030").expect("a missing bucket");
    assert!(
        missing.message.contains("does the bucket exist?"),
        "{}",
        missing.message
    );
}

#[test]
fn check_deploy_live_runs_end_to_end_and_needs_deploy() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["migrate"], &[]).status.success());
    assert!(run(dir.path(), &["collectstatic", "--no-input"], &[]).status.success());
    let cache = format!("redis://:cli-secret-pw@127.0.0.1:{}/0", free_port());
    let env = [("KEEL_CACHE_URL", cache.as_str())];
    let out = run(dir.path(), &["check", "--deploy", "--live", "--format", "json"], &env);
    assert_eq!(out.status.code(), Some(1), "the closed Redis port is an error");
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("cli-secret-pw"), "no password in {stdout}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(doc["live"], true);
    let findings = doc["findings"].as_array().unwrap();
    let ids: Vec<&str> = findings.iter().filter_map(|f| f["id"].as_str()).collect();
    assert!(ids.contains(&"keel.live.E010"), "{ids:?}");
    for passing in [
        "keel.db.E001",
        "keel.db.E002",
        "keel.static.E001",
        "keel.live.E020",
        "keel.live.E030",
    ] {
        assert!(!ids.contains(&passing), "{passing} passes here: {ids:?}");
    }

    // A fresh folder: neither migrated nor collected.
    let fresh = tempfile::tempdir().unwrap();
    let out = run(fresh.path(), &["check", "--deploy", "--live", "--format", "json"], &[]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let ids: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"keel.db.E002") && ids.contains(&"keel.static.E001"),
        "{ids:?}"
    );

    let out = run(dir.path(), &["check", "--live"], &[]);
    assert_eq!(out.status.code(), Some(2), "--live needs --deploy");
    let out = run(dir.path(), &["check", "--list"], &[]);
    let listing = text(&out.stdout);
    let live_line = listing
        .lines()
        .find(|l| l.starts_with("keel.live.E010"))
        .expect("listed");
    assert!(live_line.contains(" live "), "{live_line}");
}
