//! `keel collectstatic` as an operator runs it: hashed names, the manifest,
//! rewritten stylesheets, compressed siblings, skipping what is current,
//! `--dry-run`, `--clear`, extra folders over the built-in files, and
//! `check --deploy` in prod reporting a missing or stale manifest.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const GOOD_PROD_KEY: &str = "k3ElqZ0x9Vb7Rw2mNp4Ts6Yu8Ia1Oc5Ed7Gf9Hh2Jj4Kk6Ll8Zz0Xx";

/// `keel` in `dir` with a clean environment (plus `PATH`) and the extra
/// folder `dir/extra` configured.
fn keel(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keel"));
    cmd.current_dir(dir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("KEEL_STATICFILES_DIRS", "extra");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("keel runs")
}

fn collect(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["collectstatic"];
    all.extend_from_slice(args);
    let out = keel(dir, &all, &[]);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A project folder with an extra static folder: a large stylesheet, a
/// tiny script, an image and an override of a built-in file.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let extra = dir.path().join("extra");
    std::fs::create_dir_all(extra.join("app/img")).unwrap();
    std::fs::create_dir_all(extra.join("keel")).unwrap();
    let css = format!(
        "@import url('../keel/base.css');\n.logo {{ background: url(img/logo.png?v=1#x); }}\n{}",
        ".row { display: flex; gap: 1rem; }\n".repeat(200)
    );
    std::fs::write(extra.join("app/site.css"), css).unwrap();
    std::fs::write(extra.join("app/tiny.js"), "x=1").unwrap();
    std::fs::write(extra.join("app/img/logo.png"), [0_u8; 4096]).unwrap();
    std::fs::write(
        extra.join("keel/keel.js"),
        "console.log('the site overrides the built-in script');\n",
    )
    .unwrap();
    dir
}

fn root(dir: &Path) -> PathBuf {
    dir.join("var/static")
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(root(dir).join("manifest.json")).expect("a manifest")).unwrap()
}

fn hashed(dir: &Path, path: &str) -> String {
    manifest(dir)["files"][path]["hashed"]
        .as_str()
        .expect("listed")
        .to_owned()
}

#[test]
fn collectstatic_writes_hashed_names_and_a_manifest_of_every_file() {
    let dir = project();
    collect(dir.path(), &[]);
    let doc = manifest(dir.path());
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["source_hash"].as_str().unwrap().len(), 64);
    let files = doc["files"].as_object().unwrap();
    for path in [
        "app/site.css",
        "app/tiny.js",
        "app/img/logo.png",
        "keel/keel.css",
        "keel/img/mark.svg",
    ] {
        let entry = &files[path];
        let hashed = entry["hashed"].as_str().unwrap();
        let sha = entry["sha256"].as_str().unwrap();
        let stem = hashed.rsplit_once('.').map_or(hashed, |(stem, _)| stem);
        let digest = stem.rsplit('.').next().unwrap();
        assert!(digest.len() >= 12, "{hashed}: at least 12 hex digits");
        assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()), "{hashed}: hex");
        assert!(sha.starts_with(digest), "{hashed}: the digest is the content's");
        let bytes = std::fs::read(root(dir.path()).join(hashed)).unwrap();
        assert_eq!(bytes.len() as u64, entry["size"].as_u64().unwrap(), "{path}: size");
        assert_eq!(
            bytes,
            std::fs::read(root(dir.path()).join(path)).unwrap(),
            "{path}: both names"
        );
    }
}

#[test]
fn collectstatic_rewrites_css_references_to_hashed_names() {
    let dir = project();
    collect(dir.path(), &[]);
    let site = std::fs::read_to_string(root(dir.path()).join(hashed(dir.path(), "app/site.css"))).unwrap();
    let logo = hashed(dir.path(), "app/img/logo.png");
    let base = hashed(dir.path(), "keel/base.css");
    let logo_name = logo.rsplit('/').next().unwrap();
    let base_name = base.rsplit('/').next().unwrap();
    assert!(
        site.contains(&format!("url(img/{logo_name}?v=1#x)")),
        "relative, query kept: {site:.200}"
    );
    assert!(
        site.contains(&format!("url('../keel/{base_name}')")),
        "@import url: {site:.200}"
    );
    let keel_css = std::fs::read_to_string(root(dir.path()).join("keel/keel.css")).unwrap();
    assert!(
        keel_css.contains(&format!("@import \"{base_name}\"")),
        "the built-in @import"
    );
    let mark = hashed(dir.path(), "keel/img/mark.svg");
    assert!(keel_css.contains(&format!("url(\"img/{}\")", mark.rsplit('/').next().unwrap())));
}

