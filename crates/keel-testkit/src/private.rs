//! Servers a test owns, on free loopback ports, for the tests that stop,
//! freeze or restart them (never the shared PostgreSQL and Redis).
//!
//! - [`PrivateRedis`]: `redis-server` without persistence.
//! - [`PrivatePostgres`]: a cluster made by `initdb` in a temporary folder
//!   (as the `postgres` user when the tests run as root, since PostgreSQL
//!   refuses to run as root).
//!
//! Both are killed when dropped. Freezing is SIGSTOP (the process keeps its
//! sockets but answers nothing: the "hung server" case), thawing SIGCONT.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Sends signal `name` to `pid`; a process that exited meanwhile (a
/// backend that ended between listing and signalling) is not an error.
fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status();
    let gone = !std::path::Path::new(&format!("/proc/{pid}")).exists();
    assert!(status.is_ok_and(|s| s.success()) || gone, "kill -{name} {pid}");
}

fn wait_for_port(port: u16, up: bool, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let open = std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_millis(200),
        )
        .is_ok();
        if open == up {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "port {port} did not become {}",
            if up { "open" } else { "closed" }
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `redis-server` of the test's own.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts one, or `None` when `redis-server` is not installed (the
    /// caller skips or fails by the usual rule).
    pub fn start() -> Option<Self> {
        let mut redis = Self {
            port: free_port(),
            child: None,
        };
        redis.restart().then_some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server again on the same port (after [`stop`](Self::stop)).
    pub fn restart(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else {
            return false;
        };
        self.child = Some(child);
        wait_for_port(self.port, true, Duration::from_secs(10));
        true
    }

    /// Kills the server: connections are refused until a restart.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        wait_for_port(self.port, false, Duration::from_secs(10));
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server is running").id()
    }

    /// SIGSTOP: connections are accepted by the kernel, nothing answers.
    pub fn freeze(&self) {
        signal(self.pid(), "STOP");
    }

    pub fn thaw(&self) {
        signal(self.pid(), "CONT");
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill").args(["-CONT", &child.id().to_string()]).status();
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A PostgreSQL cluster of the test's own.
pub struct PrivatePostgres {
    pub port: u16,
    dir: tempfile::TempDir,
    as_postgres: bool,
}

fn pg_bin(name: &str) -> PathBuf {
    // Debian keeps the server programs out of PATH.
    let found = std::fs::read_dir("/usr/lib/postgresql").ok().and_then(|versions| {
        let mut dirs: Vec<PathBuf> = versions.flatten().map(|e| e.path().join("bin").join(name)).collect();
        dirs.sort();
        dirs.into_iter().rev().find(|p| p.exists())
    });
    found.unwrap_or_else(|| PathBuf::from(name))
}

impl PrivatePostgres {
    /// Makes and starts a cluster, or `None` when `initdb` is not there.
    pub fn start() -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let pg = Self {
            port: free_port(),
            dir,
            as_postgres,
        };
        if as_postgres {
            let _ = Command::new("chown")
                .args(["-R", "postgres", &pg.dir.path().display().to_string()])
                .status();
        }
        let data = pg.data().display().to_string();
        let made = pg.run(
            &pg_bin("initdb"),
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        if !made {
            return None;
        }
        pg.restart();
        Some(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, program: &Path, args: &[&str]) -> bool {
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        command
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The URL of database `postgres` on this cluster.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl start` (or start again after [`stop`](Self::stop)).
    pub fn restart(&self) {
        let data = self.data().display().to_string();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off",
            self.port
        );
        let log = self.dir.path().join("log").display().to_string();
        assert!(
            self.run(
                &pg_bin("pg_ctl"),
                &["-D", &data, "-o", &options, "-l", &log, "-w", "start"]
            ),
            "pg_ctl start"
        );
    }

    /// From now on a connection needs `password` (scram-sha-256 in
    /// `pg_hba.conf`, then a reload): a URL without it, or with another,
    /// is refused, as a production server refuses a wrong password.
    pub async fn require_password(&self, password: &str) {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.url())
            .await
            .expect("the private cluster answers");
        sqlx::query(&format!(
            "ALTER USER postgres PASSWORD '{}'",
            password.replace('\'', "''")
        ))
        .execute(&mut conn)
        .await
        .expect("the password is set");
        let _ = conn.close().await;
        std::fs::write(
            self.data().join("pg_hba.conf"),
            "host all all 127.0.0.1/32 scram-sha-256\n",
        )
        .expect("pg_hba.conf is written");
        let data = self.data().display().to_string();
        assert!(self.run(&pg_bin("pg_ctl"), &["-D", &data, "reload"]), "pg_ctl reload");
        // The reload is a signal: wait until the server has read the file.
        let deadline = Instant::now() + Duration::from_secs(10);
        while sqlx::PgConnection::connect(&self.url()).await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "the cluster still lets in a user without a password"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `pg_ctl stop -m fast`: sessions are terminated (57P01), then
    /// connections are refused.
    pub fn stop(&self) {
        let data = self.data().display().to_string();
        assert!(
            self.run(&pg_bin("pg_ctl"), &["-D", &data, "-m", "fast", "-w", "stop"]),
            "pg_ctl stop"
        );
    }

    fn pids(&self) -> Vec<u32> {
        let Ok(pidfile) = std::fs::read_to_string(self.data().join("postmaster.pid")) else {
            return Vec::new();
        };
        let Some(main) = pidfile.lines().next().and_then(|l| l.trim().parse::<u32>().ok()) else {
            return Vec::new();
        };
        let mut pids = vec![main];
        if let Ok(out) = Command::new("pgrep").args(["-P", &main.to_string()]).output() {
            pids.extend(
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter_map(|l| l.trim().parse::<u32>().ok()),
            );
        }
        pids
    }

    /// SIGSTOP to the postmaster and every backend: a hung database.
    pub fn freeze(&self) {
        for pid in self.pids() {
            signal(pid, "STOP");
        }
    }

    pub fn thaw(&self) {
        for pid in self.pids() {
            signal(pid, "CONT");
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.thaw();
        let data = self.data().display().to_string();
        self.run(&pg_bin("pg_ctl"), &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }
}
