//! Encryption of archives with age: to a recipient (`age1…`, an X25519
//! public key) or with a passphrase (scrypt). Backups hold personal data;
//! the key to open one is never stored with it.

use std::io::{self, BufRead, Read, Write};
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

use super::BackupError;

/// What seals or opens an archive.
#[derive(Clone)]
pub enum Key {
    /// Seals to these recipients (`--encrypt-to`).
    Recipient(Vec<age::x25519::Recipient>),
    /// Opens with these identities (`--identity FILE`).
    Identity(Vec<age::x25519::Identity>),
    /// Seals and opens with a passphrase (`--passphrase-file`).
    Passphrase(SecretString),
}

impl Key {
    /// `age1…` recipients, comma-separated.
    pub fn recipients(text: &str) -> Result<Self, BackupError> {
        let recipients = text
            .split(',')
            .map(|r| r.trim().parse::<age::x25519::Recipient>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| BackupError::Key(format!("--encrypt-to: not an age recipient ({e})")))?;
        Ok(Self::Recipient(recipients))
    }

    /// The identities in an age identity file (`AGE-SECRET-KEY-1…` lines;
    /// `#` comments and blank lines skipped).
    pub fn identity_file(path: &Path) -> Result<Self, BackupError> {
        let text = std::fs::read_to_string(path).map_err(|e| BackupError::Io(path.to_owned(), e.to_string()))?;
        let identities = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| l.parse::<age::x25519::Identity>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| BackupError::Key(format!("{}: not an age identity file ({e})", path.display())))?;
        if identities.is_empty() {
            return Err(BackupError::Key(format!("{}: holds no identity", path.display())));
        }
        Ok(Self::Identity(identities))
    }

    /// The first line of a file, as a passphrase.
    pub fn passphrase_file(path: &Path) -> Result<Self, BackupError> {
        let file = std::fs::File::open(path).map_err(|e| BackupError::Io(path.to_owned(), e.to_string()))?;
        let mut line = String::new();
        io::BufReader::new(file)
            .read_line(&mut line)
            .map_err(|e| BackupError::Io(path.to_owned(), e.to_string()))?;
        let passphrase = line.trim_end_matches(['\r', '\n']);
        if passphrase.is_empty() {
            return Err(BackupError::Key(format!("{}: the passphrase is empty", path.display())));
        }
        Ok(Self::Passphrase(SecretString::from(passphrase.to_owned())))
    }
}

/// A writer that encrypts when a key is given.
pub enum Lock<W: Write> {
    Plain(W),
    Sealed(age::stream::StreamWriter<W>),
}

impl<W: Write> Lock<W> {
    pub fn new(inner: W, key: Option<&Key>) -> io::Result<Self> {
        let encryptor = match key {
            None => return Ok(Self::Plain(inner)),
            Some(Key::Recipient(recipients)) => {
                age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                    .map_err(io::Error::other)?
            }
            Some(Key::Passphrase(passphrase)) => age::Encryptor::with_user_passphrase(
                age::secrecy::SecretString::from(passphrase.expose_secret().to_owned()),
            ),
            Some(Key::Identity(_)) => {
                return Err(io::Error::other(
                    "an identity opens archives; seal with --encrypt-to or --passphrase-file",
                ))
            }
        };
        Ok(Self::Sealed(encryptor.wrap_output(inner)?))
    }

    /// Ends the encryption; the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Self::Plain(inner) => Ok(inner),
            Self::Sealed(stream) => stream.finish(),
        }
    }
}

impl<W: Write> Write for Lock<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(inner) => inner.write(buf),
            Self::Sealed(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(inner) => inner.flush(),
            Self::Sealed(stream) => stream.flush(),
        }
    }
}

/// The age header's first line: an encrypted archive starts with it.
const AGE_MAGIC: &[u8] = b"age-encryption.org/";

/// `reader` decrypted when it is an age file (with `key`), as it is
/// otherwise.
pub fn open<R: BufRead + Send + 'static>(
    mut reader: R,
    key: Option<&Key>,
) -> Result<Box<dyn Read + Send>, BackupError> {
    let start = reader.fill_buf().map_err(BackupError::truncated)?;
    if !start.starts_with(AGE_MAGIC) {
        return Ok(Box::new(reader));
    }
    let decryptor = age::Decryptor::new_buffered(reader)
        .map_err(|e| BackupError::Corrupt(format!("the encryption header is damaged ({e})")))?;
    let opened = match key {
        None => {
            return Err(BackupError::Key(
                "the archive is encrypted: give --identity FILE or --passphrase-file FILE".to_owned(),
            ))
        }
        Some(Key::Identity(identities)) => decryptor.decrypt(identities.iter().map(|i| i as &dyn age::Identity)),
        Some(Key::Passphrase(passphrase)) => {
            let identity =
                age::scrypt::Identity::new(age::secrecy::SecretString::from(passphrase.expose_secret().to_owned()));
            decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity))
        }
        Some(Key::Recipient(_)) => {
            return Err(BackupError::Key(
                "a recipient seals archives; open with --identity FILE".to_owned(),
            ))
        }
    };
    let stream = opened.map_err(|e| BackupError::Key(format!("the archive cannot be opened with this key ({e})")))?;
    Ok(Box::new(stream))
}
