//! `keel check [--deploy] [--fail-level error|warning] [--format text|json]`.

use std::process::ExitCode;

use anyhow::Context;
use keel::checks::{self, Level};
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
    let core = Core::build(settings).await.context("while building the services")?;
    let findings = checks::run(&core, &super::apps(), args.deploy).await;
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
