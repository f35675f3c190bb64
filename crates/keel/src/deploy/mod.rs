//! `keel deploy render`: the files that run this site in production,
//! derived from its settings, so the proxy, the service manager and Keel
//! agree on hosts, ports, paths, limits and timeouts.
//!
//! - `plan`: the values every file uses, checked first (a site that cannot
//!   be made safe renders nothing)
//! - `nginx`: TLS, unknown hosts refused, static files, the upstream
//! - `systemd`: an instance unit per port, the prepare and cleanup units
//! - `compose` and `kubernetes`: the same topology in containers
//! - `env`: `.env.example`, every setting of the catalog
//! - `tls`: a self-signed certificate for local use
//!
//! Rendering is deterministic: the same settings and options give the same
//! bytes (the self-signed certificate excepted).

mod compose;
mod env;
mod kubernetes;
mod nginx;
mod plan;
mod systemd;
mod tls;

use std::path::{Path, PathBuf};

pub use plan::{Plan, PlanError, ACME_ROOT, BINARY, CERT, ENV_FILE, KEY, WORKDIR};

use crate::launch::Site;
use crate::settings::Settings;

/// What to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Systemd,
    Compose,
    Kubernetes,
}

/// The options of `deploy render`.
#[derive(Debug, Clone)]
pub struct Options {
    pub instances: u16,
    pub targets: Vec<Target>,
    pub self_signed: bool,
}

/// One rendered file, by its path inside the output folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub contents: String,
    /// Written readable by its owner only (a private key).
    pub private: bool,
}

impl File {
    fn new(path: impl Into<String>, contents: String) -> Self {
        Self {
            path: path.into(),
            contents,
            private: false,
        }
    }
}

/// Why rendering or writing failed; one line each.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("{}: is not empty; pass --force to write over it", .0.display())]
    NotEmpty(PathBuf),
    #[error("{}: {reason}", path.display())]
    Io { path: PathBuf, reason: String },
    #[error("the self-signed certificate could not be made: {0}")]
    Certificate(String),
}

/// Every file of `options` for `settings` and `site`, nginx and
/// `.env.example` always.
pub fn render(settings: &Settings, site: &Site, options: &Options) -> Result<Vec<File>, DeployError> {
    let plan = Plan::new(settings, site, options)?;
    let mut files = vec![
        File::new("nginx/keel.conf", nginx::site(&plan, &nginx::Upstreams::Loopback)),
        File::new(".env.example", env::example(&plan)),
        File::new("README.txt", plan.readme()),
    ];
    if !plan.metrics.is_empty() {
        files.push(File::new("prometheus/keel.yml", prometheus(&plan)));
    }
    for target in &plan.targets {
        match target {
            Target::Systemd => files.extend(systemd::units(&plan)),
            Target::Compose => files.extend(compose::files(&plan)),
            Target::Kubernetes => files.extend(kubernetes::files(&plan)),
        }
    }
    if options.self_signed {
        files.extend(tls::self_signed(&plan.hosts).map_err(DeployError::Certificate)?);
    }
    Ok(files)
}

/// A Prometheus scrape job for the instances' `/metrics` listeners.
fn prometheus(plan: &Plan) -> String {
    let targets: Vec<String> = plan.metrics.iter().map(|addr| format!("'{addr}'")).collect();
    format!(
        "# Rendered by `keel deploy render`: Prometheus scraping each instance's
# /metrics listener (KEEL_METRICS_BIND, one port per instance). Merge the
# job into /etc/prometheus/prometheus.yml, or run Prometheus with this file.
scrape_configs:
  - job_name: keel
    scrape_interval: 15s
    static_configs:
      - targets: [{}]
",
        targets.join(", ")
    )
}

/// Writes `files` under `out`, which must be absent or empty unless
/// `force`. Everything is checked before the first byte is written.
pub fn write(out: &Path, files: &[File], force: bool) -> Result<(), DeployError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |err: std::io::Error| DeployError::Io {
            path,
            reason: err.to_string(),
        }
    };
    match std::fs::read_dir(out) {
        Ok(entries) => {
            if entries.into_iter().next().is_some() && !force {
                return Err(DeployError::NotEmpty(out.to_owned()));
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(io(out)(err)),
    }
    for file in files {
        let path = out.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, if file.private { 0o600 } else { 0o644 });
        let mut handle = options.open(&path).map_err(io(&path))?;
        std::io::Write::write_all(&mut handle, file.contents.as_bytes()).map_err(io(&path))?;
    }
    Ok(())
}
