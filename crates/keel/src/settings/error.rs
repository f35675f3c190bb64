//! Why settings could not be loaded.

use std::path::PathBuf;

use super::value::Source;

/// Why settings could not be loaded. Each prints as one line that names the
/// variable (or file) and the problem.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{name} (from {origin}): {problem}")]
    Invalid {
        name: String,
        origin: String,
        problem: String,
    },
    #[error("{}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
}

impl SettingsError {
    pub(crate) fn invalid(name: &str, source: &Source, problem: impl Into<String>) -> Self {
        Self::Invalid {
            name: name.to_owned(),
            origin: source.to_string(),
            problem: problem.into(),
        }
    }
}
