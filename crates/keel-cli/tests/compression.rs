//! Response compression over HTTP on SQLite and PostgreSQL: JSON and the
//! streamed CSV export come gzip- or brotli-encoded as the client accepts,
//! with `Vary`, and decode to the same bytes; small bodies are sent as they
//! are. (Ranges and types are the predicate's unit tests.)

use std::io::Read;

use keel::settings::Rate;
use keel_forms::settings::FormsSettings;
use keel_testkit::{on_both_backends, Backend, TestServer};
use serde_json::json;

on_both_backends!(compressible_answers_are_encoded_as_accepted);

async fn fetch(server: &TestServer, path: &str, encoding: Option<&str>) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = server.client.get(server.url(path));
    if let Some(encoding) = encoding {
        request = request.header("accept-encoding", encoding);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
    (response.headers().clone(), response.bytes().await.unwrap().to_vec())
}

fn encoding(headers: &reqwest::header::HeaderMap) -> Option<&str> {
    headers.get("content-encoding").map(|v| v.to_str().unwrap())
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096).read_to_end(&mut out).unwrap();
    out
}

async fn compressible_answers_are_encoded_as_accepted(backend: Backend) {
    let server = TestServer::spawn_with(keel_cli::site(), backend, |s| {
        s.update_section(|f: &mut FormsSettings| {
            f.submission_rate = Rate {
                count: 1000,
                period: std::time::Duration::from_secs(3600),
            }
        });
    })
    .await;
    let (plain_headers, plain) = fetch(&server, "/api/openapi.json", None).await;
    assert_eq!(encoding(&plain_headers), None, "nothing accepted, nothing encoded");

    let (headers, br) = fetch(&server, "/api/openapi.json", Some("br")).await;
    assert_eq!(encoding(&headers), Some("br"));
    let vary: Vec<String> = headers
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .collect();
    assert!(vary.iter().any(|v| v.contains("accept-encoding")), "{vary:?}");
    assert_eq!(unbrotli(&br), plain);
    assert!(br.len() * 3 < plain.len(), "{} → {} bytes", plain.len(), br.len());
    let (headers, gz) = fetch(&server, "/api/openapi.json", Some("gzip")).await;
    assert_eq!(encoding(&headers), Some("gzip"));
    assert_eq!(gunzip(&gz), plain);

    // A tiny body is sent as it is.
    let (headers, _) = fetch(&server, "/api/csrf", Some("gzip, br")).await;
    assert_eq!(encoding(&headers), None);

    // The streamed CSV export.
    assert_eq!(server.signup("owner@example.com").await.status(), 201);
    let definition = json!({"title": "Big", "fields": [{"key": "note", "label": "Note", "type": "long_text"}]});
    let form = server.publish_form(&definition).await;
    for i in 0..40 {
        let body = json!({"submission_token": form.token, "answers": {"note": format!("a fairly long note, number {i}, repeated")}});
        assert_eq!(server.submit_public(&form.slug, &body).await.status(), 201);
    }
    let csv_path = format!("/api/forms/{}/responses.csv", form.id);
    let (_, csv) = fetch(&server, &csv_path, None).await;
    let (headers, csv_gz) = fetch(&server, &csv_path, Some("gzip")).await;
    assert_eq!(encoding(&headers), Some("gzip"));
    assert_eq!(gunzip(&csv_gz), csv);
}
