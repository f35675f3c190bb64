//! The profile, from `KEEL_ENV`: it chooses the built-in defaults and the
//! `keel.toml` section.

use std::fmt;

/// The profile, from `KEEL_ENV`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    Dev,
    Prod,
    Test,
}

impl Profile {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "dev" => Ok(Self::Dev),
            "prod" => Ok(Self::Prod),
            "test" => Ok(Self::Test),
            other => Err(format!("unknown profile {other:?}; expected dev, prod or test")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dev => "dev",
            Self::Prod => "prod",
            Self::Test => "test",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
