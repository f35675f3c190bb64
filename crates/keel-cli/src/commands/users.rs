//! `createsuperuser`, `changepassword` and `clearsessions`: managing
//! accounts from the command line, as in Django.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{bail, Context};
use keel::accounts::{users, AccountError, EmailAddress};
use keel::core::Core;
use keel::security::passwords;
use keel::Settings;

/// The variable `createsuperuser --no-input` reads the password from.
const PASSWORD_VARIABLE: &str = "KEEL_SUPERUSER_PASSWORD";

#[derive(Debug, clap::Args)]
pub(crate) struct CreateSuperuserArgs {
    /// The superuser's email address (asked for when omitted).
    #[arg(long)]
    email: Option<String>,
    /// Ask nothing: the email comes from --email and the password from KEEL_SUPERUSER_PASSWORD.
    #[arg(long)]
    no_input: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ChangePasswordArgs {
    /// The email address of the user whose password changes.
    email: String,
}

/// Reads one line: hidden on a terminal, plain from a pipe.
fn prompt(label: &str, hidden: bool) -> anyhow::Result<String> {
    if hidden && std::io::stdin().is_terminal() {
        return rpassword::prompt_password(label).context("while reading the password");
    }
    eprint!("{label}");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    let read = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("while reading standard input")?;
    if read == 0 {
        bail!("standard input ended before {}", label.trim_end_matches([':', ' ']));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Asks for a new password twice until it is valid (three tries).
fn ask_new_password(email: &str) -> anyhow::Result<String> {
    for _ in 0..3 {
        let password = prompt("Password: ", true)?;
        let again = prompt("Password (again): ", true)?;
        if password != again {
            eprintln!("Error: the two passwords didn't match.");
            continue;
        }
        let problems = passwords::validate_password(&password, email);
        if problems.is_empty() {
            return Ok(password);
        }
        for problem in problems {
            eprintln!("Error: {problem}");
        }
    }
    bail!("no valid password after three tries")
}

/// The services, with the database migrated as `serve` would (dev and
/// test migrate; prod must be migrated already).
async fn open(settings: Settings) -> anyhow::Result<Core> {
    let core = Core::build(settings).await.context("while opening the database")?;
    keel::launch::prepare_database(&core, &keel_cli::site().apps).await?;
    Ok(core)
}

async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || passwords::hash_password(&password))
        .await
        .context("while hashing the password")?
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

pub(crate) async fn create_superuser(args: CreateSuperuserArgs, settings: Settings) -> anyhow::Result<ExitCode> {
    let raw_email = match (&args.email, args.no_input) {
        (Some(email), _) => email.clone(),
        (None, true) => bail!("--no-input needs --email"),
        (None, false) => prompt("Email address: ", false)?,
    };
    let email = EmailAddress::parse(&raw_email).map_err(|m| anyhow::anyhow!("{m}"))?;
    let password = if args.no_input {
        let password =
            std::env::var(PASSWORD_VARIABLE).with_context(|| format!("--no-input needs {PASSWORD_VARIABLE}"))?;
        let problems = passwords::validate_password(&password, email.as_str());
        if !problems.is_empty() {
            bail!("{PASSWORD_VARIABLE}: {}", problems.join(" "));
        }
        password
    } else {
        ask_new_password(email.as_str())?
    };
    let core = open(settings).await?;
    let hash = hash(password).await?;
    match users::create(&core.db, &email, &hash, true).await {
        Ok(_) => {
            println!("Superuser {email} created.");
            Ok(ExitCode::SUCCESS)
        }
        Err(AccountError::DuplicateEmail) => bail!("a user with the email {email} already exists"),
        Err(AccountError::Db(err)) => Err(err).context("while creating the user"),
    }
}

pub(crate) async fn change_password(args: ChangePasswordArgs, settings: Settings) -> anyhow::Result<ExitCode> {
    let email = EmailAddress::parse(&args.email).map_err(|m| anyhow::anyhow!("{m}"))?;
    let core = open(settings).await?;
    let Some((user, _)) = users::find_by_email(&core.db, &email)
        .await
        .context("while finding the user")?
    else {
        bail!("no user with the email {email}");
    };
    eprintln!("Changing password for {email}");
    let password = ask_new_password(email.as_str())?;
    let hash = hash(password).await?;
    users::set_password(&core.db, user.id, &hash)
        .await
        .context("while saving the password")?;
    let ended = core
        .sessions
        .delete_for_user(user.id)
        .await
        .context("while ending sessions")?;
    println!("Password changed for {email}; {ended} session(s) ended.");
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn clear_sessions(settings: Settings) -> anyhow::Result<ExitCode> {
    let core = open(settings).await?;
    let cleared = core
        .sessions
        .clear_expired()
        .await
        .context("while deleting expired sessions")?;
    println!("Deleted {cleared} expired session(s).");
    Ok(ExitCode::SUCCESS)
}
