//! The site the static-file tests serve: an extra static folder with a
//! large stylesheet, a tiny script, an image and a symlink pointing out of
//! it, collected (prod) or not (dev), behind the real stack.

use std::path::{Path, PathBuf};

use keel::settings::Profile;
use keel::staticfiles::{self, Manifest};
use keel_testkit::{Backend, TestServer};
use reqwest::header::HeaderMap;

pub(crate) const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A project folder: an extra static folder with a large stylesheet, a
/// tiny script and an image, and a secret file beside it that must never
/// be served.
pub(crate) struct Site {
    pub(crate) server: TestServer,
    pub(crate) manifest: Manifest,
    pub(crate) extra: PathBuf,
    pub(crate) root: PathBuf,
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

pub(crate) async fn site(profile: Profile) -> Site {
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
    let server = TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, move |s| {
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
    pub(crate) fn hashed_url(&self, path: &str) -> String {
        format!("/static/{}", self.manifest.files[path].hashed)
    }

    pub(crate) async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.server.client.get(self.server.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("the request reaches the server")
    }
}

pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}
