//! `keel deploy render --out DIR [--instances N] [--target systemd,compose,kubernetes]
//! [--self-signed] [--force]`: the production files, from the settings.

use std::path::PathBuf;
use std::process::ExitCode;

use keel::deploy::{self, Options, Target};
use keel::Settings;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Write nginx, systemd, compose and Kubernetes files and `.env.example` for this site.
    Render(RenderArgs),
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum TargetArg {
    Systemd,
    Compose,
    Kubernetes,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RenderArgs {
    /// The folder to write into (created; must be empty unless --force).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// How many instances run behind nginx, on KEEL_BIND's port and the ports after it.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    instances: u16,
    /// What runs the instances; comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "systemd")]
    target: Vec<TargetArg>,
    /// Also write a self-signed certificate for the site's hosts (local use only).
    #[arg(long)]
    self_signed: bool,
    /// Write into a folder that is not empty.
    #[arg(long)]
    force: bool,
}

/// Bad settings or a folder in the way exit 2, like any invalid input.
pub(crate) fn run(command: &Command, settings: &Settings) -> ExitCode {
    let Command::Render(args) = command;
    let options = Options {
        instances: args.instances,
        targets: args
            .target
            .iter()
            .map(|t| match t {
                TargetArg::Systemd => Target::Systemd,
                TargetArg::Compose => Target::Compose,
                TargetArg::Kubernetes => Target::Kubernetes,
            })
            .collect(),
        self_signed: args.self_signed,
    };
    let site = keel_cli::site();
    let result = deploy::render(settings, &site, &options)
        .and_then(|files| deploy::write(&args.out, &files, args.force).map(|()| files.len()));
    match result {
        Ok(count) => {
            println!("Wrote {count} files to {}; see README.txt there.", args.out.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("keel: {err}");
            ExitCode::from(2)
        }
    }
}
