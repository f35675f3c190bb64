//! Email through the outbox with every backend (a real SMTP sink on
//! loopback, the file backend, the console backend), and `keel
//! sendtestemail` against the same sink.

use std::process::{Command, Output};
use std::time::Duration;

use keel::outbox::store::Status;
use keel::outbox::{self, EmailMessage, OutboxMessage};
use keel::settings::EmailBackendKind;
use keel::Settings;
use keel_testkit::outbox::wait_for_status;
use keel_testkit::{on_both_backends, Backend, SmtpSink, TestServer};
use secrecy::SecretString;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(20);

fn email(to: &[&str]) -> OutboxMessage {
    OutboxMessage::Email(EmailMessage {
        from: None,
        to: to.iter().map(|s| (*s).to_owned()).collect(),
        subject: "New response to Contact".to_owned(),
        text: "Ada answered your form.\nName: Ada\n".to_owned(),
    })
}

fn smtp_backend(sink: &SmtpSink) -> impl FnOnce(&mut Settings) {
    let url = sink.url();
    move |settings: &mut Settings| {
        settings.email.backend = EmailBackendKind::Smtp(SecretString::from(url));
        settings.email.default_from = "Keel Forms <forms@example.com>".to_owned();
    }
}

async fn enqueue_one(server: &TestServer, message: &OutboxMessage) -> Uuid {
    let mut tx = server.core.db.begin().await.unwrap();
    let id = outbox::enqueue(&mut tx, message).await.unwrap();
    tx.commit().await.unwrap();
    outbox::wake_workers();
    id
}

on_both_backends!(
    an_email_through_smtp_arrives_with_subject_body_from_and_to,
    an_email_to_an_invalid_address_is_dead_lettered_at_once,
    the_file_backend_writes_one_eml_file_per_message,
    the_console_backend_delivers_without_failing,
);

async fn an_email_through_smtp_arrives_with_subject_body_from_and_to(backend: Backend) {
    let sink = SmtpSink::start().await;
    let server = TestServer::spawn_with(keel_cli::site(), backend, smtp_backend(&sink)).await;
    let id = enqueue_one(&server, &email(&["Ada Owner <ada@example.com>", "bob@example.org"])).await;

    wait_for_status(&server.core.db, id, Status::Delivered, false, WAIT).await;
    let messages = sink.wait_for(1, WAIT).await;
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.from, "forms@example.com", "envelope sender");
    assert_eq!(
        message.to,
        ["ada@example.com", "bob@example.org"],
        "envelope recipients"
    );
    assert_eq!(message.header("Subject").as_deref(), Some("New response to Contact"));
    assert!(message.header("From").unwrap().contains("<forms@example.com>"));
    assert!(message.header("To").unwrap().contains("ada@example.com"));
    let message_id = message.header("Message-ID").unwrap();
    assert_eq!(message_id, format!("<{id}@example.com>"), "made from the outbox id");
    assert!(message.body().contains("Ada answered your form."), "{}", message.data);
}

async fn an_email_to_an_invalid_address_is_dead_lettered_at_once(backend: Backend) {
    let sink = SmtpSink::start().await;
    let server = TestServer::spawn_with(keel_cli::site(), backend, smtp_backend(&sink)).await;
    let id = enqueue_one(&server, &email(&["not an address"])).await;
    let row = wait_for_status(&server.core.db, id, Status::Dead, false, WAIT).await;
    assert_eq!(row.attempts, 1, "retrying cannot fix the address");
    assert_eq!(row.last_error.as_deref(), Some("a recipient is not a valid address"));
    assert!(sink.messages().is_empty());
}

async fn the_file_backend_writes_one_eml_file_per_message(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mail_dir = dir.path().join("mail");
    let server = TestServer::spawn_with(keel_cli::site(), backend, |s| {
        s.email.backend = EmailBackendKind::File { dir: mail_dir.clone() }
    })
    .await;
    let id = enqueue_one(&server, &email(&["ada@example.com"])).await;
    wait_for_status(&server.core.db, id, Status::Delivered, false, WAIT).await;

    let files: Vec<_> = std::fs::read_dir(&mail_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
    let contents = std::fs::read_to_string(&files[0]).unwrap();
    assert!(contents.contains("Subject: New response to Contact"), "{contents}");
    assert!(
        contents.contains(&format!("Message-ID: <{id}@localhost>")),
        "{contents}"
    );
}

async fn the_console_backend_delivers_without_failing(backend: Backend) {
    let server = TestServer::spawn_with(keel_cli::site(), backend, |s| {
        s.email.backend = EmailBackendKind::Console
    })
    .await;
    let id = enqueue_one(&server, &email(&["ada@example.com"])).await;
    let row = wait_for_status(&server.core.db, id, Status::Delivered, false, WAIT).await;
    assert_eq!(row.attempts, 1);
}

/// Runs `keel sendtestemail` in a fresh folder with only `env` set, off the
/// async runtime (the sink must keep answering meanwhile).
async fn sendtestemail(args: &[&str], env: &[(&str, String)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keel"));
    cmd.current_dir(dir.path())
        .arg("sendtestemail")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    drop(dir);
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sendtestemail_sends_through_the_configured_smtp_server() {
    let sink = SmtpSink::start().await;
    let env = [
        ("KEEL_EMAIL_URL", sink.url()),
        ("KEEL_DEFAULT_FROM_EMAIL", "ops@example.com".to_owned()),
    ];
    let output = sendtestemail(&["ada@example.com"], &env).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("Sent a test email"));
    let messages = sink.wait_for(1, WAIT).await;
    assert_eq!(messages[0].to, ["ada@example.com"]);
    assert_eq!(messages[0].from, "ops@example.com");
    assert!(messages[0].header("Subject").unwrap().starts_with("Test email from"));
    assert!(messages[0]
        .body()
        .contains("If you're reading this, it was successful."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sendtestemail_reports_one_clear_error_line() {
    // A port nothing listens on: bind one, then free it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let cases = [
        (
            vec!["ada@example.com"],
            format!("smtp://{closed}?tls=none"),
            "cannot send the test email",
            "no server",
        ),
        (
            vec![],
            format!("smtp://{closed}?tls=none"),
            "no recipients",
            "no address given",
        ),
        (
            vec!["ada@example.com"],
            "smtp://mail.example.com?tls=sometimes".to_owned(),
            "tls must be",
            "a bad tls mode",
        ),
    ];
    for (args, url, expected, why) in cases {
        let output = sendtestemail(&args, &[("KEEL_EMAIL_URL", url)]).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{why}: {stderr}");
        let line = stderr.lines().find(|l| l.starts_with("keel: ")).unwrap_or_default();
        assert!(line.contains(expected), "{why}: {stderr}");
    }
}