#[test]
fn compressed_siblings_exist_only_for_compressible_types_and_only_when_smaller() {
    let dir = project();
    collect(dir.path(), &[]);
    let doc = manifest(dir.path());
    let cases = [
        ("app/site.css", true, "a large stylesheet"),
        ("keel/img/mark.svg", true, "SVG is text"),
        ("app/tiny.js", false, "three bytes only grow when packed"),
        (
            "app/img/logo.png",
            false,
            "PNG is not a compressible type, however regular its bytes",
        ),
    ];
    for (path, expected, why) in cases {
        let entry = &doc["files"][path];
        assert_eq!(entry["gzip"], expected, "{why}: gzip flag");
        assert_eq!(entry["br"], expected, "{why}: br flag");
        let original = std::fs::read(root(dir.path()).join(path)).unwrap();
        for name in [path.to_owned(), entry["hashed"].as_str().unwrap().to_owned()] {
            let gz = root(dir.path()).join(format!("{name}.gz"));
            let br = root(dir.path()).join(format!("{name}.br"));
            assert_eq!(gz.exists(), expected, "{why}: {name}.gz");
            assert_eq!(br.exists(), expected, "{why}: {name}.br");
            if expected {
                let gz = std::fs::read(gz).unwrap();
                let br = std::fs::read(br).unwrap();
                assert!(gz.len() < original.len() && br.len() < original.len(), "{why}: smaller");
                let mut unzipped = Vec::new();
                flate2::read::GzDecoder::new(&gz[..])
                    .read_to_end(&mut unzipped)
                    .unwrap();
                assert_eq!(unzipped, original, "{why}: .gz is the file");
                let mut unbrotli = Vec::new();
                brotli::BrotliDecompress(&mut &br[..], &mut unbrotli).unwrap();
                assert_eq!(unbrotli, original, "{why}: .br is the file");
            }
        }
    }
}

