//! The archive: a tar stream, zstd-compressed, optionally inside an age
//! encryption; every entry's sha256 taken as it is written or read.

use std::collections::BTreeMap;
use std::io::{self, BufReader, BufWriter, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::crypt::{Key, Lock};

/// zstd's level: fast, and already far smaller than the data.
const LEVEL: i32 = 3;

/// An entry's size and digest, as the manifest records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntrySum {
    pub size: u64,
    pub sha256: String,
}

/// A writer that only hashes and counts what it is given.
#[derive(Default)]
pub struct HashingWriter {
    hash: Sha256,
    size: u64,
}

impl std::io::Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hash.update(buf);
        self.size += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl HashingWriter {
    pub fn sum(self) -> EntrySum {
        EntrySum {
            size: self.size,
            sha256: hex::encode(self.hash.finalize()),
        }
    }
}

/// Passes reads through, hashing and counting them.
struct Hashing<R> {
    inner: R,
    sum: HashingWriter,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        std::io::Write::write_all(&mut self.sum, &buf[..n])?;
        Ok(n)
    }
}

impl<R> Hashing<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            sum: HashingWriter::default(),
        }
    }

    fn sum(self) -> EntrySum {
        self.sum.sum()
    }
}

/// Writes an archive.
pub struct Writer {
    tar: tar::Builder<zstd::Encoder<'static, Lock<BufWriter<std::fs::File>>>>,
    pub sums: BTreeMap<String, EntrySum>,
}

impl Writer {
    pub fn create(file: std::fs::File, lock: Option<&Key>) -> io::Result<Self> {
        let sealed = Lock::new(BufWriter::new(file), lock)?;
        let zstd = zstd::Encoder::new(sealed, LEVEL)?;
        let mut tar = tar::Builder::new(zstd);
        tar.mode(tar::HeaderMode::Deterministic);
        Ok(Self {
            tar,
            sums: BTreeMap::new(),
        })
    }

    /// Appends `size` bytes from `reader` as `path`; returns their sum.
    pub fn append(&mut self, path: &str, size: u64, reader: impl Read) -> io::Result<EntrySum> {
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o600);
        header.set_entry_type(tar::EntryType::Regular);
        let mut hashing = Hashing::new(reader.take(size));
        self.tar.append_data(&mut header, path, &mut hashing)?;
        let sum = hashing.sum();
        if sum.size != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{path}: {} bytes where {size} were announced", sum.size),
            ));
        }
        self.sums.insert(path.to_owned(), sum.clone());
        Ok(sum)
    }

    /// Appends a spooled file (rewound first).
    pub fn append_file(&mut self, path: &str, file: &mut std::fs::File) -> io::Result<EntrySum> {
        use std::io::Seek;
        let size = file.seek(io::SeekFrom::End(0))?;
        file.rewind()?;
        self.append(path, size, BufReader::new(file))
    }

    /// Ends the tar stream, the compression and the encryption, and syncs
    /// the file to disk.
    pub fn finish(self) -> io::Result<()> {
        let zstd = self.tar.into_inner()?;
        let sealed = zstd.finish()?;
        let buffered = sealed.finish()?;
        let file = buffered.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()
    }
}

/// One pass over an archive's entries: `each` gets every entry's path and
/// a reader of its bytes (which it may leave unread); the sums of every
/// entry are returned, taken over all of its bytes.
pub fn read_entries(
    path: &Path,
    key: Option<&Key>,
    mut each: impl FnMut(&str, &mut dyn Read) -> Result<(), super::BackupError>,
) -> Result<BTreeMap<String, EntrySum>, super::BackupError> {
    use super::BackupError;
    let file = std::fs::File::open(path).map_err(|e| BackupError::Io(path.to_owned(), e.to_string()))?;
    let opened = super::crypt::open(BufReader::new(file), key)?;
    let zstd = zstd::Decoder::new(opened).map_err(BackupError::truncated)?;
    let mut tar = tar::Archive::new(zstd);
    let mut sums = BTreeMap::new();
    for entry in tar.entries().map_err(BackupError::truncated)? {
        let entry = entry.map_err(BackupError::truncated)?;
        let name = entry
            .path()
            .map_err(BackupError::truncated)?
            .to_string_lossy()
            .into_owned();
        let mut hashing = Hashing::new(entry);
        each(&name, &mut hashing)?;
        io::copy(&mut hashing, &mut io::sink()).map_err(BackupError::truncated)?;
        if sums.insert(name.clone(), hashing.sum()).is_some() {
            return Err(BackupError::Corrupt(format!(
                "the entry {name} is in the archive twice"
            )));
        }
    }
    Ok(sums)
}

/// Writes `bytes` as `path`.
pub fn append_bytes(writer: &mut Writer, path: &str, bytes: &[u8]) -> io::Result<EntrySum> {
    writer.append(path, bytes.len() as u64, bytes)
}
