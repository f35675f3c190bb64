//! Which paths `/static/` answers: in prod only what the manifest lists,
//! in dev the sources (extra folders first), and in both never anything
//! outside the folders, however the path is spelled.

mod static_site;

use keel::settings::Profile;
use static_site::{header, site, Site, IMMUTABLE};

#[tokio::test]
async fn prod_serves_only_what_the_manifest_lists() {
    let site = site(Profile::Prod).await;
    let control = site.get(&site.hashed_url("app/site.css"), &[]).await;
    assert_eq!(control.status(), 200, "the control: a collected file");
    assert_eq!(header(control.headers(), "cache-control"), IMMUTABLE);
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
