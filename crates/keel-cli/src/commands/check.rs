//! `keel check [--deploy [--live]] [--fail-level error|warning] [--format
//! text|json]`, and `keel check --list`: every check the core and the apps
//! declare.

use std::process::ExitCode;

use anyhow::Context;
use keel::checks::{Check, Level};
use keel::core::Core;
use keel::launch::LiveOptions;
use keel::Settings;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FailLevel {
    Error,
    Warning,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// List every check (id, level, whether only `--deploy` or `--live`
    /// runs it, what it wants) and run none.
    #[arg(long, conflicts_with_all = ["deploy", "fail_level"])]
    list: bool,
    /// Add the production (deployment) checks.
    #[arg(long)]
    deploy: bool,
    /// With --deploy: also probe the real database, cache, mail server,
    /// media storage, free disk and, through KEEL_PUBLIC_URL, the proxy
    /// (each probe gives up after 5 s; nothing is sent to anyone).
    #[arg(long, requires = "deploy")]
    live: bool,
    /// With --live: how many instances share the database, so their pools
    /// are weighed against PostgreSQL's max_connections.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "live",
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    instances: u32,
    /// With --live: a PEM file of certificate authorities to trust for
    /// KEEL_PUBLIC_URL besides the usual roots (a private or test CA).
    #[arg(long, value_name = "FILE", requires = "live", value_parser = read_pem)]
    ca_cert: Option<Pem>,
    /// With --live: the port on which the proxy answers plain http, which
    /// should redirect to https.
    #[arg(long, value_name = "PORT", default_value_t = 80, requires = "live")]
    http_port: u16,
    /// Exit 1 when a finding is at or above this level.
    #[arg(long, value_enum, default_value = "error")]
    fail_level: FailLevel,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// The contents of a `--ca-cert` file.
#[derive(Debug, Clone)]
struct Pem(Vec<u8>);

fn read_pem(path: &str) -> Result<Pem, String> {
    let bytes = std::fs::read(path).map_err(|err| format!("cannot read {path}: {err}"))?;
    if !bytes.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        return Err(format!("{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
    }
    Ok(Pem(bytes))
}

pub(crate) async fn run(args: Args, settings: Settings) -> anyhow::Result<ExitCode> {
    if args.list {
        return list(args.format);
    }
    let core = Core::build(settings).await.context("while building the services")?;
    let apps = &keel_cli::site().apps;
    let findings = if args.live {
        let options = LiveOptions {
            instances: args.instances,
            ca_pem: args.ca_cert.map(|pem| pem.0),
            http_port: args.http_port,
        };
        keel::launch::run_live_checks(&core, apps, &options).await
    } else {
        keel::launch::run_checks(&core, apps, args.deploy).await
    };
    let threshold = match args.fail_level {
        FailLevel::Error => Level::Error,
        FailLevel::Warning => Level::Warning,
    };
    let failed = findings.iter().any(|f| f.level >= threshold);
    match args.format {
        Format::Json => {
            let doc = serde_json::json!({
                "deploy": args.deploy, "live": args.live, "findings": findings, "failed": failed,
            });
            println!("{}", serde_json::to_string_pretty(&doc).context("while writing JSON")?);
        }
        Format::Text => {
            for finding in &findings {
                println!("{finding}");
            }
            match findings.len() {
                0 => println!("System check identified no issues."),
                n => println!("System check identified {n} issue(s)."),
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Every declared check: the core's table, then each app's.
fn list(format: Format) -> anyhow::Result<ExitCode> {
    let site = keel_cli::site();
    let checks: Vec<&Check> = keel::checks::registry::ALL
        .iter()
        .copied()
        .chain(site.apps.iter().flat_map(|app| app.check_list().iter().copied()))
        .collect();
    match format {
        Format::Json => {
            let rows: Vec<_> = checks
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "id": c.id, "level": c.level, "deploy": c.deploy, "live": c.is_live(),
                        "title": c.title, "hint": c.hint,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows).context("while writing JSON")?);
        }
        Format::Text => {
            for c in &checks {
                let when = match (c.is_live(), c.deploy) {
                    (true, _) => "live",
                    (false, true) => "deploy",
                    (false, false) => "always",
                };
                println!("{:<22} {:<8} {when:<7} {}", c.id, c.level.as_str(), c.title);
            }
            println!("{} checks.", checks.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}
