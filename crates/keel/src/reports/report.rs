//! What a report is: a failed request or a broken link, and its
//! fingerprint.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::http::incident::Incident;

/// A failed request, as reported.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    pub time: DateTime<Utc>,
    pub request_id: Option<String>,
    pub method: String,
    /// The route template, never the raw path.
    pub route: String,
    pub status: u16,
    pub user_id: Option<String>,
    pub incident: Incident,
}

/// A 404 reached from a page of this site.
#[derive(Debug, Clone)]
pub struct BrokenLink {
    pub time: DateTime<Utc>,
    pub request_id: Option<String>,
    /// The requested path, without its query.
    pub path: String,
    /// The referring page, without its query or fragment.
    pub referer: String,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Report {
    Error(ErrorReport),
    BrokenLink(BrokenLink),
}

impl Report {
    /// Stable across processes and versions: sha256 of the parts.
    pub fn fingerprint(&self) -> u64 {
        let mut hash = Sha256::new();
        match self {
            Self::Error(r) => {
                for part in [&r.incident.kind, &r.method, &r.route, &r.incident.location] {
                    hash.update(part.as_bytes());
                    hash.update([0]);
                }
            }
            Self::BrokenLink(r) => hash.update(format!("404\0{}", r.path).as_bytes()),
        }
        let digest = hash.finalize();
        u64::from_be_bytes(digest[..8].try_into().expect("a sha256 digest has 32 bytes"))
    }

    pub(super) fn label(&self) -> &'static str {
        match self {
            Self::Error(_) => "error",
            Self::BrokenLink(_) => "broken_link",
        }
    }
}
