//! A raw value and where it came from, before any typed parsing.

use std::fmt;
use std::path::PathBuf;

use super::profile::Profile;

/// Where a value came from, for `settings show` and error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default(Profile),
    TomlDefault(PathBuf),
    TomlProfile(PathBuf, Profile),
    DotEnv(PathBuf),
    Environment,
    /// Read from a file named by `NAME_FILE` in the inner source.
    File {
        path: PathBuf,
        via: Box<Source>,
    },
    /// Derived from another setting (`KEEL_PUBLIC_URL`).
    Derived(&'static str),
    /// Generated and kept on disk (the development secret key).
    Generated(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default(profile) => write!(f, "default ({profile})"),
            Source::TomlDefault(path) => write!(f, "{} [default]", path.display()),
            Source::TomlProfile(path, profile) => write!(f, "{} [{profile}]", path.display()),
            Source::DotEnv(path) => write!(f, "{}", path.display()),
            Source::Environment => f.write_str("environment"),
            Source::File { path, via } => write!(f, "file {} (named in {via})", path.display()),
            Source::Derived(from) => write!(f, "derived from {from}"),
            Source::Generated(path) => write!(f, "generated, kept in {}", path.display()),
        }
    }
}

/// A raw value and its source.
#[derive(Debug, Clone)]
pub struct Raw {
    pub value: String,
    pub source: Source,
}
