//! `keel collectstatic [--clear] [--dry-run] [--no-input]`: the static files
//! into `KEEL_STATIC_ROOT` with hashed names, a manifest and `.gz`/`.br`
//! siblings. A progress bar on a terminal, one summary line on stdout
//! either way; warnings (conflicts between sources) go to stderr.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use keel::staticfiles::{self, CollectOptions, Event};
use keel::Settings;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Delete everything in the static root first (asks on a terminal).
    #[arg(long)]
    clear: bool,
    /// Report what would be copied; write and delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Ask nothing (for scripts and deploys).
    #[arg(long)]
    no_input: bool,
}

pub(crate) fn run(args: Args, settings: &Settings) -> anyhow::Result<ExitCode> {
    let files = &settings.files;
    let interactive = std::io::stdin().is_terminal() && !args.no_input;
    if args.clear && !args.dry_run && interactive && !confirm_clear(&files.static_root)? {
        eprintln!("Collecting static files cancelled.");
        return Ok(ExitCode::FAILURE);
    }
    let bar = progress_bar();
    let mut on_event = |event: Event<'_>| match event {
        Event::Start { total } => bar.set_length(total as u64),
        Event::Copied(path) | Event::Unchanged(path) => {
            bar.set_message(path.to_owned());
            bar.inc(1);
        }
    };
    let options = CollectOptions {
        clear: args.clear,
        dry_run: args.dry_run,
    };
    let result = staticfiles::collect(files, options, &mut on_event);
    bar.finish_and_clear();
    // One line, not the generic error path's log line plus message.
    let report = match result {
        Ok(report) => report,
        Err(err) => {
            eprintln!("keel: collectstatic: {err}");
            return Ok(ExitCode::FAILURE);
        }
    };
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    println!("{}", report.summary());
    Ok(ExitCode::SUCCESS)
}

/// A bar on stderr when it is a terminal; hidden otherwise.
fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}") {
        bar.set_style(style);
    }
    bar
}

fn confirm_clear(root: &std::path::Path) -> anyhow::Result<bool> {
    eprint!(
        "This deletes everything in {} and collects again.\nType 'yes' to continue: ",
        root.display()
    );
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    let read = std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("while reading the answer")?;
    if read == 0 {
        bail!("standard input ended before an answer");
    }
    Ok(answer.trim() == "yes")
}
