//! `SmtpSink`: a real SMTP server on 127.0.0.1:0 that accepts every
//! message and records it, so email tests go through the same lettre SMTP
//! client as production (`KEEL_EMAIL_URL=smtp://127.0.0.1:<port>?tls=none`).
//!
//! It speaks just enough SMTP for a client: EHLO/HELO, MAIL FROM, RCPT TO,
//! DATA (with dot-unstuffing), RSET, NOOP and QUIT. No TLS. AUTH PLAIN
//! only when started with [`SmtpSink::start_with_login`], which then
//! checks the user and password (535 for wrong ones).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One message as the sink received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpMessage {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as sent after `DATA`: headers, blank line, body.
    pub data: String,
}

impl SmtpMessage {
    /// The first header `name` (any case), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut unfolded: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            match unfolded.last_mut() {
                Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
                _ => unfolded.push(line.to_owned()),
            }
        }
        unfolded.into_iter().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
        })
    }

    /// Everything after the headers.
    pub fn body(&self) -> &str {
        self.data
            .split_once("\r\n\r\n")
            .map(|(_, body)| body)
            .unwrap_or_default()
    }
}

/// A running sink; dropping it stops it.
pub struct SmtpSink {
    pub addr: SocketAddr,
    messages: Arc<Mutex<Vec<SmtpMessage>>>,
    task: JoinHandle<()>,
}

/// The user and password a sink with a login accepts.
type Login = Option<Arc<(String, String)>>;

impl SmtpSink {
    pub async fn start() -> Self {
        Self::listen(None).await
    }

    /// A sink that offers AUTH PLAIN and accepts only `user` and
    /// `password`.
    pub async fn start_with_login(user: &str, password: &str) -> Self {
        Self::listen(Some(Arc::new((user.to_owned(), password.to_owned())))).await
    }

    async fn listen(login: Login) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for SMTP");
        let addr = listener.local_addr().expect("the bound address");
        let messages = Arc::new(Mutex::new(Vec::new()));
        let recorded = messages.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, recorded.clone(), login.clone()));
            }
        });
        Self { addr, messages, task }
    }

    /// `smtp://127.0.0.1:<port>?tls=none`, for `KEEL_EMAIL_URL`.
    pub fn url(&self) -> String {
        format!("smtp://{}?tls=none", self.addr)
    }

    /// The messages received so far.
    pub fn messages(&self) -> Vec<SmtpMessage> {
        self.messages.lock().expect("the sink's lock").clone()
    }

    /// Waits until at least `count` messages arrived; panics after `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<SmtpMessage> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} email(s) within {timeout:?}, got {}",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client connection, until QUIT or the client goes away.
async fn session(stream: TcpStream, messages: Arc<Mutex<Vec<SmtpMessage>>>, login: Login) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 keel-testkit ESMTP sink\r\n").await?;
    let mut envelope = SmtpMessage {
        from: String::new(),
        to: Vec::new(),
        data: String::new(),
    };
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" if login.is_some() => b"250-keel-testkit\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 SMTPUTF8\r\n",
            "EHLO" => b"250-keel-testkit\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "AUTH" => match &login {
                Some(login) if plain_login(&command).is_some_and(|given| given == **login) => {
                    b"235 2.7.0 Authentication successful\r\n"
                }
                Some(_) => b"535 5.7.8 Authentication credentials invalid\r\n",
                None => b"502 Command not implemented\r\n",
            },
            "HELO" | "NOOP" => b"250 OK\r\n",
            "MAIL" => {
                envelope.from = angle_address(&command);
                b"250 OK\r\n"
            }
            "RCPT" => {
                envelope.to.push(angle_address(&command));
                b"250 OK\r\n"
            }
            "RSET" => {
                envelope.from.clear();
                envelope.to.clear();
                b"250 OK\r\n"
            }
            "DATA" => {
                write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                envelope.data = read_data(&mut lines).await?;
                let message = std::mem::replace(
                    &mut envelope,
                    SmtpMessage {
                        from: String::new(),
                        to: Vec::new(),
                        data: String::new(),
                    },
                );
                messages.lock().expect("the sink's lock").push(message);
                b"250 OK: queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 Command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// The message after DATA, up to the lone `.` line, dot-unstuffed.
async fn read_data(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> std::io::Result<String> {
    let mut data = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == ".\r\n" || line == ".\n" {
            return Ok(data);
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
    }
}

/// The user and password of `AUTH PLAIN <base64 of "\0user\0password">`.
fn plain_login(command: &str) -> Option<(String, String)> {
    use base64::Engine;
    let mut words = command.split_whitespace().skip(1);
    if !words.next()?.eq_ignore_ascii_case("PLAIN") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(words.next()?).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let mut parts = text.split('\0').skip(1);
    Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
}

/// `user@example.com` from `MAIL FROM:<user@example.com> SIZE=…`.
fn angle_address(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..].find('>').map_or(command.len(), |i| start + i);
    command[start..end].to_owned()
}
