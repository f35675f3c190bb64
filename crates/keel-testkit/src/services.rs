//! Finding the external services the tests use, and the skip-or-fail rule.
//!
//! The harness reads its own variables here (`KEEL_TEST_*`); the server under
//! test never does.

use std::time::Duration;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const DEFAULT_CACHE_URL: &str = "redis://127.0.0.1:6379";
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Where PostgreSQL is: an admin URL whose user may create databases.
pub fn postgres_admin_url() -> String {
    std::env::var("KEEL_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned())
}

fn services_required() -> bool {
    std::env::var("KEEL_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true")
}

/// Skips with a printed reason, or panics when services are required.
pub(crate) fn missing(service: &str, url: &str, why: &str) -> bool {
    if services_required() {
        panic!("{service} is required (KEEL_TEST_REQUIRE_SERVICES=1) but not reachable at {url}: {why}");
    }
    eprintln!("SKIPPED: {service} not reachable at {url} ({why}); set KEEL_TEST_REQUIRE_SERVICES=1 to make this fail");
    false
}

/// Whether PostgreSQL answers; prints why not (or panics, when required).
pub async fn postgres_available() -> bool {
    use sqlx::Connection;
    let url = postgres_admin_url();
    match tokio::time::timeout(PROBE_TIMEOUT, sqlx::PgConnection::connect(&url)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            true
        }
        Ok(Err(err)) => missing("PostgreSQL", &url, &err.to_string()),
        Err(_) => missing("PostgreSQL", &url, "timed out"),
    }
}

/// The Redis URL when Redis answers a PING; `None` (skip) otherwise, or a
/// panic when services are required.
pub async fn redis_url() -> Option<String> {
    let url = std::env::var("KEEL_TEST_CACHE_URL").unwrap_or_else(|_| DEFAULT_CACHE_URL.to_owned());
    let address = url::Url::parse(&url)
        .ok()
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port().unwrap_or(6379))));
    let Some(address) = address else {
        missing("Redis", &url, "not a redis:// URL");
        return None;
    };
    let ping = async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(&address).await?;
        stream.write_all(b"PING\r\n").await?;
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply).await?;
        Ok::<_, std::io::Error>(reply == *b"+PONG\r\n")
    };
    match tokio::time::timeout(PROBE_TIMEOUT, ping).await {
        Ok(Ok(true)) => Some(url),
        Ok(Ok(false)) => {
            missing("Redis", &url, "did not answer PONG (password required?)");
            None
        }
        Ok(Err(err)) => {
            missing("Redis", &url, &err.to_string());
            None
        }
        Err(_) => {
            missing("Redis", &url, "timed out");
            None
        }
    }
}

/// A program a test needs is not installed: skips with a printed reason,
/// or panics when services are required.
pub fn missing_program(program: &str) {
    missing(program, "PATH", "not installed");
}

/// Whether `program` is on the PATH; prints why not (or panics, when
/// services are required).
pub fn program_installed(program: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        missing_program(program);
    }
    found
}
