//! Turning internal errors into problems: a database or cache that is down
//! is 503 with `Retry-After`; anything else is an opaque 500. The cause is
//! logged here, once, with the request id; the client sees neither.

use super::problem::Problem;
use crate::db::DbError;

impl From<DbError> for Problem {
    fn from(err: DbError) -> Self {
        if err.is_unavailable() {
            tracing::error!(error = %err, "database unavailable");
            Problem::unavailable("The service is temporarily unavailable; try again shortly.")
        } else {
            tracing::error!(error = %err, "database error");
            Problem::internal()
        }
    }
}

impl From<crate::accounts::AccountError> for Problem {
    fn from(err: crate::accounts::AccountError) -> Self {
        match err {
            crate::accounts::AccountError::DuplicateEmail => Problem::invalid(vec![super::FieldError::new(
                "email",
                "A user with this email address already exists.",
            )]),
            crate::accounts::AccountError::Db(err) => err.into(),
        }
    }
}
