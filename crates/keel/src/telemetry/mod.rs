//! Logging: text in `dev`, JSON in `prod`, to stderr and optionally a file,
//! which SIGHUP opens again (for logrotate).
//!
//! Writes go into a buffer that a background thread writes out every 50 ms
//! (see [`batch`]), so a slow terminal or disk does not stall request
//! handling and a line costs no thread wake-up; it is not lossy (a full
//! buffer waits rather than drops lines), and the returned guard flushes
//! on exit.
//!
//! Logging rules: fields are dotted by entity with units (`form.id`,
//! `duration_ms`); never secrets, tokens, cookies, bodies or email
//! addresses.

pub mod batch;
pub mod process;

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::settings::{LogFormat, LogSettings};

/// Set on SIGHUP: the log file is opened again at its path before the
/// next write, so logrotate can move it away (Django's WatchedFileHandler).
static REOPEN: AtomicBool = AtomicBool::new(false);

/// Asks for the log file to be opened again at its path.
pub fn reopen_log_file() {
    REOPEN.store(true, Ordering::SeqCst);
}

/// Opens the log file again on every SIGHUP, until the process ends.
pub async fn reopen_on_hangup() {
    #[cfg(unix)]
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hangup) => {
            while hangup.recv().await.is_some() {
                reopen_log_file();
                tracing::info!("log file reopened (SIGHUP)");
            }
        }
        Err(err) => tracing::error!(error = %err, "cannot listen for SIGHUP"),
    }
}

/// The log file, opened again when [`reopen_log_file`] asks.
struct LogFile {
    path: PathBuf,
    file: std::fs::File,
}

fn open_append(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().create(true).append(true).open(path)
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if REOPEN.swap(false, Ordering::SeqCst) {
            // On failure the old file keeps the lines rather than losing them.
            if let Ok(file) = open_append(&self.path) {
                self.file = file;
            }
        }
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Keeps the log writers alive; drop it last.
pub struct LogGuard {
    _guards: Vec<batch::BatchGuard>,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot open the log file {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("logging was already set up")]
    AlreadySet,
}

/// The filter for `level`, quieting chatty dependencies unless the filter
/// names them.
pub fn filter(level: &str) -> EnvFilter {
    let mut directives = level.to_owned();
    for noisy in ["sqlx", "hyper", "tower_http", "redis"] {
        if !level.contains(noisy) {
            directives.push_str(&format!(",{noisy}=warn"));
        }
    }
    EnvFilter::builder()
        .parse(&directives)
        .unwrap_or_else(|_| EnvFilter::new("info"))
}

fn layer<S>(format: LogFormat, writer: batch::BatchWriter, ansi: bool) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let base = tracing_subscriber::fmt::layer().with_writer(writer);
    match format {
        LogFormat::Text => base.with_ansi(ansi).boxed(),
        LogFormat::Json => base.json().flatten_event(true).with_current_span(false).boxed(),
    }
}

/// Installs the global subscriber.
pub fn init(settings: &LogSettings) -> Result<LogGuard, TelemetryError> {
    let mut guards = Vec::new();
    let (stderr, guard) = batch::batch(std::io::stderr());
    guards.push(guard);
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut layers = vec![layer(settings.format, stderr, ansi)];
    if let Some(path) = &settings.file {
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let file = open_append(path).map_err(|source| TelemetryError::File {
            path: path.display().to_string(),
            source,
        })?;
        let (writer, guard) = batch::batch(LogFile {
            path: path.clone(),
            file,
        });
        guards.push(guard);
        layers.push(layer(settings.format, writer, false));
    }
    tracing_subscriber::registry()
        .with(layers)
        .with(filter(&settings.level))
        .try_init()
        .map_err(|_| TelemetryError::AlreadySet)?;
    Ok(LogGuard { _guards: guards })
}

/// For tests: logs only when `TEST_LOG` is set, through the test writer.
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter(
                &std::env::var("TEST_LOG").unwrap_or_default().replace('1', "debug"),
            ))
            .with_test_writer()
            .try_init();
    }
}
