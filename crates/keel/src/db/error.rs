//! What can go wrong with the database, and which of it means "away or
//! busy, try again" (503) rather than a bug (500).

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot create the folder of the SQLite file {path}: {source}")]
    CreateFolder {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("migration {version} ({name}) was changed after it was applied: the database holds a different checksum")]
    ChangedMigration { version: i64, name: String },
    #[error("the database has migration {version} applied, which this build of Keel does not know (a newer version ran here?)")]
    UnknownMigration { version: i64 },
}

impl DbError {
    /// Whether a write named a row that does not exist (or no longer
    /// does): a foreign key violation.
    pub fn is_foreign_key_violation(&self) -> bool {
        matches!(self, DbError::Query(sqlx::Error::Database(err))
            if err.kind() == sqlx::error::ErrorKind::ForeignKeyViolation)
    }

    /// Whether the error means the database is unreachable or overloaded
    /// (503) rather than a bug (500).
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Connect(_) => true,
            DbError::Query(sqlx::Error::Database(err)) => is_unavailable_code(err.code().as_deref()),
            DbError::Query(err) => matches!(
                err,
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::WorkerCrashed
            ),
            _ => false,
        }
    }
}

/// Database error codes that mean "away or busy, try again" rather than a
/// bug: PostgreSQL's connection exceptions (class 08), shutdowns and
/// restarts (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot
/// connect now), too many connections (53300) and out of resources (53xxx);
/// SQLite's busy and locked (5, 6, and their extended codes: the file is
/// locked by another process past the busy timeout).
fn is_unavailable_code(code: Option<&str>) -> bool {
    let Some(code) = code else {
        return false;
    };
    // PostgreSQL's SQLSTATEs have five characters; SQLite's (extended)
    // result codes, as sqlx gives them, are decimal numbers below 10,000.
    if code.len() < 5 {
        return code.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6));
    }
    code.starts_with("08") || code.starts_with("53") || matches!(code, "57P01" | "57P02" | "57P03")
}

/// A database that is down is 503 with `Retry-After`; anything else is an
/// opaque 500. The cause is logged here, once, with the request id; the
/// client sees neither.
impl From<DbError> for crate::http::Problem {
    #[track_caller]
    fn from(err: DbError) -> Self {
        if err.is_unavailable() {
            tracing::error!(error = %err, "database unavailable");
            Self::unavailable("The service is temporarily unavailable; try again shortly.")
        } else {
            tracing::error!(error = %err, "database error");
            Self::internal_error(&err)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn unavailable_codes_are_told_from_bugs() {
        let cases: &[(&str, bool, &str)] = &[
            (
                "57P01",
                true,
                "PostgreSQL admin shutdown (terminating connection due to administrator command)",
            ),
            ("57P02", true, "PostgreSQL crash shutdown"),
            ("57P03", true, "PostgreSQL starting up: cannot connect now"),
            ("08006", true, "PostgreSQL connection failure"),
            ("08003", true, "PostgreSQL connection does not exist"),
            ("53300", true, "PostgreSQL too many connections"),
            ("53200", true, "PostgreSQL out of memory"),
            (
                "23505",
                false,
                "PostgreSQL unique violation is a bug or a conflict, not an outage",
            ),
            (
                "22021",
                false,
                "PostgreSQL bad UTF-8 (a NUL) is bad input, not an outage",
            ),
            ("42P01", false, "PostgreSQL undefined table is a bug"),
            ("5", true, "SQLite busy"),
            ("6", true, "SQLite locked"),
            ("517", true, "SQLite busy snapshot (extended code of 5)"),
            ("261", true, "SQLite busy recovery (extended code of 5)"),
            ("262", true, "SQLite locked shared cache (extended code of 6)"),
            ("2067", false, "SQLite unique constraint is not an outage"),
            ("787", false, "SQLite foreign key constraint is not an outage"),
            ("1", false, "SQLite generic error"),
        ];
        for (code, expected, why) in cases {
            assert_eq!(super::is_unavailable_code(Some(code)), *expected, "{code}: {why}");
        }
        assert!(!super::is_unavailable_code(None), "no code: not an outage");
    }
}
