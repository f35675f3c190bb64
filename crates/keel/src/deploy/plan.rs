//! The values every rendered file uses, derived once from the settings and
//! checked: a site that cannot be made safe renders nothing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Options, Target};
use crate::launch::Site;
use crate::settings::{Catalog, MediaStorage, Profile, Settings};

/// Where an instance runs on the server: its working folder (systemd's
/// `StateDirectory`), where relative paths of the settings land.
pub const WORKDIR: &str = "/var/lib/keel";
/// Where the binary is installed.
pub const BINARY: &str = "/usr/local/bin/keel";
/// The settings file the instances read (systemd's `EnvironmentFile`).
pub const ENV_FILE: &str = "/etc/keel/keel.env";
/// The certificate and key nginx serves.
pub const CERT: &str = "/etc/keel/tls/fullchain.pem";
pub const KEY: &str = "/etc/keel/tls/privkey.pem";
/// Where certbot's webroot challenges are answered from.
pub const ACME_ROOT: &str = "/var/www/certbot";

/// Why a site cannot be rendered; one line naming the setting or option.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("--instances: must be at least 1")]
    NoInstances,
    #[error("KEEL_ALLOWED_HOSTS: is empty, so the proxy would have no site name to answer to; list the host names")]
    NoHosts,
    #[error("KEEL_ALLOWED_HOSTS: `*` would let the proxy answer any Host; list the host names")]
    AnyHost,
    #[error("KEEL_PUBLIC_URL: is http:// in prod, but the rendered site serves https; set https://{0}")]
    PlainHttpInProd(String),
    #[error("KEEL_BIND: port {0} leaves no room for {1} instance(s) on the ports after it")]
    Ports(u16, u16),
    #[error("KEEL_METRICS_BIND: port {0} leaves no room for {1} instance(s) on the ports after it")]
    MetricsPorts(u16, u16),
    #[error("the apps' settings: {0}")]
    Catalog(String),
}

/// Everything the renderers need.
#[derive(Debug, Clone)]
pub struct Plan {
    pub public_url: url::Url,
    /// `server_name` entries, the public host first.
    pub hosts: Vec<String>,
    /// The instances' ports on 127.0.0.1, from `KEEL_BIND`'s port up.
    pub ports: Vec<u16>,
    /// Each instance's `/metrics` listener, from `KEEL_METRICS_BIND`'s
    /// port up (none when it is empty).
    pub metrics: Vec<std::net::SocketAddr>,
    pub static_url: Option<String>,
    pub static_root: PathBuf,
    /// The local media folder (none with S3).
    pub media_root: Option<PathBuf>,
    pub media_accel: Option<String>,
    pub log_file: Option<PathBuf>,
    /// The largest request body any route accepts.
    pub max_body: u64,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub upload_timeout: Duration,
    pub keepalive: Duration,
    pub shutdown: Duration,
    /// Proxies in front of nginx (`KEEL_TRUSTED_PROXIES` beyond loopback).
    pub outer_proxies: Vec<String>,
    pub postgres: bool,
    pub redis: bool,
    pub targets: Vec<Target>,
    pub self_signed: bool,
    pub catalog: Catalog,
}

