//! Email through lettre, from `KEEL_DEFAULT_FROM_EMAIL`, by the backend
//! `KEEL_EMAIL_URL` names:
//!
//! - `smtp://user:pass@host:587?tls=starttls` (the default for `smtp://`),
//!   `?tls=opportunistic`, `?tls=none` (local sinks only), or
//!   `smtps://…:465` for TLS from the first byte;
//! - `console://` prints each whole message to standard output, as Django's
//!   console backend does (development);
//! - `file://dir` writes one `.eml` file per message into `dir`.
//!
//! Each message's `Message-ID` is made from its outbox id, so a message
//! sent twice (at-least-once delivery) is recognisably the same one.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use uuid::Uuid;

use super::EmailMessage;
use crate::settings::{expose, EmailBackendKind, EmailSettings};

/// How long one SMTP conversation may take.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why an email was not sent. The texts hold no address, secret or body:
/// they are logged and stored as `last_error`.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("KEEL_EMAIL_URL cannot be used: {0}")]
    Settings(String),
    #[error("the sender (KEEL_DEFAULT_FROM_EMAIL or KEEL_SERVER_EMAIL) is not a valid address")]
    From,
    #[error("a recipient is not a valid address")]
    Recipient,
    #[error("the message has no recipients")]
    NoRecipients,
    #[error("the message cannot be built")]
    Build(#[source] lettre::error::Error),
    #[error("SMTP delivery failed: {}", smtp_summary(.0))]
    Smtp(#[source] lettre::transport::smtp::Error),
    #[error("cannot create the mail folder")]
    Folder(#[source] std::io::Error),
    #[error("cannot write in the mail folder")]
    FolderNotWritable(#[source] std::io::Error),
    #[error("cannot write the message file")]
    File(#[source] lettre::transport::file::Error),
    #[error("cannot write the message to the console")]
    Console(#[source] std::io::Error),
}

impl MailError {
    /// Whether trying again cannot help: the message itself is bad.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Recipient | Self::NoRecipients | Self::Build(_))
    }

    /// What went wrong in a few words, for a probe that sent nothing
    /// (`the server answered 535`, `cannot write in the mail folder: …`).
    pub fn reason(&self) -> String {
        match self {
            Self::Smtp(err) => smtp_summary(err),
            Self::Folder(io) | Self::FolderNotWritable(io) => format!("{self}: {io}"),
            other => other.to_string(),
        }
    }
}

fn smtp_summary(err: &lettre::transport::smtp::Error) -> String {
    if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_tls() {
        "TLS failed".to_owned()
    } else if let Some(code) = err.status() {
        format!("the server answered {code}")
    } else if let Some(io) = io_cause(err) {
        format!("cannot talk to the server ({})", io.kind())
    } else {
        "cannot talk to the server".to_owned()
    }
}

/// The I/O error under an SMTP error, if any: its kind (`connection
/// refused`) says what went wrong without naming the host.
fn io_cause(err: &lettre::transport::smtp::Error) -> Option<&std::io::Error> {
    let mut cause = std::error::Error::source(err);
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cause = current.source();
    }
    None
}

enum Transport {
    Console,
    File(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// The configured mail backend. Cheap to share behind an `Arc`.
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.transport {
            Transport::Console => "console",
            Transport::File(_) => "file",
            Transport::Smtp(_) => "smtp",
        };
        f.debug_struct("Mailer")
            .field("backend", &backend)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// The backend of `settings`; an unusable SMTP URL or sender is an error.
    pub fn from_settings(settings: &EmailSettings) -> Result<Self, MailError> {
        let from = settings.default_from.parse::<Mailbox>().map_err(|_| MailError::From)?;
        let transport = match &settings.backend {
            EmailBackendKind::Console => Transport::Console,
            EmailBackendKind::File { dir } => Transport::File(dir.clone()),
            EmailBackendKind::Smtp(url) => Transport::Smtp(smtp_transport(expose(url))?),
        };
        Ok(Self { from, transport })
    }

    /// Sends `message`; `id` (the outbox id) makes its `Message-ID`, a new
    /// one is made when `None`.
    pub async fn send(&self, message: &EmailMessage, id: Option<Uuid>) -> Result<(), MailError> {
        let email = self.build(message, id.unwrap_or_else(Uuid::now_v7))?;
        match &self.transport {
            Transport::Console => print_to_console(&email),
            Transport::File(dir) => {
                tokio::fs::create_dir_all(dir).await.map_err(MailError::Folder)?;
                let transport = AsyncFileTransport::<Tokio1Executor>::new(dir);
                transport.send(email).await.map(drop).map_err(MailError::File)
            }
            Transport::Smtp(transport) => transport.send(email).await.map(drop).map_err(MailError::Smtp),
        }
    }

    /// Tries the backend without sending anything (`check --live`): an SMTP
    /// server is connected to, greeted, logged in to when the URL has
    /// credentials, asked for a NOOP and left with QUIT; a file backend's
    /// folder is created and a probe file written in it and removed; the
    /// console always works.
    pub async fn check_connection(&self) -> Result<(), MailError> {
        match &self.transport {
            Transport::Console => Ok(()),
            Transport::File(dir) => {
                tokio::fs::create_dir_all(dir).await.map_err(MailError::Folder)?;
                let probe = dir.join(format!(".keel-probe-{}", Uuid::new_v4()));
                tokio::fs::write(&probe, b"")
                    .await
                    .map_err(MailError::FolderNotWritable)?;
                tokio::fs::remove_file(&probe)
                    .await
                    .map_err(MailError::FolderNotWritable)
            }
            Transport::Smtp(transport) => match transport.test_connection().await {
                Ok(true) => Ok(()),
                Ok(false) => Err(MailError::Settings("the SMTP server did not answer NOOP".to_owned())),
                Err(err) => Err(MailError::Smtp(err)),
            },
        }
    }

    fn build(&self, message: &EmailMessage, id: Uuid) -> Result<Message, MailError> {
        if message.to.is_empty() {
            return Err(MailError::NoRecipients);
        }
        let from = match &message.from {
            Some(from) => from.parse::<Mailbox>().map_err(|_| MailError::From)?,
            None => self.from.clone(),
        };
        let domain = from.email.domain().to_owned();
        let mut builder = Message::builder()
            .from(from)
            .subject(message.subject.clone())
            .message_id(Some(format!("<{id}@{domain}>")));
        for to in &message.to {
            builder = builder.to(to.parse::<Mailbox>().map_err(|_| MailError::Recipient)?);
        }
        builder
            .header(ContentType::TEXT_PLAIN)
            .body(message.text.clone())
            .map_err(MailError::Build)
    }
}

fn print_to_console(email: &Message) -> Result<(), MailError> {
    let mut out = std::io::stdout().lock();
    out.write_all(&email.formatted())
        .and_then(|()| out.write_all(format!("\n{}\n", "-".repeat(79)).as_bytes()))
        .and_then(|()| out.flush())
        .map_err(MailError::Console)?;
    tracing::info!("email printed to the console (KEEL_EMAIL_URL=console://)");
    Ok(())
}

/// An SMTP transport from `smtp[s]://[user:pass@]host[:port][?tls=…]`.
fn smtp_transport(raw: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let bad = |why: &str| MailError::Settings(why.to_owned());
    let url = url::Url::parse(raw).map_err(|_| bad("not a URL"))?;
    let host = match url.host() {
        Some(url::Host::Domain(domain)) => domain.to_owned(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err(bad("the URL has no host")),
    };
    let tls_mode = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
    let params = || TlsParameters::new(host.clone()).map_err(|_| bad("cannot set up TLS for this host"));
    let (tls, default_port) = match (url.scheme(), tls_mode.as_deref()) {
        ("smtps", None | Some("implicit")) => (Tls::Wrapper(params()?), 465),
        ("smtp", None | Some("starttls" | "required")) => (Tls::Required(params()?), 587),
        ("smtp", Some("opportunistic")) => (Tls::Opportunistic(params()?), 587),
        ("smtp", Some("none")) => (Tls::None, 25),
        (_, Some(_)) => {
            return Err(bad(
                "tls must be starttls, opportunistic or none (smtps:// is always TLS)",
            ))
        }
        _ => return Err(bad("the scheme must be smtp or smtps")),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
        .port(url.port().unwrap_or(default_port))
        .tls(tls)
        .timeout(Some(SMTP_TIMEOUT));
    if !url.username().is_empty() {
        let user = percent_decode(url.username()).ok_or_else(|| bad("the user name is not valid UTF-8"))?;
        let password =
            percent_decode(url.password().unwrap_or_default()).ok_or_else(|| bad("the password is not valid UTF-8"))?;
        builder = builder.credentials(Credentials::new(user, password));
    }
    Ok(builder.build())
}

/// Decodes `%XX` escapes (URL user names and passwords arrive encoded).
pub(crate) fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| raw.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_are_understood_or_refused_with_a_reason() {
        let cases = [
            ("smtp://user:p%40ss@mail.example.com:587?tls=starttls", true, "starttls"),
            ("smtp://mail.example.com", true, "starttls by default"),
            ("smtp://127.0.0.1:2525?tls=none", true, "a local sink"),
            ("smtp://mail.example.com?tls=opportunistic", true, "opportunistic"),
            ("smtps://user:pw@mail.example.com", true, "implicit TLS"),
            ("smtp://[::1]:25?tls=none", true, "an IPv6 literal"),
            ("smtp://mail.example.com?tls=sometimes", false, "an unknown tls mode"),
            ("smtps://mail.example.com?tls=none", false, "smtps without TLS"),
            ("http://mail.example.com", false, "not smtp"),
        ];
        for (url, ok, why) in cases {
            assert_eq!(smtp_transport(url).is_ok(), ok, "{url}: {why}");
        }
    }

    #[test]
    fn percent_escapes_are_decoded() {
        assert_eq!(percent_decode("p%40ss%2Fw0rd").as_deref(), Some("p@ss/w0rd"));
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"), "a stray % stays");
        assert_eq!(percent_decode("%ff"), None, "not UTF-8");
    }
}
