//! `keel sendtestemail ADDR…`: sends one test email through the configured
//! backend, directly (not through the outbox), as Django's command does, so
//! an operator sees at once whether mail works.

use std::process::ExitCode;

use anyhow::bail;
use keel::outbox::mail::Mailer;
use keel::outbox::EmailMessage;
use keel::Settings;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Addresses to send the test email to.
    #[arg(value_name = "ADDR")]
    recipients: Vec<String>,
    /// Also send it to KEEL_MANAGERS.
    #[arg(long)]
    managers: bool,
    /// Also send it to KEEL_ADMINS.
    #[arg(long)]
    admins: bool,
}

pub(crate) async fn run(args: Args, settings: Settings) -> anyhow::Result<ExitCode> {
    let mut to = args.recipients;
    if args.managers {
        to.extend(settings.email.managers.iter().cloned());
    }
    if args.admins {
        to.extend(settings.email.admins.iter().cloned());
    }
    if to.is_empty() {
        bail!("no recipients: give at least one address, or --admins / --managers with those settings set");
    }
    let mailer = Mailer::from_settings(&settings.email)?;
    let host = settings.public_url.host_str().unwrap_or("keel").to_owned();
    let message = EmailMessage {
        from: None,
        to,
        subject: format!("Test email from {host}"),
        text: "If you're reading this, it was successful.".to_owned(),
    };
    if let Err(err) = mailer.send(&message, None).await {
        bail!("cannot send the test email: {}", error_chain(&err));
    }
    println!("Sent a test email to {} recipient(s).", message.to.len());
    Ok(ExitCode::SUCCESS)
}

/// The error and its causes on one line: an operator needs the SMTP
/// server's own words here.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        // Some errors already print their cause; say it once.
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}
