//! A real S3-compatible server for the media tests: moto in server mode
//! (`pip install 'moto[server]'`), started by the test on a free loopback
//! port and spoken to over HTTP, as production speaks to S3. Without
//! Python and moto the test is skipped with a printed reason, or fails
//! under `KEEL_TEST_REQUIRE_SERVICES=1`.
//!
//! The server runs in a child Python process that also stops when its
//! standard input closes, so it cannot outlive the test binary even when
//! a test is killed before `Drop` runs.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keel::settings::{MediaStorage, Settings};
use secrecy::SecretString;

use crate::services::missing;

const SERVER: &str = "import sys\n\
from moto.server import ThreadedMotoServer\n\
server = ThreadedMotoServer(ip_address='127.0.0.1', port=int(sys.argv[1]), verbose=False)\n\
server.start()\n\
print('ready', flush=True)\n\
sys.stdin.read()\n\
server.stop()\n";
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running moto server with one empty bucket.
pub struct S3Server {
    /// `http://127.0.0.1:<port>`
    pub endpoint: String,
    pub bucket: String,
    child: Child,
}

fn python() -> String {
    std::env::var("KEEL_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Starts moto on a free loopback port and creates a bucket; `None` (skip)
/// when moto cannot be started, or a panic when services are required.
pub async fn s3_server() -> Option<S3Server> {
    let port = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(err) => {
            missing("moto (S3)", "127.0.0.1", &format!("no free port: {err}"));
            return None;
        }
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let child = Command::new(python())
        .args(["-c", SERVER, &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(err) => {
            missing("moto (S3)", &endpoint, &format!("cannot run {}: {err}", python()));
            return None;
        }
    };
    let bucket = format!("keel-test-{}", uuid::Uuid::new_v4().simple());
    let mut server = S3Server {
        endpoint,
        bucket,
        child,
    };
    if let Err(why) = server.wait_and_create_bucket().await {
        missing(
            "moto (S3)",
            &server.endpoint,
            &format!("{why}; install it with pip install 'moto[server]'"),
        );
        return None;
    }
    Some(server)
}

impl S3Server {
    async fn wait_and_create_bucket(&mut self) -> Result<(), String> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("moto exited at start ({status})"));
            }
            let url = format!("{}/{}", self.endpoint, self.bucket);
            if let Ok(response) = client.put(&url).send().await {
                if response.status().is_success() {
                    return Ok(());
                }
                return Err(format!("creating a bucket answered {}", response.status()));
            }
            if Instant::now() > deadline {
                return Err(format!("moto did not answer within {START_TIMEOUT:?}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Points `settings` at this server's bucket, under the prefix `media`,
    /// with dummy credentials (moto accepts any).
    pub fn configure(&self, settings: &mut Settings) {
        settings.files.media_storage = MediaStorage::S3 {
            bucket: self.bucket.clone(),
            prefix: "media".to_owned(),
        };
        settings.files.s3.endpoint = Some(self.endpoint.clone());
        settings.files.s3.region = Some("us-east-1".to_owned());
        settings.files.s3.access_key_id = Some(SecretString::from("keel-test"));
        settings.files.s3.secret_access_key = Some(SecretString::from("keel-test-secret"));
    }

    /// Every key in the bucket (prefix included), straight from the server.
    pub async fn keys(&self) -> Vec<String> {
        let url = format!("{}/{}?list-type=2", self.endpoint, self.bucket);
        let body = reqwest::get(&url)
            .await
            .expect("moto answers a listing")
            .text()
            .await
            .expect("a listing body");
        body.split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
            .map(str::to_owned)
            .collect()
    }
}

impl S3Server {
    /// Multipart uploads begun and neither completed nor aborted.
    pub async fn pending_uploads(&self) -> usize {
        let url = format!("{}/{}?uploads", self.endpoint, self.bucket);
        let body = reqwest::get(&url)
            .await
            .expect("moto answers a multipart listing")
            .text()
            .await
            .expect("a listing body");
        body.matches("<Upload>").count()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