#[test]
fn a_second_run_copies_nothing_and_says_so_in_one_line() {
    let dir = project();
    let first = collect(dir.path(), &[]);
    let summary = text(&first.stdout);
    assert_eq!(
        summary.lines().count(),
        1,
        "one summary line off a terminal: {summary:?}"
    );
    assert!(summary.contains("7 files copied"), "{summary}");
    let manifest_before = std::fs::metadata(root(dir.path()).join("manifest.json"))
        .unwrap()
        .modified()
        .unwrap();

    let second = collect(dir.path(), &[]);
    let summary = text(&second.stdout);
    assert_eq!(summary.lines().count(), 1, "{summary:?}");
    assert!(
        summary.contains("0 files copied, 7 unchanged") && summary.contains("up to date"),
        "{summary}"
    );
    let manifest_after = std::fs::metadata(root(dir.path()).join("manifest.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(manifest_before, manifest_after, "the manifest is not rewritten");

    std::fs::write(dir.path().join("extra/app/tiny.js"), "x=2").unwrap();
    let third = text(&collect(dir.path(), &[]).stdout);
    assert!(
        third.contains("1 file copied, 6 unchanged"),
        "only the changed file: {third}"
    );
}

#[test]
fn an_extra_folder_overrides_a_built_in_file_with_a_warning() {
    let dir = project();
    let out = collect(dir.path(), &[]);
    let collected = std::fs::read_to_string(root(dir.path()).join("keel/keel.js")).unwrap();
    assert!(collected.contains("the site overrides"), "the extra folder wins");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning: keel/keel.js") && stderr.contains("built-in"),
        "the conflict is named: {stderr}"
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "one warning, no progress bar off a terminal: {stderr}"
    );
}

#[test]
fn dry_run_writes_nothing() {
    let dir = project();
    let out = collect(dir.path(), &["--dry-run"]);
    assert!(!root(dir.path()).exists(), "no static root was made");
    let summary = text(&out.stdout);
    assert!(
        summary.contains("Dry run") && summary.contains("7 files would be copied"),
        "{summary}"
    );

    collect(dir.path(), &[]);
    std::fs::write(dir.path().join("extra/app/tiny.js"), "x=3").unwrap();
    let manifest_before = std::fs::read(root(dir.path()).join("manifest.json")).unwrap();
    let out = collect(dir.path(), &["--dry-run", "--clear", "--no-input"]);
    assert!(text(&out.stdout).contains("would be copied"), "{}", text(&out.stdout));
    assert_eq!(
        std::fs::read(root(dir.path()).join("manifest.json")).unwrap(),
        manifest_before
    );
    assert_eq!(
        std::fs::read(root(dir.path()).join("app/tiny.js")).unwrap(),
        b"x=1",
        "nothing replaced"
    );
}

#[test]
fn clear_removes_stale_files_and_collects_everything_again() {
    let dir = project();
    collect(dir.path(), &[]);
    let old_tiny = hashed(dir.path(), "app/tiny.js");
    std::fs::write(root(dir.path()).join("stale.txt"), "left over").unwrap();
    std::fs::write(dir.path().join("extra/app/tiny.js"), "x=4").unwrap();

    let without_clear = collect(dir.path(), &[]);
    assert!(text(&without_clear.stdout).contains("1 file copied"));
    assert!(
        root(dir.path()).join(&old_tiny).exists(),
        "old hashed files stay without --clear"
    );

    let out = collect(dir.path(), &["--clear", "--no-input"]);
    let summary = text(&out.stdout);
    assert!(
        summary.contains("cleared") && summary.contains("7 files copied"),
        "{summary}"
    );
    assert!(!root(dir.path()).join("stale.txt").exists(), "a stray file is gone");
    assert!(!root(dir.path()).join(&old_tiny).exists(), "an old hashed file is gone");
    assert!(root(dir.path()).join(hashed(dir.path(), "app/tiny.js")).exists());
}

#[test]
fn clear_refuses_a_root_that_holds_the_project() {
    let dir = project();
    let out = keel(
        dir.path(),
        &["collectstatic", "--clear", "--no-input"],
        &[("KEEL_STATIC_ROOT", ".")],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("refusing to clear"), "{stderr}");
    assert!(dir.path().join("extra/app/site.css").exists(), "nothing was deleted");
}

#[test]
fn a_missing_extra_folder_fails_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = keel(dir.path(), &["collectstatic"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("extra") && stderr.contains("does not exist"),
        "{stderr}"
    );
}

fn prod_env(dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("KEEL_ENV", "prod".into()),
        ("KEEL_SECRET_KEY", GOOD_PROD_KEY.into()),
        ("KEEL_PUBLIC_URL", "https://forms.example.com".into()),
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("prod.sqlite3").display()),
        ),
    ]
}

/// The E001 findings of `check --deploy` in prod.
fn static_findings(dir: &Path) -> Vec<String> {
    let env = prod_env(dir);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = keel(dir, &["check", "--deploy", "--format", "json"], &pairs);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON findings");
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "keel.static.E001")
        .inspect(|f| assert_eq!(f["level"], "error"))
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn check_deploy_in_prod_reports_a_missing_or_stale_manifest_and_not_a_fresh_one() {
    let dir = project();
    let missing = static_findings(dir.path());
    assert!(missing.len() == 1 && missing[0].contains("missing"), "{missing:?}");

    assert!(
        keel(dir.path(), &["collectstatic", "--no-input"], &[("KEEL_ENV", "prod")])
            .status
            .success()
    );
    assert_eq!(
        static_findings(dir.path()),
        Vec::<String>::new(),
        "fresh after collectstatic"
    );

    std::fs::write(dir.path().join("extra/app/tiny.js"), "x=5").unwrap();
    let stale = static_findings(dir.path());
    assert!(stale.len() == 1 && stale[0].contains("stale"), "{stale:?}");

    collect(dir.path(), &[]);
    assert!(static_findings(dir.path()).is_empty(), "fresh again");
    std::fs::remove_file(root(dir.path()).join(hashed(dir.path(), "app/tiny.js"))).unwrap();
    let incomplete = static_findings(dir.path());
    assert!(
        incomplete.len() == 1 && incomplete[0].contains("missing"),
        "{incomplete:?}"
    );

    let out = keel(dir.path(), &["check", "--deploy", "--format", "json"], &[]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !doc.to_string().contains("keel.static.E001"),
        "dev serves from the sources: no manifest needed"
    );
}

#[test]
fn collectstatic_has_help_naming_its_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = keel(dir.path(), &["collectstatic", "--help"], &[]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for flag in ["--clear", "--dry-run", "--no-input"] {
        assert!(help.contains(flag), "{flag} in {help}");
    }
}
