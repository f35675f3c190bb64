//! `keel settings show [--all]`: the effective settings and where each came
//! from. Secrets are always `********`.

use std::process::ExitCode;

use keel::Settings;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Print the settings that differ from the built-in defaults (`--all`:
    /// every setting, with what it means).
    Show {
        /// Print every setting, defaults included, with its description.
        #[arg(long)]
        all: bool,
    },
}

pub(crate) fn run(command: &Command, settings: &Settings) -> ExitCode {
    let Command::Show { all } = command;
    println!("# profile: {}", settings.profile);
    let width = settings.catalog().iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut shown_any = false;
    for shown in settings.shown() {
        if !all && shown.is_default {
            continue;
        }
        shown_any = true;
        if *all {
            if let Some(spec) = settings.catalog().find(shown.name) {
                println!("# {}", spec.doc);
            }
        }
        let value = shown
            .value
            .as_deref()
            .map_or("(unset)".to_owned(), |v| format!("{v:?}"));
        let source = shown.source.as_ref().map_or("unset".to_owned(), ToString::to_string);
        println!("{:<width$} = {value}  # {source}", shown.name);
    }
    if !all && !shown_any {
        println!("# every setting has its built-in default; --all lists them");
    }
    for name in &settings.unknown_variables {
        println!("# warning: {name} is set but is not a Keel setting");
    }
    ExitCode::SUCCESS
}
