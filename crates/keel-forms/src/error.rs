//! `FormsError`: everything that can go wrong in the forms app, named for
//! what went wrong, and its one conversion to the `Problem` a client sees.
//!
//! The use cases and repositories return it and know nothing of HTTP; the
//! handlers' `?` turns it into a `Problem` here, in one place, so a status,
//! a problem type or a message is chosen once. Bugs and outages are logged
//! here (or by the core's conversion of their cause) and reach the client
//! as an opaque 500 or 503: no secret, key or SQL in an answer.

use keel::db::DbError;
use keel::http::{FieldError, Problem};
use keel::storage::StorageError;

use crate::domain::{AnswerError, DefinitionError};

/// Why a forms operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum FormsError {
    /// No such form, response or file; or one of another owner (never 403).
    #[error("not found")]
    NotFound,
    /// A form definition broke rules, one error per offending member.
    #[error("the form definition is invalid")]
    InvalidDefinition(Vec<DefinitionError>),
    /// Answers broke the form's rules, one error per field.
    #[error("the answers are invalid")]
    InvalidAnswers(Vec<AnswerError>),
    /// A submission to a form that is not accepting responses.
    #[error("the form is not accepting responses")]
    FormClosed,
    /// The form changed (or went) between checking a submission and
    /// storing it.
    #[error("the form changed while a submission was stored")]
    FormChanged,
    /// A submission token past `KEEL_SUBMISSION_TOKEN_AGE`.
    #[error("the submission token has expired")]
    TokenExpired,
    /// A submission token that is forged, damaged or for another form.
    #[error("the submission token is not valid for this form")]
    TokenInvalid,
    /// More files for a file field than its `max_files`.
    #[error("more than {max} file(s) for field {field}")]
    TooManyFiles { field: String, max: u32 },
    /// A file whose sniffed type the field's `accept` refuses.
    #[error("field {field} does not accept files of type {kind}")]
    FileRefused { field: String, kind: String },
    /// A file over `KEEL_MAX_UPLOAD_BYTES`.
    #[error("a file for field {field} is over {limit} bytes")]
    FileTooLarge { field: String, limit: u64 },
    /// Every slug tried for a new form was taken.
    #[error("no free slug after {0} tries")]
    SlugsExhausted(usize),
    /// Something the app stored itself does not read back (a slug, an
    /// object key, a form that will not encode): a bug.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The task that commits a response failed (a panic); logged where it
    /// happened.
    #[error("the response's transaction task failed")]
    TaskFailed,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// An answer's problem names `answers.<key>`, or `answers` for an error
/// about them all.
fn answer_field(key: &str) -> String {
    if key.is_empty() {
        "answers".to_owned()
    } else {
        format!("answers.{key}")
    }
}

fn one_invalid(field: &str, message: String) -> Problem {
    Problem::invalid(vec![FieldError::new(answer_field(field), message)])
}

impl From<FormsError> for Problem {
    fn from(err: FormsError) -> Self {
        match err {
            FormsError::NotFound => Problem::not_found(),
            FormsError::InvalidDefinition(errors) => {
                Problem::invalid(errors.into_iter().map(|e| FieldError::new(e.path, e.message)).collect())
            }
            FormsError::InvalidAnswers(errors) => Problem::invalid(
                errors
                    .into_iter()
                    .map(|e| FieldError::new(answer_field(&e.key), e.message))
                    .collect(),
            ),
            FormsError::FormClosed => Problem::conflict("form-closed", "This form is not accepting responses."),
            FormsError::FormChanged => Problem::conflict(
                "form-changed",
                "The form changed while this was submitted; fetch it again and resubmit.",
            ),
            FormsError::TokenExpired => Problem::forbidden(
                "submission-token-expired",
                "The submission token has expired; fetch the form again.",
            ),
            FormsError::TokenInvalid => Problem::forbidden(
                "submission-token-invalid",
                "The submission token is not valid for this form.",
            ),
            FormsError::TooManyFiles { field, max } => one_invalid(&field, format!("Upload at most {max} file(s).")),
            FormsError::FileRefused { field, kind } => {
                one_invalid(&field, format!("Files of type {kind} are not accepted here."))
            }
            FormsError::FileTooLarge { field, limit } => {
                Problem::payload_too_large(format!("A file may be at most {limit} bytes.")).with_errors(vec![
                    FieldError::new(answer_field(&field), format!("This file is larger than {limit} bytes.")),
                ])
            }
            err @ (FormsError::SlugsExhausted(_) | FormsError::Corrupt(_)) => {
                tracing::error!(error = %err, "forms error");
                Problem::internal_error(&err)
            }
            FormsError::TaskFailed => Problem::internal(),
            FormsError::Db(err) => err.into(),
            FormsError::Storage(err) => err.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status_and_type() {
        let cases = [
            (FormsError::NotFound, 404, "not-found"),
            (FormsError::FormClosed, 409, "form-closed"),
            (FormsError::FormChanged, 409, "form-changed"),
            (FormsError::TokenExpired, 403, "submission-token-expired"),
            (FormsError::TokenInvalid, 403, "submission-token-invalid"),
            (FormsError::SlugsExhausted(3), 500, "internal-error"),
            (FormsError::Corrupt("slug".to_owned()), 500, "internal-error"),
            (FormsError::TaskFailed, 500, "internal-error"),
        ];
        for (err, status, kind) in cases {
            let what = err.to_string();
            let problem = serde_json::to_value(Problem::from(err)).expect("a problem encodes");
            assert_eq!(problem["status"], status, "{what}");
            assert_eq!(problem["type"], format!("urn:keel:problem:{kind}"), "{what}");
        }
    }

    #[test]
    fn answer_errors_name_their_answer() {
        let errors = vec![
            AnswerError {
                key: "email".to_owned(),
                message: "Bad.".to_owned(),
            },
            AnswerError {
                key: String::new(),
                message: "Too many.".to_owned(),
            },
        ];
        let problem = serde_json::to_value(Problem::from(FormsError::InvalidAnswers(errors))).unwrap();
        assert_eq!(problem["status"], 422);
        assert_eq!(problem["errors"][0]["field"], "answers.email");
        assert_eq!(problem["errors"][1]["field"], "answers");
        let too_large = FormsError::FileTooLarge {
            field: "cv".to_owned(),
            limit: 10,
        };
        let problem = serde_json::to_value(Problem::from(too_large)).unwrap();
        assert_eq!(
            (problem["status"].as_u64(), problem["errors"][0]["field"].as_str()),
            (Some(413), Some("answers.cv"))
        );
    }
}
