//! `keel backup` and `keel restore`: archives of the database and the
//! media (the engines are in `keel::backup`). A progress bar on a
//! terminal, one summary line otherwise; a refused archive is one line
//! naming the problem, exit 1.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use keel::backup::{self, BackupOptions, Done, Key, Progress, RestoreOptions};
use keel::core::Core;
use keel::Settings;

#[derive(Debug, clap::Args)]
pub(crate) struct BackupArgs {
    /// Where to write the archive (default: `keel-<UTC time>.tar.zst` here).
    #[arg(long, value_name = "FILE", conflicts_with = "out_dir")]
    out: Option<PathBuf>,
    /// Write a newly named archive into this folder (with --keep).
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// With --out-dir: keep only the newest N archives there.
    #[arg(long, value_name = "N", requires = "out_dir", value_parser = clap::value_parser!(u32).range(1..))]
    keep: Option<u32>,
    /// Restore the new archive into a scratch database and compare.
    #[arg(long)]
    verify: bool,
    /// Encrypt to these age recipients (age1…, comma-separated).
    #[arg(long, value_name = "RECIPIENT", conflicts_with = "passphrase_file")]
    encrypt_to: Option<String>,
    /// Encrypt with the passphrase on this file's first line.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RestoreArgs {
    /// The archive.
    file: PathBuf,
    /// Replace what the database and media store hold.
    #[arg(long)]
    force: bool,
    /// The age identity file that opens an encrypted archive.
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_file")]
    identity: Option<PathBuf>,
    /// The passphrase file that opens an encrypted archive.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

pub(crate) async fn backup(args: BackupArgs, settings: Settings) -> anyhow::Result<ExitCode> {
    let key = match (&args.encrypt_to, &args.passphrase_file) {
        (Some(recipients), _) => Key::recipients(recipients).map(Some),
        (None, Some(file)) => Key::passphrase_file(file).map(Some),
        (None, None) => Ok(None),
    };
    let bar = Bar::new();
    let key = match key {
        Ok(key) => key,
        Err(err) => return refused(&bar, "backup", &err),
    };
    let name = backup::archive_name(key.is_some());
    let out = match (&args.out, &args.out_dir) {
        (Some(out), _) => out.clone(),
        (None, Some(dir)) => {
            std::fs::create_dir_all(dir).with_context(|| format!("while creating {}", dir.display()))?;
            dir.join(&name)
        }
        (None, None) => PathBuf::from(&name),
    };
    let core = Core::build(settings).await.context("while opening the database")?;
    let site = keel_cli::site();
    let options = BackupOptions {
        out,
        key,
        verify: args.verify,
    };
    let done = match backup::backup(&core, &site.apps, &options, &|step| bar.show(step)).await {
        Ok(done) => done,
        Err(err) => return refused(&bar, "backup", &err),
    };
    bar.finish();
    println!("{}", summary("backed up", &done));
    if let (Some(dir), Some(keep)) = (&args.out_dir, args.keep) {
        for removed in backup::keep_newest(dir, keep as usize)? {
            println!("removed {}", removed.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn restore(args: RestoreArgs, settings: Settings) -> anyhow::Result<ExitCode> {
    let key = match (&args.identity, &args.passphrase_file) {
        (Some(file), _) => Key::identity_file(file).map(Some),
        (None, Some(file)) => Key::passphrase_file(file).map(Some),
        (None, None) => Ok(None),
    };
    let bar = Bar::new();
    let key = match key {
        Ok(key) => key,
        Err(err) => return refused(&bar, "restore", &err),
    };
    let core = Core::build(settings).await.context("while opening the database")?;
    let site = keel_cli::site();
    let options = RestoreOptions {
        file: args.file,
        key,
        force: args.force,
    };
    match backup::restore(&core, &site.apps, &options, &|step| bar.show(step)).await {
        Ok(done) => {
            bar.finish();
            println!("{}", summary("restored", &done));
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => refused(&bar, "restore", &err),
    }
}

fn refused(bar: &Bar, what: &str, err: &backup::BackupError) -> anyhow::Result<ExitCode> {
    bar.finish();
    eprintln!("keel: {what} refused: {err}");
    Ok(ExitCode::FAILURE)
}

fn summary(what: &str, done: &Done) -> String {
    format!(
        "{what} {}: {} rows in {} tables, {} media objects ({}), archive {}, {:.1} s{}",
        done.path.display(),
        done.rows,
        done.tables,
        done.objects,
        size(done.media_bytes),
        size(done.archive_bytes),
        done.seconds,
        if done.verified && what == "backed up" {
            ", verified"
        } else {
            ""
        }
    )
}

fn size(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes as f64 >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// A progress bar on a terminal; nothing otherwise.
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Self {
        if !std::io::stderr().is_terminal() {
            return Self(ProgressBar::hidden());
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}") {
            bar.set_style(style.progress_chars("=> "));
        }
        Self(bar)
    }

    fn show(&self, step: Progress) {
        match step {
            Progress::Phase(phase) => self.0.set_message(phase),
            Progress::Table { name, rows } => self.0.set_message(format!("table {name}: {rows} rows")),
            Progress::Object { done, total, bytes } => {
                self.0.set_length(total);
                self.0.set_position(done);
                self.0.set_message(format!("media {}", size(bytes)));
            }
        }
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
