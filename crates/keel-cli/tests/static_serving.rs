//! Serving collected files in prod over HTTP against the real stack:
//! cache headers, validators and 304, ranges, precompressed bodies chosen
//! by `Accept-Encoding`, content types, HEAD, and no session work. None of
//! this touches storage, so SQLite only. Hostile paths and dev serving are
//! in `static_paths.rs`.

mod static_site;

use std::io::Read;

use keel::settings::Profile;
use reqwest::header::HeaderMap;
use static_site::{header, site, IMMUTABLE};

/// Whether any `Vary` header names `Accept-Encoding` (CORS adds `Origin`).
fn varies_by_encoding(headers: &HeaderMap) -> bool {
    headers
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("accept-encoding"))
}

#[tokio::test]
async fn prod_caches_hashed_names_for_a_year_and_plain_names_briefly() {
    let site = site(Profile::Prod).await;
    let hashed = site.get(&site.hashed_url("app/site.css"), &[]).await;
    assert_eq!(hashed.status(), 200);
    assert_eq!(header(hashed.headers(), "cache-control"), IMMUTABLE);
    let collected = std::fs::read(site.root.join(&site.manifest.files["app/site.css"].hashed)).unwrap();
    assert_eq!(hashed.bytes().await.unwrap(), collected, "the collected file's bytes");
    let plain = site.get("/static/app/site.css", &[]).await;
    assert_eq!(plain.status(), 200);
    let cache = header(plain.headers(), "cache-control");
    assert!(cache.contains("max-age=60") && !cache.contains("immutable"), "{cache}");
    let body = plain.bytes().await.unwrap();
    assert_eq!(body, std::fs::read(site.extra.join("app/site.css")).unwrap());
    let builtin = site.get(&site.hashed_url("keel/keel.css"), &[]).await;
    assert_eq!(builtin.status(), 200, "the built-in files are collected too");
}

#[tokio::test]
async fn prod_answers_304_to_a_matching_etag_or_a_later_if_modified_since() {
    let site = site(Profile::Prod).await;
    let url = site.hashed_url("app/site.css");
    let first = site.get(&url, &[]).await;
    let etag = header(first.headers(), "etag").to_owned();
    let modified = header(first.headers(), "last-modified").to_owned();
    assert!(etag.starts_with('"') && etag.len() > 10, "a strong ETag: {etag}");
    assert!(modified.ends_with("GMT"), "an HTTP date: {modified}");
    let cases = [
        (vec![("if-none-match", etag.as_str())], 304, "the same ETag"),
        (vec![("if-none-match", "\"other\", W/\"x\"")], 200, "other ETags"),
        (vec![("if-none-match", "*")], 304, "any ETag"),
        (
            vec![("if-modified-since", modified.as_str())],
            304,
            "not modified since",
        ),
        (
            vec![("if-modified-since", "Thu, 01 Jan 1998 00:00:00 GMT")],
            200,
            "modified since",
        ),
        (
            vec![("if-none-match", "\"other\""), ("if-modified-since", modified.as_str())],
            200,
            "If-None-Match wins over If-Modified-Since",
        ),
    ];
    for (headers, status, why) in cases {
        let response = site.get(&url, &headers).await;
        assert_eq!(response.status(), status, "{why}");
        if status == 304 {
            assert_eq!(header(response.headers(), "etag"), etag, "{why}: the ETag again");
            assert_eq!(header(response.headers(), "cache-control"), IMMUTABLE, "{why}");
            assert!(response.bytes().await.unwrap().is_empty(), "{why}: no body");
        }
    }
}

#[tokio::test]
async fn prod_answers_ranges_with_206_and_impossible_ones_with_416() {
    let site = site(Profile::Prod).await;
    let url = site.hashed_url("app/site.css");
    let whole = std::fs::read(site.extra.join("app/site.css")).unwrap();
    let len = whole.len();
    let response = site
        .get(&url, &[("range", "bytes=10-19"), ("accept-encoding", "br")])
        .await;
    assert_eq!(response.status(), 206);
    assert_eq!(
        header(response.headers(), "content-range"),
        format!("bytes 10-19/{len}")
    );
    assert_eq!(
        header(response.headers(), "content-encoding"),
        "",
        "ranges are of the identity"
    );
    assert_eq!(&response.bytes().await.unwrap()[..], &whole[10..20]);

    let suffix = site.get(&url, &[("range", "bytes=-5")]).await;
    assert_eq!(suffix.status(), 206);
    assert_eq!(&suffix.bytes().await.unwrap()[..], &whole[len - 5..]);

    let beyond = site.get(&url, &[("range", &format!("bytes={len}-"))]).await;
    assert_eq!(beyond.status(), 416);
    assert_eq!(header(beyond.headers(), "content-range"), format!("bytes */{len}"));
    assert_eq!(header(beyond.headers(), "content-type"), "application/problem+json");

    let stale = site.get(&url, &[("range", "bytes=0-9"), ("if-range", "\"old\"")]).await;
    assert_eq!(stale.status(), 200, "a stale If-Range gets the whole file");
}

