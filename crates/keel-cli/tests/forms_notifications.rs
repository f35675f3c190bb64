//! A public submission's side effects, end to end: the owner's email
//! through a real SMTP sink and the signed webhook to a real HTTP receiver,
//! both written to the outbox in the submission's transaction.

use std::time::Duration;

use hmac::{Hmac, Mac};
use keel::settings::EmailBackendKind;
use keel_testkit::{on_both_backends, Backend, Receiver, SmtpSink, TestServer};
use secrecy::SecretString;
use serde_json::{json, Value};
use sha2::Sha256;

on_both_backends!(a_submission_notifies_the_owner_and_calls_the_webhook);

async fn a_submission_notifies_the_owner_and_calls_the_webhook(backend: Backend) {
    let sink = SmtpSink::start().await;
    let receiver = Receiver::start().await;
    let smtp = sink.url();
    let server = TestServer::spawn_with(keel_cli::site(), backend, move |s| {
        s.email.backend = EmailBackendKind::Smtp(SecretString::from(smtp));
        s.outbox.webhook_allow_private = true;
    })
    .await;
    assert_eq!(server.signup("owner@example.com").await.status(), 201);
    let form: Value = server
        .post_json(
            "/api/forms",
            &json!({
                "title": "Feedback",
                "fields": [{"key": "comment", "label": "Comment", "type": "long_text", "required": true}],
                "notify_owner": true,
                "webhook_url": receiver.url("/hook"),
            }),
        )
        .await
        .json()
        .await
        .unwrap();
    let secret = form["webhook_secret"]
        .as_str()
        .expect("a webhook secret for the owner")
        .to_owned();
    let slug = form["slug"].as_str().unwrap();
    let public: Value = reqwest::get(server.url(&format!("/api/public/forms/{slug}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The fetch cached the form; the cache never holds the webhook secret
    // (the submission reads it from the database, as the signature below shows).
    let cached = server
        .core
        .cache
        .get(&format!("forms:public:{slug}"))
        .await
        .unwrap()
        .expect("the fetch cached the form");
    let cached = String::from_utf8(cached.to_vec()).unwrap();
    assert!(cached.contains("/hook") && !cached.contains(&secret), "{cached}");
    let created: Value = reqwest::Client::new()
        .post(server.url(&format!("/api/public/forms/{slug}/responses")))
        .json(&json!({"submission_token": public["submission_token"], "answers": {"comment": "Lovely talk"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response_id = created["id"].as_str().unwrap();

    let mail = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mail[0].to, vec!["owner@example.com".to_owned()]);
    assert!(mail[0].header("subject").unwrap_or_default().contains("Feedback"));
    assert!(mail[0].body().contains("Lovely talk") && mail[0].body().contains(response_id));

    let hooks = receiver
        .wait_until("the webhook", Duration::from_secs(10), |r| !r.is_empty())
        .await;
    let hook = &hooks[0];
    assert_eq!(hook.path, "/hook");
    assert_eq!(hook.header("x-keel-event"), Some("response.created"));
    let timestamp = hook.header("x-keel-timestamp").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", hook.body).as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(
        hook.header("x-keel-signature"),
        Some(expected.as_str()),
        "the signature verifies with the form's secret"
    );
    assert!(hook.header("x-keel-idempotency-key").is_some());
    let body: Value = serde_json::from_str(&hook.body).unwrap();
    assert_eq!(body["response"]["id"], response_id);
    assert_eq!(body["response"]["answers"]["comment"], "Lovely talk");
}
