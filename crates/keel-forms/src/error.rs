//! The app's errors at the HTTP boundary: each becomes a `Problem`.

use keel::http::{FieldError, Problem};

use crate::domain::{AnswerError, DefinitionError};

/// Definition errors become one 422 with a member per error.
pub(crate) fn definition_problem(errors: Vec<DefinitionError>) -> Problem {
    Problem::invalid(errors.into_iter().map(|e| FieldError::new(e.path, e.message)).collect())
}

/// Answer errors become one 422 naming `answers.<key>`, or `answers` for
/// an error about them all.
pub(crate) fn answers_problem(errors: Vec<AnswerError>) -> Problem {
    let field = |key: String| {
        if key.is_empty() {
            "answers".to_owned()
        } else {
            format!("answers.{key}")
        }
    };
    Problem::invalid(
        errors
            .into_iter()
            .map(|e| FieldError::new(field(e.key), e.message))
            .collect(),
    )
}
