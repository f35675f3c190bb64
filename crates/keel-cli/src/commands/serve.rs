//! `keel serve`: run the HTTP server until SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use keel::checks::Level;
use keel::settings::Profile;
use keel::{Keel, Settings};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address to listen on (overrides KEEL_BIND), e.g. 0.0.0.0:8000.
    #[arg(long, value_name = "ADDR")]
    bind: Option<SocketAddr>,
    /// Address of the `/metrics` listener (overrides KEEL_METRICS_BIND),
    /// e.g. 127.0.0.1:9101 for a second instance on one machine.
    #[arg(long, value_name = "ADDR")]
    metrics_bind: Option<SocketAddr>,
}

pub(crate) async fn run(args: Args, mut settings: Settings) -> anyhow::Result<ExitCode> {
    let bind = args.bind.unwrap_or(settings.bind);
    if args.metrics_bind.is_some() {
        settings.server.metrics_bind = args.metrics_bind;
    }
    let profile = settings.profile;
    let site = keel_cli::site();
    let mut keel = match Keel::build(settings, &site).await {
        Ok(keel) => keel,
        Err(err @ keel::launch::LaunchError::PendingMigrations(_)) => {
            eprintln!("keel: {err}");
            return Ok(ExitCode::FAILURE);
        }
        Err(err) => return Err(err).context("while building the server"),
    };
    if profile == Profile::Prod {
        let errors: Vec<_> = keel::launch::run_checks(&keel.core, &site.apps, true)
            .await
            .into_iter()
            .filter(|f| f.level >= Level::Error)
            .collect();
        if !errors.is_empty() {
            eprintln!(
                "keel: refusing to serve in prod: `keel check --deploy` reports {} error(s):",
                errors.len()
            );
            for finding in &errors {
                eprintln!("{finding}");
            }
            return Ok(ExitCode::FAILURE);
        }
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("while binding {bind}"))?;
    let metrics = keel.bind_metrics().await.context("while binding KEEL_METRICS_BIND")?;
    tracing::info!(
        address = %listener.local_addr().context("while reading the bound address")?,
        profile = %profile,
        database = keel.core.db.backend().as_str(),
        cache = keel.core.cache.backend_name(),
        metrics = %metrics.map_or_else(|| "off".to_owned(), |addr| format!("http://{addr}/metrics")),
        "listening"
    );
    tokio::spawn(keel::telemetry::reopen_on_hangup());
    keel.serve(listener, keel::server::termination_signal())
        .await
        .context("while serving")?;
    Ok(ExitCode::SUCCESS)
}
