//! The `keel` binary: a clap enum and one module per command. Wiring only:
//! the work is in the `keel` core and the apps.

mod commands;

/// mimalloc rather than the system allocator: glibc keeps what a thread
/// frees in that thread's arena, so each Argon2 hash (19 MiB) run on a new
/// blocking thread stayed in the process for good (hundreds of MiB after a
/// login flood); mimalloc gives freed memory back to the system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// What `keel --help` opens with: what Keel is, not how the crate is built.
const ABOUT: &str = "Keel: a forms service (accounts, forms, public submissions, file uploads, CSV export, \
notifications, webhooks) on a production core, in one binary. Django's deployment checklist is \
its default: settings from the environment, `check --deploy`, `collectstatic`, migrations, \
PostgreSQL or SQLite, Redis or memory cache, local or S3 media.";

#[derive(Debug, Parser)]
#[command(name = "keel", version, about = ABOUT, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve(commands::serve::Args),
    /// Apply the embedded database migrations.
    Migrate(commands::migrate::Args),
    /// Run the system checks (`--deploy` adds the production checks).
    Check(commands::check::Args),
    /// Create a superuser (interactive, or --no-input with KEEL_SUPERUSER_PASSWORD).
    Createsuperuser(commands::users::CreateSuperuserArgs),
    /// Change a user's password (asked for twice) and end their sessions.
    Changepassword(commands::users::ChangePasswordArgs),
    /// Delete expired sessions.
    Clearsessions,
    /// Send a test email through the configured backend (not through the outbox).
    Sendtestemail(commands::sendtestemail::Args),
    /// Copy the static files into KEEL_STATIC_ROOT with hashed names, a manifest and .gz/.br siblings.
    Collectstatic(commands::collectstatic::Args),
    /// Archive the database and the media (one file, checksummed, optionally encrypted).
    Backup(commands::backup::BackupArgs),
    /// Restore an archive made by `keel backup` (checked whole before anything is written).
    Restore(commands::backup::RestoreArgs),
    /// Production files for this site: nginx, systemd, compose, Kubernetes.
    #[command(subcommand)]
    Deploy(commands::deploy::Command),
    /// Inspect settings.
    #[command(subcommand)]
    Settings(commands::settings::Command),
    /// Secret keys.
    #[command(subcommand)]
    Secret(commands::secret::Command),
}

/// Exit codes: 0 success, 1 a failure or a failed check, 2 bad settings or
/// bad command-line input (as clap does).
const EXIT_SETTINGS: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Secret(command) = &cli.command {
        return commands::secret::run(command);
    }
    let settings = match keel_cli::site().load_settings() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("keel: {err}");
            return ExitCode::from(EXIT_SETTINGS);
        }
    };
    if let Command::Settings(command) = &cli.command {
        return commands::settings::run(command, &settings);
    }
    if let Command::Deploy(command) = &cli.command {
        return commands::deploy::run(command, &settings);
    }
    let _log_guard = match keel::telemetry::init(&settings.log) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("keel: {err}");
            return ExitCode::from(EXIT_SETTINGS);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("keel: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => commands::serve::run(args, settings).await,
            Command::Migrate(args) => commands::migrate::run(args, settings).await,
            Command::Check(args) => commands::check::run(args, settings).await,
            Command::Createsuperuser(args) => commands::users::create_superuser(args, settings).await,
            Command::Changepassword(args) => commands::users::change_password(args, settings).await,
            Command::Clearsessions => commands::users::clear_sessions(settings).await,
            Command::Sendtestemail(args) => commands::sendtestemail::run(args, settings).await,
            Command::Collectstatic(args) => commands::collectstatic::run(args, &settings),
            Command::Backup(args) => commands::backup::backup(args, settings).await,
            Command::Restore(args) => commands::backup::restore(args, settings).await,
            Command::Settings(_) | Command::Secret(_) | Command::Deploy(_) => {
                unreachable!("handled before the runtime starts")
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "command failed");
            eprintln!("keel: {err:#}");
            ExitCode::FAILURE
        }
    }
}
