//! System checks: each finding has a stable id, a level, a message and a
//! hint. Every check is declared in [`registry`], so ids stay unique and
//! `keel check --list` can print them all. `launch::run_checks` collects the
//! findings of the core and of every app; `serve` in `prod` refuses to start on any error.

pub mod deploy;
#[cfg(test)]
mod deploy_tests;
pub mod registry;
pub mod reports;

use serde::Serialize;

pub use registry::Check;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warning,
    Error,
}

impl Level {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "info" => Ok(Self::Info),
            "warning" => Ok(Self::Warning),
            "error" => Ok(Self::Error),
            other => Err(format!("unknown level {other:?}; expected info, warning or error")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// One finding of one check.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub level: Level,
    pub message: String,
    pub hint: &'static str,
}

impl Finding {
    pub fn new(check: &'static Check, message: impl Into<String>) -> Self {
        Self {
            id: check.id,
            level: check.level,
            message: message.into(),
            hint: check.hint,
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}\n    hint: {}",
            self.id,
            self.level.as_str(),
            self.message,
            self.hint
        )
    }
}
