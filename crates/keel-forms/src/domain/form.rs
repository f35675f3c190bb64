//! A form definition: title, description, ordered fields and its settings,
//! validated as a whole.

use serde::{Deserialize, Serialize};

use super::field::{Field, FieldInput};
use super::text::{self, Lines};
use super::DefinitionError;

pub const MAX_TITLE_LEN: usize = 200;
pub const MAX_DESCRIPTION_LEN: usize = 5000;
pub const MAX_FIELDS: usize = 100;
pub const MAX_EMBED_ORIGINS: usize = 20;

/// What a client sends to create a form.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormInput {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The fields, in the order the form shows them.
    #[serde(default)]
    pub fields: Vec<FieldInput>,
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub accepting_responses: bool,
    /// Email the owner on each response.
    #[serde(default)]
    pub notify_owner: bool,
    /// Where each response is POSTed, signed (https in prod; no private addresses).
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Origins allowed to embed the public form (CORS, without credentials).
    #[serde(default)]
    pub embed_origins: Vec<String>,
}

fn yes() -> bool {
    true
}

/// What a client sends to change a form: only the members it names change.
/// `webhook_url: null` removes the webhook.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    /// Replaces all the fields when given.
    pub fields: Option<Vec<FieldInput>>,
    pub accepting_responses: Option<bool>,
    pub notify_owner: Option<bool>,
    /// `null` removes the webhook.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub webhook_url: Option<Option<String>>,
    pub embed_origins: Option<Vec<String>>,
}

/// Tells a member set to `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A validated definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormDefinition {
    pub title: String,
    pub description: String,
    pub fields: Vec<Field>,
    pub accepting_responses: bool,
    pub notify_owner: bool,
    pub webhook_url: Option<String>,
    pub embed_origins: Vec<String>,
}

impl From<&FormDefinition> for FormInput {
    /// The definition as a client would send it again: parsing the result
    /// gives back the same definition.
    fn from(def: &FormDefinition) -> Self {
        Self {
            title: def.title.clone(),
            description: def.description.clone(),
            fields: def.fields.iter().map(FieldInput::from).collect(),
            accepting_responses: def.accepting_responses,
            notify_owner: def.notify_owner,
            webhook_url: def.webhook_url.clone(),
            embed_origins: def.embed_origins.clone(),
        }
    }
}

impl FormPatch {
    /// The stored definition `def` as input, with this patch's members on
    /// top, to be validated again as a whole.
    pub fn apply(self, def: &FormDefinition) -> FormInput {
        FormInput {
            title: self.title.unwrap_or_else(|| def.title.clone()),
            description: self.description.unwrap_or_else(|| def.description.clone()),
            fields: self
                .fields
                .unwrap_or_else(|| def.fields.iter().map(FieldInput::from).collect()),
            accepting_responses: self.accepting_responses.unwrap_or(def.accepting_responses),
            notify_owner: self.notify_owner.unwrap_or(def.notify_owner),
            webhook_url: self.webhook_url.unwrap_or_else(|| def.webhook_url.clone()),
            embed_origins: self.embed_origins.unwrap_or_else(|| def.embed_origins.clone()),
        }
    }
}

fn err(path: &str, message: impl Into<String>) -> DefinitionError {
    DefinitionError {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// `scheme://host[:port]`, lowercase, without a trailing slash.
fn normalize_origin(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw.trim()).ok()?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.path() == "/"
        && url.query().is_none();
    let origin = url.origin().ascii_serialization();
    (ok && raw.trim().trim_end_matches('/').eq_ignore_ascii_case(&origin)).then_some(origin)
}

impl FormDefinition {
    /// Validates `input` as a whole. `check_webhook` applies the site's
    /// webhook URL policy (https in prod, no private addresses).
    pub fn parse(
        input: FormInput,
        check_webhook: impl Fn(&str) -> Result<String, String>,
    ) -> Result<Self, Vec<DefinitionError>> {
        let mut errors = Vec::new();
        let title = input.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > MAX_TITLE_LEN {
            errors.push(err(
                "title",
                format!("Give a title of 1 to {MAX_TITLE_LEN} characters."),
            ));
        }
        if input.description.chars().count() > MAX_DESCRIPTION_LEN {
            errors.push(err(
                "description",
                format!("The description is limited to {MAX_DESCRIPTION_LEN} characters."),
            ));
        }
        let texts = [
            ("title", &title, Lines::One),
            ("description", &input.description, Lines::Many),
        ];
        for (path, value, lines) in texts {
            if let Err(message) = text::check(value, lines) {
                errors.push(err(path, message));
            }
        }
        // Over a limit, the list is refused whole, before any per-item work
        // (and errors): a body of thousands of items gets one error.
        let too_many_fields = input.fields.len() > MAX_FIELDS;
        if too_many_fields {
            errors.push(err("fields", format!("A form has at most {MAX_FIELDS} fields.")));
        }
        let field_inputs = if too_many_fields { Vec::new() } else { input.fields };
        let mut fields = Vec::with_capacity(field_inputs.len());
        let mut keys = std::collections::HashSet::new();
        for (i, field) in field_inputs.into_iter().enumerate() {
            let prefix = format!("fields[{i}]");
            if !keys.insert(field.key.clone()) {
                errors.push(err(&format!("{prefix}.key"), "Another field already has this key."));
            }
            if let Some(field) = Field::parse(field, &prefix, &mut errors) {
                fields.push(field);
            }
        }
        let webhook_url = match input.webhook_url.as_deref().map(str::trim) {
            None | Some("") => None,
            // The URL parser drops tabs and newlines silently: refuse them first.
            Some(url) if !text::is_clean(url, Lines::One) => {
                errors.push(err("webhook_url", text::CONTROL_MESSAGE));
                None
            }
            Some(url) => match check_webhook(url) {
                Ok(url) => Some(url),
                Err(message) => {
                    errors.push(err("webhook_url", message));
                    None
                }
            },
        };
        if input.embed_origins.len() > MAX_EMBED_ORIGINS {
            errors.push(err(
                "embed_origins",
                format!("List at most {MAX_EMBED_ORIGINS} origins."),
            ));
        }
        let mut embed_origins = Vec::new();
        let origin_inputs = if input.embed_origins.len() > MAX_EMBED_ORIGINS {
            &[][..]
        } else {
            &input.embed_origins[..]
        };
        for (i, origin) in origin_inputs.iter().enumerate() {
            match normalize_origin(origin).filter(|_| text::is_clean(origin, Lines::One)) {
                Some(o) => embed_origins.push(o),
                None => errors.push(err(
                    &format!("embed_origins[{i}]"),
                    "Use an origin such as https://www.example.com.",
                )),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            title,
            description: input.description,
            fields,
            accepting_responses: input.accepting_responses,
            notify_owner: input.notify_owner,
            webhook_url,
            embed_origins,
        })
    }
}

#[cfg(test)]
mod tests;
