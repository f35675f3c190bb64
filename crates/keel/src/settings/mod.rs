//! Settings: the only reader of the environment, `.env` and `keel.toml`.
//!
//! [`Settings::load`] builds one typed, validated, immutable value at start;
//! everything else receives it (or its own section) and never parses a
//! string from the environment again. The variables are listed, documented
//! and given their defaults in [`catalog`]; [`sources`] layers the five
//! sources; each section's file (`security`, `database`, …) holds its
//! struct and its reader; `load` builds [`Settings`] and keeps where each
//! value came from, for `keel settings show`. Apps declare sections of
//! their own ([`Section`]), read by the same loader.

pub mod catalog;
pub mod parse;
pub mod reader;
pub mod secret;
pub mod section;
pub mod sources;

mod cache;
mod database;
mod defaults;
mod email;
mod error;
mod files;
mod limits;
mod load;
mod log;
mod profile;
mod security;
mod server;
mod value;

pub use cache::{CacheBackendKind, CacheSettings};
pub use catalog::Catalog;
pub use database::{DatabaseKind, DatabaseSettings};
pub use email::{EmailBackendKind, EmailSettings};
pub use error::SettingsError;
pub use files::{FileSettings, MediaStorage, S3Settings};
pub use limits::{LimitSettings, OutboxSettings};
pub use load::{Settings, ShownSetting};
pub use log::{LogFormat, LogSettings};
pub use parse::Rate;
pub use profile::Profile;
pub use reader::Reader;
pub use secret::{expose, SecretSettings};
pub use section::{Section, SectionDecl};
pub use security::SecuritySettings;
pub use server::ServerSettings;
pub use sources::LoadInput;
pub use value::{Raw, Source};

#[cfg(test)]
mod tests;
