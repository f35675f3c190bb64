//! Active content (HTML, SVG, XML) that hides behind some leading text is
//! still found and refused unless a field names its type exactly; every
//! stored file gets an extension that matches its sniffed type, so a text
//! file named `x.html` is never saved as HTML. Over HTTP on SQLite and
//! PostgreSQL with the local media store.

mod media;

use keel_testkit::{on_both_backends, Backend, TestServer};
use media::{assert_nothing_left, file, png, submit, Part};
use serde_json::{json, Value};

on_both_backends!(
    markup_after_leading_text_is_422_unless_the_field_names_its_type,
    stored_files_get_the_extension_of_their_sniffed_type,
    audio_and_video_fields_take_the_common_formats,
);

/// An owner with a form whose `any` field has no `accept`, `page` takes
/// HTML by name and `notes` takes plain text; its id, slug and a token.
async fn owner_with_form(server: &TestServer) -> (String, String, String) {
    assert_eq!(server.signup("owner@example.com").await.status(), 201);
    let definition = json!({
        "title": "Attachments",
        "fields": [
            {"key": "any", "label": "Anything", "type": "file", "max_files": 10},
            {"key": "page", "label": "Page", "type": "file", "accept": ["text/html"]},
            {"key": "notes", "label": "Notes", "type": "file", "accept": ["text/plain"], "max_files": 10}
        ]
    });
    let form = server.publish_form(&definition).await;
    (form.id, form.slug, form.token)
}

fn token_part(token: &str) -> Part<'static> {
    Part::Text("submission_token", token.to_owned())
}

async fn markup_after_leading_text_is_422_unless_the_field_names_its_type(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let (id, slug, token) = owner_with_form(&server).await;
    let hostile: &[(&str, &[u8], &str)] = &[
        (
            "a.html",
            b"Hello there\n<script>alert(1)</script>",
            "a script after a line of text",
        ),
        ("a.svg", b"Just text, then <svg onload=alert(1)>", "SVG after text"),
        (
            "a.html",
            b"\xef\xbb\xbf  notes <IFRAME src=//evil>",
            "an iframe after a BOM and text",
        ),
        ("a.html", b"hi <img src=x onerror=alert(1)>", "an image with a handler"),
        (
            "a.html",
            b"hi <details open ontoggle=alert(1)>",
            "a handler on an unlisted tag",
        ),
        (
            "a.xhtml",
            b"text <?xml version=\"1.0\"?><html xmlns=",
            "XHTML after text",
        ),
        ("a.html", b"text <!DOCTYPE html><p>", "a doctype after text"),
        ("a.html", b"text <a href=javascript:alert(1)>x</a>", "a link"),
        (
            "a.html",
            b"text <meta http-equiv=refresh content=0;url=//evil>",
            "a meta refresh",
        ),
        ("a.html", b"text <object data=x></object>", "an object"),
        ("a.html", b"text <embed src=x>", "an embed"),
        ("a.html", b"text <link rel=import href=x>", "a link element"),
        ("a.html", b"text <style>@import url(x)</style>", "a style element"),
        ("a.html", b"text <BODY onload=alert(1)>", "a body in upper case"),
    ];
    for (name, bytes, why) in hostile {
        for field in ["any", "notes"] {
            let parts = [token_part(&token), file(field, name, "text/plain", bytes.to_vec())];
            let response = submit(&server, &slug, &parts).await;
            assert_eq!(response.status(), 422, "{why} in `{field}`");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["errors"][0]["field"], format!("answers.{field}"), "{why}: {body}");
        }
    }
    assert_nothing_left(&server, &id, "refused markup").await;

    let page = b"Hello\n<script>alert(1)</script>".to_vec();
    let parts = [token_part(&token), file("page", "page.html", "text/html", page)];
    let response = submit(&server, &slug, &parts).await;
    assert_eq!(response.status(), 201, "a field that names text/html takes it");
}

