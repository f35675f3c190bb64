//! Fields: their types, their per-type limits, and the validation of a
//! field definition. A `Field` exists only after `Field::parse` accepted its
//! input, so every later step can trust its limits.

use serde::{Deserialize, Serialize};

use super::text::{self, Lines};
use super::DefinitionError;
use limits::{file_limits, length_limit, options, range_limits};

mod limits;

/// The field types of SPEC section 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    ShortText,
    LongText,
    Email,
    Number,
    Integer,
    Boolean,
    Date,
    Choice,
    Choices,
    File,
}

/// Limits of a definition, as constants so the docs and tests share them.
pub const MAX_KEY_LEN: usize = 64;
pub const MAX_LABEL_LEN: usize = 200;
pub const MAX_HELP_LEN: usize = 1000;
pub const MAX_OPTIONS: usize = 100;
pub const MAX_OPTION_LEN: usize = 200;
pub const MAX_FILES: u32 = 10;
const SHORT_TEXT_MAX: u32 = 1000;
const LONG_TEXT_MAX: u32 = 20_000;
const EMAIL_MAX: u32 = 254;

/// A field as a client sends it: every member any type may have.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldInput {
    /// Unique in the form: a lowercase letter, then lowercase letters, digits or `_`.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    pub key: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub help: String,
    /// Text and email types: the longest answer, in characters.
    pub max_length: Option<u32>,
    /// Number, integer and date types: the smallest answer allowed.
    #[schema(schema_with = super::schema::optional_bound)]
    pub min: Option<serde_json::Value>,
    /// Number, integer and date types: the largest answer allowed.
    #[schema(schema_with = super::schema::optional_bound)]
    pub max: Option<serde_json::Value>,
    /// Choice types: the options, in order.
    pub options: Option<Vec<String>>,
    /// File type: how many files one answer may hold.
    pub max_files: Option<u32>,
    /// File type: the media types or `type/*` ranges accepted, judged by the
    /// sniffed content. Without it any file is taken but HTML, SVG or XML,
    /// which only an exact entry (`text/html`) admits.
    pub accept: Option<Vec<String>>,
}

/// A validated field, as stored and as shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Field {
    pub key: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub required: bool,
    pub help: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(nullable = false)]
    pub max_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(schema_with = super::schema::bound)]
    pub min: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(schema_with = super::schema::bound)]
    pub max: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(nullable = false)]
    pub options: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(nullable = false)]
    pub max_files: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(nullable = false)]
    pub accept: Option<Vec<String>>,
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && key.len() <= MAX_KEY_LEN
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A `YYYY-MM-DD` date.
pub fn parse_date(value: &serde_json::Value) -> Option<chrono::NaiveDate> {
    value
        .as_str()
        .filter(|s| s.len() == 10)
        .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

/// A media type or a `type/*` range, lowercase.
fn valid_media_range(range: &str) -> bool {
    let Some((kind, sub)) = range.split_once('/') else {
        return false;
    };
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    token(kind) && (sub == "*" || token(sub)) && range == range.to_ascii_lowercase()
}

struct Errors<'a> {
    prefix: &'a str,
    list: &'a mut Vec<DefinitionError>,
}

impl Errors<'_> {
    fn push(&mut self, member: &str, message: impl Into<String>) {
        self.list.push(DefinitionError {
            path: format!("{}.{member}", self.prefix),
            message: message.into(),
        });
    }
}

impl Field {
    /// Validates one field definition; errors are reported under `prefix`
    /// (e.g. `fields[2]`).
    pub fn parse(input: FieldInput, prefix: &str, errors: &mut Vec<DefinitionError>) -> Option<Self> {
        let before = errors.len();
        let mut e = Errors { prefix, list: errors };
        if !valid_key(&input.key) {
            e.push(
                "key",
                format!("Use 1 to {MAX_KEY_LEN} lowercase letters, digits or _, starting with a letter."),
            );
        }
        let label_len = input.label.trim().chars().count();
        if label_len == 0 || label_len > MAX_LABEL_LEN {
            e.push("label", format!("Give a label of 1 to {MAX_LABEL_LEN} characters."));
        }
        if input.help.chars().count() > MAX_HELP_LEN {
            e.push("help", format!("Help text is limited to {MAX_HELP_LEN} characters."));
        }
        for (member, value, lines) in [
            ("label", input.label.trim(), Lines::One),
            ("help", &input.help, Lines::Many),
        ] {
            if let Err(message) = text::check(value, lines) {
                e.push(member, message);
            }
        }
        let field = Self::with_type_limits(input, &mut e);
        (errors.len() == before).then_some(field)
    }

    fn with_type_limits(input: FieldInput, e: &mut Errors<'_>) -> Self {
        use FieldType::*;
        let kind = input.kind;
        let allowed: &[&str] = match kind {
            ShortText | LongText | Email => &["max_length"],
            Number | Integer | Date => &["min", "max"],
            Choice | Choices => &["options"],
            File => &["max_files", "accept"],
            Boolean => &[],
        };
        let present = [
            ("max_length", input.max_length.is_some()),
            ("min", input.min.is_some()),
            ("max", input.max.is_some()),
            ("options", input.options.is_some()),
            ("max_files", input.max_files.is_some()),
            ("accept", input.accept.is_some()),
        ];
        for (member, is_set) in present {
            if is_set && !allowed.contains(&member) {
                e.push(member, format!("A {} field has no {member}.", type_name(kind)));
            }
        }
        let mut field = Field {
            key: input.key,
            label: input.label.trim().to_owned(),
            kind,
            required: input.required,
            help: input.help,
            max_length: None,
            min: None,
            max: None,
            options: None,
            max_files: None,
            accept: None,
        };
        match kind {
            ShortText => field.max_length = Some(length_limit(input.max_length, 200, SHORT_TEXT_MAX, e)),
            LongText => field.max_length = Some(length_limit(input.max_length, 5000, LONG_TEXT_MAX, e)),
            Email => field.max_length = Some(length_limit(input.max_length, EMAIL_MAX, EMAIL_MAX, e)),
            Number | Integer | Date => (field.min, field.max) = range_limits(kind, input.min, input.max, e),
            Choice | Choices => field.options = Some(options(input.options, e)),
            File => (field.max_files, field.accept) = file_limits(input.max_files, input.accept, e),
            Boolean => {}
        }
        field
    }
}

impl From<&Field> for FieldInput {
    /// The field as a client would send it again: parsing the result gives
    /// back the same field (a PATCH without `fields` keeps them so).
    fn from(field: &Field) -> Self {
        Self {
            key: field.key.clone(),
            label: field.label.clone(),
            kind: field.kind,
            required: field.required,
            help: field.help.clone(),
            max_length: field.max_length,
            min: field.min.clone(),
            max: field.max.clone(),
            options: field.options.clone(),
            max_files: field.max_files,
            accept: field.accept.clone(),
        }
    }
}

fn type_name(kind: FieldType) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
