//! `keel check [--deploy] [--fail-level error|warning] [--format text|json]`,
//! and `keel check --list`: every check the core and the apps declare.

use std::process::ExitCode;

use anyhow::Context;
use keel::checks::{Check, Level};
use keel::core::Core;
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
    /// List every check (id, level, whether only `--deploy` runs it, what
    /// it wants) and run none.
    #[arg(long, conflicts_with_all = ["deploy", "fail_level"])]
    list: bool,
    /// Add the production (deployment) checks.
    #[arg(long)]
    deploy: bool,
    /// Exit 1 when a finding is at or above this level.
    #[arg(long, value_enum, default_value = "error")]
    fail_level: FailLevel,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub(crate) async fn run(args: Args, settings: Settings) -> anyhow::Result<ExitCode> {
    if args.list {
        return list(args.format);
    }
    let core = Core::build(settings).await.context("while building the services")?;
    let findings = keel::launch::run_checks(&core, &keel_cli::site().apps, args.deploy).await;
    let threshold = match args.fail_level {
        FailLevel::Error => Level::Error,
        FailLevel::Warning => Level::Warning,
    };
    let failed = findings.iter().any(|f| f.level >= threshold);
    match args.format {
        Format::Json => {
            let doc = serde_json::json!({ "deploy": args.deploy, "findings": findings, "failed": failed });
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
                        "id": c.id, "level": c.level, "deploy": c.deploy, "title": c.title, "hint": c.hint,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows).context("while writing JSON")?);
        }
        Format::Text => {
            for c in &checks {
                let when = if c.deploy { "deploy" } else { "always" };
                println!("{:<22} {:<8} {when:<7} {}", c.id, c.level.as_str(), c.title);
            }
            println!("{} checks.", checks.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}
