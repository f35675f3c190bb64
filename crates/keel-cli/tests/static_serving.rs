//! Serving `/static/` over HTTP against the real stack: in prod the
//! collected files from memory (cache headers, validators, ranges,
//! precompressed bodies), in dev the sources; hostile paths never leave
//! the root. None of this touches storage, so SQLite only.

use std::io::Read;
use std::path::{Path, PathBuf};

use keel::settings::Profile;
use keel::staticfiles::{self, Manifest};
use keel_testkit::{Backend, TestServer};
use reqwest::header::HeaderMap;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A project folder: an extra static folder with a large stylesheet, a
/// tiny script and an image, and a secret file beside it that must never
/// be served.
struct Site {
    server: TestServer,
    manifest: Manifest,
    extra: PathBuf,
    root: PathBuf,
    _dir: tempfile::TempDir,
}

fn write_sources(dir: &Path) -> PathBuf {
    let extra = dir.join("extra");
    std::fs::create_dir_all(extra.join("app")).unwrap();
    let css = ".row { display: flex; gap: 1rem; }\n".repeat(500);
    std::fs::write(extra.join("app/site.css"), css).unwrap();
    std::fs::write(extra.join("app/tiny.js"), "x=1").unwrap();
    std::fs::write(extra.join("app/photo.png"), [7_u8; 2048]).unwrap();
    std::fs::write(dir.join("secret.txt"), "TOP SECRET").unwrap();
    std::os::unix::fs::symlink(dir.join("secret.txt"), extra.join("app/link.txt")).unwrap();
    extra
}

async fn site(profile: Profile) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let extra = write_sources(dir.path());
    let root = dir.path().join("static");
    let mut settings = keel::Settings::for_test(dir.path());
    settings.files.static_root = root.clone();
    settings.files.staticfiles_dirs = vec![extra.clone()];
    if profile == Profile::Prod {
        staticfiles::collect(&settings.files, Default::default(), &mut |_| {}).expect("collects");
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("linked.txt")).unwrap();
    }
    let manifest = staticfiles::manifest::read(&root).unwrap().unwrap_or(Manifest {
        version: 0,
        source_hash: String::new(),
        files: Default::default(),
    });
    let (r, e) = (root.clone(), extra.clone());
    let server = TestServer::spawn_with(Backend::Sqlite, move |s| {
        s.profile = profile;
        s.files.static_root = r;
        s.files.staticfiles_dirs = vec![e];
    })
    .await;
    Site {
        server,
        manifest,
        extra,
        root,
        _dir: dir,
    }
}

impl Site {
    fn hashed_url(&self, path: &str) -> String {
        format!("/static/{}", self.manifest.files[path].hashed)
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.server.client.get(self.server.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("the request reaches the server")
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

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

#[tokio::test]
async fn prod_serves_only_what_the_manifest_lists() {
    let site = site(Profile::Prod).await;
    std::fs::write(site.root.join("dropped.css"), "a{}").unwrap();
    std::fs::write(site.extra.join("app/new.css"), "a{}").unwrap();
    let cases = [
        ("/static/dropped.css", "a file put into the root by hand"),
        ("/static/app/new.css", "a source added after collectstatic"),
        ("/static/manifest.json", "the manifest itself"),
        ("/static/app/site.css.gz", "a compressed sibling by name"),
        ("/static/", "the folder"),
        ("/static/app/", "a subfolder"),
    ];
    for (path, why) in cases {
        let response = site.get(path, &[]).await;
        assert_eq!(response.status(), 404, "{why}: {path}");
        assert_eq!(
            header(response.headers(), "content-type"),
            "application/problem+json",
            "{why}"
        );
    }
}

/// Raw requests, because a client library would normalize these paths.
fn hostile_paths() -> Vec<(&'static str, &'static str)> {
    vec![
        ("/static/../Cargo.toml", "a parent segment"),
        ("/static/../secret.txt", "a parent segment to a real file"),
        ("/static/%2e%2e/x", "an encoded parent segment"),
        ("/static/%2e%2e/secret.txt", "an encoded parent segment to a real file"),
        ("/static/..%2fx", "an encoded slash after .."),
        ("/static/..%2fsecret.txt", "an encoded slash to a real file"),
        ("/static/app%2fsite.css", "an encoded slash joining real segments"),
        ("/static/a%5cb", "an encoded backslash"),
        ("/static/app\\site.css", "a raw backslash between real segments"),
        ("/static/app%5csite.css", "an encoded backslash between real segments"),
        ("/static/%00", "an encoded NUL"),
        ("/static/app/site.css%00.png", "a NUL inside a name"),
        ("/static/%c0%ae%c0%ae/x", "overlong UTF-8 dots"),
        ("/static/%c0%ae%c0%ae/secret.txt", "overlong UTF-8 dots to a real file"),
        ("/static/%2fetc%2fpasswd", "an encoded absolute path"),
        ("/static//etc/passwd", "an absolute path after the prefix"),
        (
            "/static/app/link.txt",
            "a symlink in a source folder that points outside it",
        ),
        (
            "/static/linked.txt",
            "a symlink in the static root that points outside it",
        ),
    ]
}

async fn assert_hostile_paths_are_404(site: &Site, profile: &str) {
    for (path, why) in hostile_paths() {
        let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let (status, text) = site.server.raw(&request).await;
        assert_eq!(status, 404, "{profile}, {why}: {path} gave {text}");
        assert!(!text.contains("TOP SECRET"), "{profile}, {why}: leaked the secret");
        assert!(
            text.contains("application/problem+json"),
            "{profile}, {why}: the 404 problem"
        );
    }
}

#[tokio::test]
async fn hostile_paths_are_404_in_prod() {
    let site = site(Profile::Prod).await;
    assert_hostile_paths_are_404(&site, "prod").await;
}

#[tokio::test]
async fn hostile_paths_are_404_in_dev() {
    let site = site(Profile::Dev).await;
    assert_eq!(
        site.get("/static/app/site.css", &[]).await.status(),
        200,
        "the folder is served"
    );
    assert_hostile_paths_are_404(&site, "dev").await;
}

#[tokio::test]
async fn dev_serves_straight_from_the_sources_and_extra_folders() {
    let site = site(Profile::Dev).await;
    let builtin = site.get("/static/keel/keel.css", &[]).await;
    assert_eq!(builtin.status(), 200);
    assert_eq!(
        header(builtin.headers(), "cache-control"),
        "no-cache",
        "always revalidated"
    );
    let etag = header(builtin.headers(), "etag").to_owned();
    assert!(
        builtin.text().await.unwrap().contains("@import \"base.css\""),
        "not rewritten"
    );
    let again = site.get("/static/keel/keel.css", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status(), 304, "ETags work in dev too");

    let extra = site.get("/static/app/tiny.js", &[]).await;
    assert_eq!(extra.status(), 200, "a file of an extra folder");
    assert_eq!(
        header(extra.headers(), "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(extra.text().await.unwrap(), "x=1");

    std::fs::write(site.extra.join("app/tiny.js"), "x=2").unwrap();
    let edited = site.get("/static/app/tiny.js", &[]).await;
    assert_eq!(edited.text().await.unwrap(), "x=2", "an edit shows without a restart");

    std::fs::create_dir_all(site.extra.join("keel")).unwrap();
    std::fs::write(site.extra.join("keel/keel.js"), "override()").unwrap();
    let overridden = site.get("/static/keel/keel.js", &[]).await;
    assert_eq!(overridden.text().await.unwrap(), "override()", "an extra folder wins");
    assert_eq!(site.get("/static/app/missing.js", &[]).await.status(), 404);
}
