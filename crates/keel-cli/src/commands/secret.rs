//! `keel secret generate`: print a new secret key fit for production.

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Print a new random secret key (64 letters and digits).
    Generate,
}

pub(crate) fn run(command: &Command) -> ExitCode {
    match command {
        Command::Generate => println!("{}", keel::settings::secret::generate_key()),
    }
    ExitCode::SUCCESS
}