impl Plan {
    pub fn new(settings: &Settings, site: &Site, options: &Options) -> Result<Self, PlanError> {
        if options.instances == 0 {
            return Err(PlanError::NoInstances);
        }
        let security = &settings.security;
        if security.allowed_hosts.iter().all(|h| h.trim().is_empty()) {
            return Err(PlanError::NoHosts);
        }
        if security.allowed_hosts.iter().any(|h| h.trim() == "*") {
            return Err(PlanError::AnyHost);
        }
        let public = settings.public_url.clone();
        let host = public.host_str().unwrap_or_default().to_owned();
        if settings.profile == Profile::Prod && public.scheme() != "https" {
            return Err(PlanError::PlainHttpInProd(host));
        }
        let first = settings.bind.port();
        let ports = (0..options.instances)
            .map(|i| first.checked_add(i))
            .collect::<Option<Vec<u16>>>()
            .ok_or(PlanError::Ports(first, options.instances))?;
        let metrics = match settings.server.metrics_bind {
            Some(first) => (0..options.instances)
                .map(|i| {
                    first
                        .port()
                        .checked_add(i)
                        .map(|port| std::net::SocketAddr::new(first.ip(), port))
                })
                .collect::<Option<Vec<_>>>()
                .ok_or(PlanError::MetricsPorts(first.port(), options.instances))?,
            None => Vec::new(),
        };
        let mut hosts = vec![host.clone()];
        for entry in &security.allowed_hosts {
            let entry = entry.trim().trim_end_matches('.').to_ascii_lowercase();
            if !entry.is_empty() && !hosts.contains(&entry) {
                hosts.push(entry);
            }
        }
        let rebase = |path: &Path| rebase(path, &settings.cwd);
        let files = &settings.files;
        let max_body = site
            .apps
            .iter()
            .map(|app| app.largest_body(settings))
            .fold(settings.limits.max_body_bytes, u64::max);
        let mut targets = options.targets.clone();
        targets.sort();
        targets.dedup();
        let specs: Vec<_> = site.sections().iter().map(|s| s.specs).collect();
        Ok(Self {
            public_url: public,
            hosts,
            ports,
            metrics,
            static_url: files.static_url.starts_with('/').then(|| files.static_url.clone()),
            static_root: rebase(&files.static_root),
            media_root: match &files.media_storage {
                MediaStorage::File { root } => Some(rebase(root)),
                MediaStorage::S3 { .. } => None,
            },
            media_accel: files.media_accel_redirect.clone(),
            log_file: settings.log.file.as_deref().map(rebase),
            max_body,
            header_timeout: settings.server.header_read_timeout,
            body_timeout: settings.server.body_read_timeout,
            upload_timeout: settings.server.upload_timeout,
            keepalive: settings.server.keepalive_timeout,
            shutdown: settings.server.shutdown_timeout,
            outer_proxies: security
                .trusted_proxies
                .iter()
                .filter(|net| !net.addr().is_loopback())
                .map(ToString::to_string)
                .collect(),
            postgres: matches!(settings.database.kind, crate::settings::DatabaseKind::Postgres),
            redis: matches!(settings.cache.backend, crate::settings::CacheBackendKind::Redis(_)),
            targets,
            self_signed: options.self_signed,
            catalog: Catalog::new(&specs).map_err(PlanError::Catalog)?,
        })
    }

    /// The public host name.
    pub fn host(&self) -> &str {
        &self.hosts[0]
    }

    /// The folders an instance writes to besides its working folder.
    pub fn data_paths(&self) -> Vec<&Path> {
        let mut paths: Vec<&Path> = vec![&self.static_root];
        paths.extend(self.media_root.as_deref());
        paths.extend(self.log_file.as_deref().and_then(Path::parent));
        paths.retain(|p| !p.starts_with(WORKDIR));
        paths.sort();
        paths.dedup();
        paths
    }

    /// What the output folder holds and how to install it.
    pub fn readme(&self) -> String {
        let mut out = format!(
            "Rendered by `keel deploy render` for {} ({} instance(s) on 127.0.0.1:{}).\n\n\
             nginx/keel.conf   the site: TLS, unknown hosts refused, static files, the upstream\n\
             .env.example      every setting, documented; copy to {ENV_FILE} and fill in the secrets\n",
            self.public_url,
            self.ports.len(),
            self.ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", "),
        );
        for target in &self.targets {
            out.push_str(match target {
                Target::Systemd => {
                    "systemd/         keel@PORT instances, keel-prepare (migrate, collectstatic), clearsessions timer\n"
                }
                Target::Compose => {
                    "compose/         Dockerfile and docker-compose.yml: nginx, the instances, PostgreSQL, Redis\n"
                }
                Target::Kubernetes => {
                    "kubernetes/      Deployment, Service, Ingress, migrate Job, PDB, HPA, Secret template\n"
                }
            });
        }
        if !self.metrics.is_empty() {
            out.push_str("prometheus/      a scrape job for each instance's /metrics listener\n");
        }
        if self.self_signed {
            out.push_str("tls/             a self-signed certificate for local use only\n");
        }
        out
    }
}

/// `path` as the instance on the server sees it: a path under the folder
/// the settings were read in moves under [`WORKDIR`].
fn rebase(path: &Path, cwd: &Path) -> PathBuf {
    match path.strip_prefix(cwd) {
        Ok(rest) => Path::new(WORKDIR).join(rest),
        Err(_) => path.to_owned(),
    }
}
