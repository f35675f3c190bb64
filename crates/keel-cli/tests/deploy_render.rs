//! `keel deploy render` as a user runs it: the files match their snapshots
//! and are the same bytes every time; settings that cannot make a safe site
//! exit 2 with one line and write nothing; and the files are accepted by
//! the real tools: `nginx -t`, `systemd-analyze verify` (and the instance's
//! sandbox scored by `systemd-analyze security`), `docker-compose config`
//! and `kubernetes-validate`.

mod cli_common;
#[path = "deploy/validate.rs"]
mod validate;

use std::path::{Path, PathBuf};

use cli_common::{run, text};

const KEY: &str = "k3ElqZ0x9Vb7Rw2mNp4Ts6Yu8Ia1Oc5Ed7Gf9Hh2Jj4Kk6Ll8Zz0Xx";

/// A production site with PostgreSQL, Redis and nginx-sent media.
pub(crate) const PROD: &[(&str, &str)] = &[
    ("KEEL_ENV", "prod"),
    ("KEEL_PUBLIC_URL", "https://forms.example.com"),
    ("KEEL_ALLOWED_HOSTS", "forms.example.com,.forms.example.org"),
    ("KEEL_SECRET_KEY", KEY),
    ("DATABASE_URL", "postgres://keel:secret@db.internal:5432/keel"),
    ("KEEL_CACHE_URL", "redis://:secret@cache.internal:6379/0"),
    ("KEEL_MEDIA_ACCEL_REDIRECT", "/protected-media/"),
    // The prod default, which the command-line tests otherwise clear.
    ("KEEL_METRICS_BIND", "127.0.0.1:9100"),
];

/// Renders every target into `dir/out` and returns that folder.
pub(crate) fn render(dir: &Path, env: &[(&str, &str)], extra: &[&str]) -> PathBuf {
    let out = dir.join("out");
    let mut args = vec!["deploy", "render", "--out", out.to_str().unwrap()];
    args.extend_from_slice(&["--target", "systemd,compose,kubernetes"]);
    args.extend_from_slice(extra);
    let result = run(dir, &args, env);
    assert!(result.status.success(), "{}", text(&result.stderr));
    out
}

fn files(root: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(root).unwrap().to_str().unwrap().to_owned();
                found.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn rendered_files_match_their_snapshots_and_are_the_same_every_time() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let first = files(&render(a.path(), PROD, &[]));
    let second = files(&render(b.path(), PROD, &[]));
    assert_eq!(first, second, "same settings, same bytes (working folders differ)");
    assert_eq!(first.len(), 23);
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/deploy/snapshots");
    let bless = std::env::var_os("KEEL_BLESS").is_some();
    for (name, contents) in &first {
        let path = snapshots.join(name);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, contents).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{name} has a snapshot (KEEL_BLESS=1 writes them)"));
        assert_eq!(
            contents, &expected,
            "{name} differs from its snapshot (KEEL_BLESS=1 rewrites it)"
        );
    }
    let secrets = first.iter().filter(|(_, c)| c.contains(KEY) || c.contains(":secret@"));
    assert_eq!(secrets.count(), 0, "no secret of the settings is written anywhere");
}

#[test]
fn the_self_signed_certificate_names_the_hosts_and_its_key_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let out = render(dir.path(), PROD, &["--self-signed"]);
    let cert = std::fs::read_to_string(out.join("tls/fullchain.pem")).unwrap();
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
    let key = out.join("tls/privkey.pem");
    assert!(std::fs::read_to_string(&key).unwrap().contains("PRIVATE KEY"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    let site = std::fs::read_to_string(out.join("nginx/keel.conf")).unwrap();
    assert!(!site.contains("ssl_stapling"), "no OCSP stapling without a chain");
}

#[test]
fn settings_that_cannot_make_a_safe_site_exit_2_with_one_line_and_write_nothing() {
    let with = |changes: &[(&'static str, &'static str)]| {
        let mut env: Vec<(&str, &str)> = PROD
            .iter()
            .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
            .copied()
            .collect();
        env.extend_from_slice(changes);
        env
    };
    type Env = Vec<(&'static str, &'static str)>;
    let cases: Vec<(Env, Vec<&str>, &str)> = vec![
        (
            with(&[("KEEL_ALLOWED_HOSTS", "")]),
            vec![],
            "KEEL_ALLOWED_HOSTS: is empty",
        ),
        (with(&[("KEEL_ALLOWED_HOSTS", "*")]), vec![], "KEEL_ALLOWED_HOSTS: `*`"),
        (
            with(&[("KEEL_PUBLIC_URL", "http://forms.example.com")]),
            vec![],
            "KEEL_PUBLIC_URL: is http:// in prod",
        ),
        (with(&[]), vec!["--instances", "0"], "--instances"),
        (with(&[]), vec!["--target", "ansible"], "--target"),
        (
            with(&[("KEEL_BIND", "127.0.0.1:65535")]),
            vec![],
            "KEEL_BIND: port 65535",
        ),
    ];
    for (env, extra, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let mut args = vec!["deploy", "render", "--out", out.to_str().unwrap()];
        args.extend(extra);
        let result = run(dir.path(), &args, &env);
        let stderr = text(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{expected}: {stderr}");
        assert!(stderr.contains(expected), "{expected}: {stderr}");
        assert!(!out.exists(), "{expected}: nothing written");
    }
    // A folder in the way: refused without --force, written over with it.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("mine.txt"), "keep").unwrap();
    let args = ["deploy", "render", "--out", out.to_str().unwrap()];
    let result = run(dir.path(), &args, PROD);
    assert_eq!(result.status.code(), Some(2));
    let stderr = text(&result.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is not empty; pass --force"), "{stderr}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1, "nothing written");
    let forced = run(dir.path(), &[&args[..], &["--force"]].concat(), PROD);
    assert!(forced.status.success());
    assert!(out.join("nginx/keel.conf").exists());
    // An output path that cannot be a folder: one line naming it.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let result = run(dir.path(), &["deploy", "render", "--out", file.to_str().unwrap()], PROD);
    assert_eq!(result.status.code(), Some(2));
    let stderr = text(&result.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("a-file"), "{stderr}");
}
