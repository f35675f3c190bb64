//! Validating a submission's answers against a form's fields: one error per
//! field, unknown keys refused (never silently dropped), values normalized
//! (text trimmed, emails lowercased) before they are stored.
//!
//! More answers than the form has fields cannot be valid, so they are
//! refused at once with a single error on the answers as a whole, before
//! any per-key work: a body of 100,000 unknown keys costs one comparison,
//! not 100,000 errors.

use serde_json::{Map, Value};

use super::field::{parse_date, Field, FieldType};
use super::text::{self, Lines};

/// One invalid answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerError {
    /// The field key; empty when the error is about the answers as a whole.
    pub key: String,
    pub message: String,
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Validates `answers`; returns them normalized, or every error. Files are
/// counted in `file_counts` (key → number of uploaded files), so a
/// required file field is satisfied by a multipart part.
pub fn validate_answers(
    fields: &[Field],
    answers: Map<String, Value>,
    file_counts: &std::collections::HashMap<String, u32>,
) -> Result<Map<String, Value>, Vec<AnswerError>> {
    if answers.len() > fields.len() {
        return Err(vec![AnswerError {
            key: String::new(),
            message: format!(
                "The answers name {} fields; this form has {}.",
                answers.len(),
                fields.len()
            ),
        }]);
    }
    let mut errors = Vec::new();
    let mut clean = Map::new();
    for key in answers.keys() {
        if !fields.iter().any(|f| &f.key == key && f.kind != FieldType::File) {
            errors.push(AnswerError {
                key: key.clone(),
                message: "This form has no such field.".to_owned(),
            });
        }
    }
    for field in fields {
        let result = if field.kind == FieldType::File {
            check_files(field, file_counts.get(&field.key).copied().unwrap_or(0)).map(|()| None)
        } else {
            match answers.get(&field.key) {
                Some(value) if !is_empty(value) => check_value(field, value).map(Some),
                _ if field.required => Err("This field is required.".to_owned()),
                _ => Ok(None),
            }
        };
        match result {
            Ok(Some(value)) => {
                clean.insert(field.key.clone(), value);
            }
            Ok(None) => {}
            Err(message) => errors.push(AnswerError {
                key: field.key.clone(),
                message,
            }),
        }
    }
    if errors.is_empty() {
        Ok(clean)
    } else {
        Err(errors)
    }
}

fn check_files(field: &Field, count: u32) -> Result<(), String> {
    if count == 0 && field.required {
        return Err("This field is required: upload a file.".to_owned());
    }
    let max = field.max_files.unwrap_or(1);
    if count > max {
        return Err(format!("Upload at most {max} file(s)."));
    }
    Ok(())
}

fn check_value(field: &Field, value: &Value) -> Result<Value, String> {
    use FieldType::*;
    match field.kind {
        ShortText | LongText => text(field, value),
        Email => email(field, value),
        Number => number(field, value),
        Integer => integer(field, value),
        Boolean => match value {
            Value::Bool(false) if field.required => Err("This box must be checked.".to_owned()),
            Value::Bool(b) => Ok(Value::Bool(*b)),
            _ => Err("Answer true or false.".to_owned()),
        },
        Date => date(field, value),
        Choice => choice(field, value),
        Choices => choices(field, value),
        File => Err("Files are sent as multipart parts.".to_owned()),
    }
}

fn text(field: &Field, value: &Value) -> Result<Value, String> {
    let s = value.as_str().ok_or("Answer with text.")?.trim();
    let max = field.max_length.unwrap_or(200) as usize;
    if s.chars().count() > max {
        return Err(format!("Use at most {max} characters."));
    }
    let lines = if field.kind == FieldType::LongText {
        Lines::Many
    } else {
        Lines::One
    };
    text::check(s, lines)?;
    Ok(Value::String(s.to_owned()))
}

fn email(field: &Field, value: &Value) -> Result<Value, String> {
    let s = value.as_str().ok_or("Answer with an email address.")?;
    let email = keel::accounts::EmailAddress::parse(s).map_err(str::to_owned)?;
    if email.as_str().len() > field.max_length.unwrap_or(254) as usize {
        return Err("This email address is too long.".to_owned());
    }
    Ok(Value::String(email.as_str().to_owned()))
}

fn bounds(field: &Field, n: f64) -> Result<(), String> {
    if let Some(min) = field.min.as_ref().and_then(Value::as_f64) {
        if n < min {
            return Err(format!("Use a value of at least {min}."));
        }
    }
    if let Some(max) = field.max.as_ref().and_then(Value::as_f64) {
        if n > max {
            return Err(format!("Use a value of at most {max}."));
        }
    }
    Ok(())
}

fn number(field: &Field, value: &Value) -> Result<Value, String> {
    let n = value
        .as_f64()
        .filter(|n| n.is_finite())
        .ok_or("Answer with a number.")?;
    bounds(field, n)?;
    Ok(value.clone())
}

fn integer(field: &Field, value: &Value) -> Result<Value, String> {
    let n = value.as_i64().ok_or("Answer with a whole number.")?;
    bounds(field, n as f64)?;
    Ok(Value::from(n))
}

fn date(field: &Field, value: &Value) -> Result<Value, String> {
    let d = parse_date(value).ok_or("Answer with a date as YYYY-MM-DD.")?;
    if field.min.as_ref().and_then(parse_date).is_some_and(|min| d < min) {
        return Err("This date is too early.".to_owned());
    }
    if field.max.as_ref().and_then(parse_date).is_some_and(|max| d > max) {
        return Err("This date is too late.".to_owned());
    }
    Ok(value.clone())
}

fn choice(field: &Field, value: &Value) -> Result<Value, String> {
    let s = value.as_str().ok_or("Pick one of the options.")?;
    let options = field.options.as_deref().unwrap_or_default();
    if !options.iter().any(|o| o == s) {
        return Err("Pick one of the options.".to_owned());
    }
    Ok(value.clone())
}

fn choices(field: &Field, value: &Value) -> Result<Value, String> {
    let picked = value.as_array().ok_or("Pick options as a list.")?;
    let options = field.options.as_deref().unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    for item in picked {
        let s = item
            .as_str()
            .filter(|s| options.iter().any(|o| o == s))
            .ok_or("Pick only listed options.")?;
        if !seen.insert(s) {
            return Err("Pick each option once.".to_owned());
        }
    }
    Ok(value.clone())
}

#[cfg(test)]
mod tests;