#[tokio::test]
async fn prod_chooses_brotli_or_gzip_by_accept_encoding_and_says_vary() {
    let site = site(Profile::Prod).await;
    let url = site.hashed_url("app/site.css");
    let original = std::fs::read(site.extra.join("app/site.css")).unwrap();
    let cases = [
        (Some("gzip, deflate, br"), "br", "brotli is preferred"),
        (Some("gzip"), "gzip", "gzip only"),
        (Some("br;q=0, gzip"), "gzip", "q=0 refuses brotli"),
        (Some("gzip;q=0.9, br;q=0.5"), "gzip", "the higher q wins"),
        (Some("br;q=0, gzip;q=0"), "", "both refused: identity"),
        (Some("*"), "br", "a wildcard accepts brotli"),
        (Some("identity"), "", "identity only"),
        (None, "", "no header: identity"),
    ];
    for (accept, encoding, why) in cases {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("accept-encoding", a)).into_iter().collect();
        let response = site.get(&url, &headers).await;
        assert_eq!(response.status(), 200, "{why}");
        assert_eq!(header(response.headers(), "content-encoding"), encoding, "{why}");
        assert!(varies_by_encoding(response.headers()), "{why}: Vary: Accept-Encoding");
        let body = response.bytes().await.unwrap();
        let decoded = match encoding {
            "br" => {
                let mut out = Vec::new();
                brotli::BrotliDecompress(&mut &body[..], &mut out).unwrap();
                out
            }
            "gzip" => {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut out).unwrap();
                out
            }
            _ => body.to_vec(),
        };
        assert_eq!(decoded, original, "{why}: the body decodes to the file");
    }
    let tiny = site
        .get(&site.hashed_url("app/tiny.js"), &[("accept-encoding", "br, gzip")])
        .await;
    assert_eq!(
        header(tiny.headers(), "content-encoding"),
        "",
        "no variant was worth keeping"
    );
    assert!(!varies_by_encoding(tiny.headers()), "nothing varies by encoding");
}

#[tokio::test]
async fn prod_sends_the_right_content_type() {
    let site = site(Profile::Prod).await;
    let cases = [
        ("keel/keel.css", "text/css; charset=utf-8"),
        ("keel/keel.js", "text/javascript; charset=utf-8"),
        ("keel/img/mark.svg", "image/svg+xml"),
        ("app/photo.png", "image/png"),
    ];
    for (path, expected) in cases {
        let response = site.get(&site.hashed_url(path), &[]).await;
        assert_eq!(header(response.headers(), "content-type"), expected, "{path}");
        assert_eq!(
            header(response.headers(), "x-content-type-options"),
            "nosniff",
            "{path}"
        );
    }
}

#[tokio::test]
async fn head_has_the_headers_of_get_and_no_body() {
    let site = site(Profile::Prod).await;
    let url = site.server.url(&site.hashed_url("app/site.css"));
    for accept in ["br", "identity"] {
        let get = site
            .server
            .client
            .get(&url)
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        let head = site
            .server
            .client
            .head(&url)
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), 200);
        for name in [
            "content-type",
            "content-length",
            "etag",
            "last-modified",
            "cache-control",
            "vary",
            "content-encoding",
        ] {
            assert_eq!(
                header(head.headers(), name),
                header(get.headers(), name),
                "{accept}: {name}"
            );
        }
        assert!(head.bytes().await.unwrap().is_empty(), "{accept}: HEAD has no body");
        assert!(!get.bytes().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn static_files_skip_sessions_and_refuse_unsafe_methods() {
    let site = site(Profile::Prod).await;
    let response = site.get("/static/app/site.css", &[]).await;
    assert!(
        response.headers().get("set-cookie").is_none(),
        "no session or CSRF cookie"
    );
    assert!(
        response.headers().get("x-request-id").is_some(),
        "still logged with a request id"
    );
    let post = site
        .server
        .client
        .post(site.server.url("/static/app/site.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        post.status(),
        405,
        "not a CSRF 403: the static service has no unsafe methods"
    );
    assert_eq!(header(post.headers(), "allow"), "GET, HEAD");
}