async fn stored_files_get_the_extension_of_their_sniffed_type(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    let (id, slug, token) = owner_with_form(&server).await;
    let cases: &[(&str, &str, Vec<u8>, &str, &str)] = &[
        (
            "notes",
            "notes.html",
            b"a < b and c > d".to_vec(),
            "notes.html.txt",
            "text named .html",
        ),
        (
            "notes",
            "notes.svg",
            b"plain words".to_vec(),
            "notes.svg.txt",
            "text named .svg",
        ),
        (
            "notes",
            "data.csv",
            b"a,b\n1,2\n".to_vec(),
            "data.csv",
            "CSV keeps its name",
        ),
        ("notes", "README", b"read me".to_vec(), "README.txt", "no extension"),
        ("any", "photo.html", png(100), "photo.html.png", "a PNG named .html"),
        (
            "any",
            "photo.JPG",
            b"\xff\xd8\xff\xe0\0\x10JFIF".to_vec(),
            "photo.JPG",
            "a JPEG in capitals",
        ),
        (
            "any",
            "tool.exe",
            b"MZ\x90\0\x03\0\0\0".to_vec(),
            "tool.exe.bin",
            "unknown bytes",
        ),
    ];
    let mut parts = vec![token_part(&token)];
    for (field, name, bytes, _, _) in cases {
        parts.push(file(field, name, "text/html", bytes.clone()));
    }
    let response = submit(&server, &slug, &parts).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let list = server.responses(&id).await;
    let item = &list["items"][0];
    let files = item["files"].as_array().unwrap();
    for (_, _, _, expected, why) in cases {
        let listed = files
            .iter()
            .find(|f| f["name"] == *expected)
            .unwrap_or_else(|| panic!("{why}: {expected} in {files:?}"));
        let path = format!(
            "/api/forms/{id}/responses/{}/files/{}",
            item["id"].as_str().unwrap(),
            listed["id"].as_str().unwrap()
        );
        let download = server.get(&path).await;
        assert_eq!(download.status(), 200, "{why}");
        let disposition = download.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(
            disposition.starts_with(&format!("attachment; filename=\"{expected}\"")),
            "{why}: {disposition}"
        );
    }
}

/// `audio/*` and `video/*` fields take MP3, WAV and Ogg, and QuickTime,
/// WebM and M4V, typed by their content (whatever the client declared),
/// and keep their extensions.
async fn audio_and_video_fields_take_the_common_formats(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    assert_eq!(server.signup("owner@example.com").await.status(), 201);
    let definition = json!({
        "title": "Recordings",
        "fields": [
            {"key": "audio", "label": "Audio", "type": "file", "accept": ["audio/*"], "max_files": 3},
            {"key": "video", "label": "Video", "type": "file", "accept": ["video/*"], "max_files": 3}
        ]
    });
    let form = server.publish_form(&definition).await;
    let webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm";
    let cases: &[(&str, &str, &[u8])] = &[
        ("audio", "song.mp3", b"ID3\x04\0\0\0\0\0\x23TSSE\0\0\0\x0fLavf"),
        ("audio", "take.wav", b"RIFF\x24\x08\0\0WAVEfmt \x10\0\0\0"),
        ("audio", "memo.ogg", b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\x02"),
        ("video", "clip.mov", b"\0\0\0\x14ftypqt  \0\0\0\0qt  \0\0"),
        ("video", "clip.webm", webm),
        ("video", "clip.m4v", b"\0\0\0\x1cftypM4V \0\0\0\x01M4V isom\0\0"),
    ];
    let mut parts = vec![token_part(&form.token)];
    for (field, name, bytes) in cases {
        parts.push(file(field, name, "application/octet-stream", bytes.to_vec()));
    }
    let response = submit(&server, &form.slug, &parts).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let list = server.responses(&form.id).await;
    let files = list["items"][0]["files"].as_array().unwrap();
    for (_, name, _) in cases {
        assert!(
            files.iter().any(|f| f["name"] == *name),
            "{name} kept its name: {files:?}"
        );
    }

    // A text file is not audio, whatever it is called.
    let parts = vec![
        token_part(&form.token),
        file("audio", "fake.mp3", "audio/mpeg", b"ID3 is a tag format".to_vec()),
    ];
    let response = submit(&server, &form.slug, &parts).await;
    assert_eq!(response.status(), 422);
}
