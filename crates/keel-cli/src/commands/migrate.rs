//! `keel migrate [--check]`: apply the embedded migrations, or only report
//! whether any is unapplied.

use std::process::ExitCode;

use anyhow::Context;
use keel::core::Core;
use keel::db::migrate;
use keel::launch::all_migrations;
use keel::Settings;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Apply nothing; exit 1 when any migration is unapplied.
    #[arg(long)]
    check: bool,
}

pub(crate) async fn run(args: Args, settings: Settings) -> anyhow::Result<ExitCode> {
    let core = Core::build(settings).await.context("while opening the database")?;
    let all = all_migrations(&keel_cli::site().apps)?;
    if args.check {
        let pending = migrate::pending(&core.db, &all)
            .await
            .context("while reading the applied migrations")?;
        if pending.is_empty() {
            println!("No unapplied migrations.");
            return Ok(ExitCode::SUCCESS);
        }
        println!("{} unapplied migration(s):", pending.len());
        for m in pending {
            println!("  {} {}", m.version, m.name);
        }
        return Ok(ExitCode::FAILURE);
    }
    let applied = migrate::run(&core.db, &all)
        .await
        .context("while applying migrations")?;
    if applied.is_empty() {
        println!("No migrations to apply.");
    } else {
        for name in &applied {
            println!("Applied {name}");
        }
    }
    core.db.close().await;
    Ok(ExitCode::SUCCESS)
}
