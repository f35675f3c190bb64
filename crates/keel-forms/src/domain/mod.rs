//! The forms domain: validated types and pure rules, no I/O. A form
//! definition is validated as a whole (unique keys, sane limits, choices
//! present for choice types) with one error per offending member; answers
//! are validated against the fields with one error per field. Every text
//! member keeps one rule for control characters ([`text`]).

pub mod answers;
pub mod field;
pub mod form;
pub mod media;
pub mod response;
pub mod schema;
pub mod slug;
pub mod text;

pub use answers::{validate_answers, AnswerError};
pub use field::{Field, FieldInput, FieldType};
pub use form::{FormDefinition, FormInput, FormPatch};
pub use response::ResponseFile;
pub use slug::FormSlug;

/// One invalid member of a definition, by its JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionError {
    pub path: String,
    pub message: String,
}
