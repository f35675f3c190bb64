//! The production topology on one machine: the files `keel deploy render`
//! writes, used as written (only ports and the install paths substituted),
//! with real nginx in front of two `keel serve` processes on PostgreSQL and
//! Redis, the way `systemd` would run them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keel_testkit::private::free_port;
use keel_testkit::{Backend, TestDb};

const KEY: &str = "k3ElqZ0x9Vb7Rw2mNp4Ts6Yu8Ia1Oc5Ed7Gf9Hh2Jj4Kk6Ll8Zz0Xx";

pub(crate) struct Topology {
    pub dir: tempfile::TempDir,
    pub db: TestDb,
    /// The instances' ports (`KEEL_BIND`'s and the next).
    pub ports: [u16; 2],
    pub http: u16,
    pub https: u16,
    pub client: reqwest::Client,
    /// The client's cookies (sent by hand to an instance directly).
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
    env: Vec<(String, String)>,
    instances: [Option<Child>; 2],
    nginx: Option<Child>,
}

/// Two consecutive free ports.
fn two_ports() -> u16 {
    loop {
        let port = free_port();
        if port < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

fn keel(dir: &Path, env: &[(String, String)], args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keel"));
    cmd.current_dir(dir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd
}

fn ok(cmd: &mut Command) {
    let out = cmd.output().expect("keel runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Topology {
    pub(crate) async fn start(extra: &[(&str, &str)]) -> Self {
        Self::start_on(extra, free_port(), free_port()).await
    }

    /// nginx on the `http` and `https` ports given (80 and 443 for the
    /// graders, which know no other).
    pub(crate) async fn start_on(extra: &[(&str, &str)], http: u16, https: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::create(Backend::Postgres, dir.path()).await;
        let base = two_ports();
        let mut env: Vec<(String, String)> = [
            ("KEEL_ENV", "prod"),
            ("KEEL_SECRET_KEY", KEY),
            ("KEEL_SIGNUP_OPEN", "true"),
            ("KEEL_MEDIA_ACCEL_REDIRECT", "/protected-media/"),
            ("KEEL_TRUSTED_PROXIES", "127.0.0.1,::1"),
            ("KEEL_SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto: https"),
            ("KEEL_CACHE_URL", "redis://127.0.0.1:6379/0"),
            ("KEEL_LOG_FORMAT", "json"),
            ("KEEL_SHUTDOWN_TIMEOUT", "10"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        env.push(("KEEL_PUBLIC_URL".into(), format!("https://localhost:{https}")));
        env.push(("KEEL_BIND".into(), format!("127.0.0.1:{base}")));
        // Each instance's /metrics on a port of its own, as the rendered
        // systemd drop-ins give them.
        env.push(("KEEL_METRICS_BIND".into(), format!("127.0.0.1:{}", two_ports())));
        env.push(("DATABASE_URL".into(), db.url.clone()));
        env.push((
            "KEEL_CACHE_KEY_PREFIX".into(),
            format!("e2e{}", uuid::Uuid::new_v4().simple()),
        ));
        let d = dir.path();
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        ok(&mut keel(d, &env, &["migrate"]));
        ok(&mut keel(d, &env, &["collectstatic", "--no-input"]));
        ok(&mut keel(
            d,
            &env,
            &[
                "deploy",
                "render",
                "--out",
                "deploy",
                "--instances",
                "2",
                "--self-signed",
            ],
        ));
        let mut topology = Self {
            db,
            ports: [base, base + 1],
            http,
            https,
            client: client(&d.join("deploy/tls/fullchain.pem"), jar.clone()),
            jar,
            env,
            instances: [None, None],
            nginx: None,
            dir,
        };
        topology.start_instance(0).await;
        topology.start_instance(1).await;
        topology.start_nginx().await;
        topology
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The instance's log (JSON lines, the access log among them).
    pub(crate) fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.path(&format!("instance-{}.log", self.ports[i]))).unwrap_or_default()
    }

    pub(crate) async fn start_instance(&mut self, i: usize) {
        let port = self.ports[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(&format!("instance-{port}.log")))
            .unwrap();
        // The command the rendered unit runs for this instance: its
        // drop-in's ExecStart (the port, and /metrics on one of its own).
        let dropin = self.path(&format!("deploy/systemd/keel@{port}.service.d/metrics.conf"));
        let dropin = std::fs::read_to_string(dropin).expect("a drop-in per instance");
        let exec = dropin
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix("ExecStart=/"))
            .expect("the drop-in's command");
        let args: Vec<&str> = exec.split_whitespace().skip(1).collect();
        assert!(args.contains(&format!("127.0.0.1:{port}").as_str()), "{exec}");
        let metrics = args.last().expect("the metrics address").to_string();
        let child = keel(self.dir.path(), &self.env, &args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("keel serve starts");
        self.instances[i] = Some(child);
        self.wait_ready(i).await;
        let scrape = reqwest::get(format!("http://{metrics}/metrics"))
            .await
            .expect("the instance's /metrics");
        assert_eq!(scrape.status(), 200, "instance {i} serves /metrics on {metrics}");
    }

    pub(crate) async fn wait_ready(&self, i: usize) {
        let url = format!("http://127.0.0.1:{}/readyz", self.ports[i]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if reqwest::get(&url).await.is_ok_and(|r| r.status() == 200) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("instance {i} did not become ready: {}", self.log(i));
    }

    /// SIGKILL: no drain at all.
    pub(crate) fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.instances[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait for the drain to end and the process to exit 0.
    pub(crate) async fn stop(&mut self, i: usize) {
        let mut child = self.instances[i].take().expect("a running instance");
        signal(child.id(), "TERM");
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "instance {i} exits 0 after SIGTERM: {status}");
    }

    async fn start_nginx(&mut self) {
        let d = self.dir.path().display().to_string();
        let site = std::fs::read_to_string(self.path("deploy/nginx/keel.conf")).unwrap();
        let site = site
            .replace("listen 80", &format!("listen {}", self.http))
            .replace("listen [::]:80", &format!("listen [::]:{}", self.http))
            .replace("listen 443", &format!("listen {}", self.https))
            .replace("listen [::]:443", &format!("listen [::]:{}", self.https))
            .replace(
                "https://$host$request_uri",
                &format!("https://$host:{}$request_uri", self.https),
            )
            .replace("/etc/keel/tls/", &format!("{d}/deploy/tls/"))
            .replace(keel::deploy::WORKDIR, &d)
            .replace(keel::deploy::ACME_ROOT, &format!("{d}/acme"));
        std::fs::write(self.path("site.conf"), site).unwrap();
        let user = if is_root() { "user root;\n" } else { "" };
        let main = format!(
            "{user}pid {d}/nginx.pid;\nerror_log {d}/nginx-error.log;\nworker_processes 1;\nevents {{}}\n\
             http {{\n  include /etc/nginx/mime.types;\n  access_log {d}/nginx-access.log;\n\
             client_body_temp_path {d}/nginx-body;\n  proxy_temp_path {d}/nginx-proxy;\n\
             include {d}/site.conf;\n}}\n"
        );
        std::fs::write(self.path("nginx.conf"), main).unwrap();
        let child = Command::new("nginx")
            .args([
                "-e",
                &format!("{d}/nginx-error.log"),
                "-c",
                &format!("{d}/nginx.conf"),
                "-p",
                &d,
            ])
            .args(["-g", "daemon off;"])
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        self.nginx = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.https)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx listens: {}",
                std::fs::read_to_string(self.path("nginx-error.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// nginx reads its configuration and certificates again.
    pub(crate) async fn reload_nginx(&self) {
        signal(self.nginx.as_ref().expect("nginx runs").id(), "HUP");
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }

    /// `keel ARGS` with the instances' settings, in their working folder.
    pub(crate) fn keel(&self, args: &[&str]) -> std::process::Output {
        keel(self.dir.path(), &self.env, args).output().expect("keel runs")
    }

    /// The last lines of nginx's error log.
    pub(crate) fn nginx_errors(&self) -> String {
        let log = std::fs::read_to_string(self.path("nginx-error.log")).unwrap_or_default();
        // A refused connection is retried on the other instance: not news.
        let lines: Vec<&str> = log.lines().filter(|l| !l.contains("111: Connection refused")).collect();
        lines[lines.len().saturating_sub(12)..].join("\n")
    }

    /// `https://localhost:PORT{path}`, through nginx.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.https)
    }

    pub(crate) fn origin(&self) -> String {
        format!("https://localhost:{}", self.https)
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        if let Some(mut nginx) = self.nginx.take() {
            signal(nginx.id(), "QUIT");
            let _ = nginx.wait();
        }
        for i in 0..2 {
            self.kill(i);
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

pub(crate) fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status();
}

/// A client that trusts the rendered self-signed certificate, with a
/// cookie store, never following redirects.
fn client(cert: &Path, jar: std::sync::Arc<reqwest::cookie::Jar>) -> reqwest::Client {
    let pem = std::fs::read(cert).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
