//! The OpenAPI document as a contract that live responses are checked
//! against: for a response to `METHOD /path/template`, the document must
//! list its status, its media type, every header it documents, and a
//! schema its body validates against (`$ref`s resolved into
//! `components`, validated with the `jsonschema` crate, formats included).
//!
//! Response schemas are checked strictly: every object schema that lists
//! `properties` is closed (`additionalProperties: false`) for the check, so
//! a member the server sends but the document does not list fails the test.
//! The published document stays open, as SPEC section 3 allows new members.

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde_json::{json, Map, Value};

/// What a checked response held.
pub(crate) struct Checked {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    /// The body as JSON, when its media type is JSON.
    pub(crate) json: Value,
    pub(crate) text: String,
}

pub(crate) struct Contract {
    pub(crate) doc: Value,
    /// (method, path template, status) seen live.
    seen: Mutex<BTreeSet<(String, String, u16)>>,
}

/// The media type without parameters, lowercase.
pub(crate) fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

impl Contract {
    pub(crate) fn new(doc: Value) -> Self {
        Self {
            doc,
            seen: Mutex::new(BTreeSet::new()),
        }
    }

    /// The value a local `$ref` points to.
    pub(crate) fn pointer(&self, reference: &str) -> &Value {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{reference} is a local reference"));
        self.doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{reference} resolves in the document"))
    }

    /// `value` with every local `$ref` replaced by what it points to
    /// (siblings of a `$ref` win over the target's members, as in 3.1).
    pub(crate) fn resolve(&self, value: &Value) -> Value {
        self.resolve_at(value, 0)
    }

    fn resolve_at(&self, value: &Value, depth: usize) -> Value {
        assert!(depth < 32, "the document's references do not loop");
        match value {
            Value::Object(map) => {
                let mut out = match map.get("$ref").and_then(Value::as_str) {
                    Some(reference) => match self.resolve_at(self.pointer(reference), depth + 1) {
                        Value::Object(target) => target,
                        other => return other,
                    },
                    None => Map::new(),
                };
                for (key, item) in map {
                    if key != "$ref" {
                        out.insert(key.clone(), self.resolve_at(item, depth + 1));
                    }
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.resolve_at(v, depth + 1)).collect()),
            other => other.clone(),
        }
    }

    /// The operation object of `method path`.
    pub(crate) fn operation(&self, method: &str, template: &str) -> Value {
        let operation = self.doc["paths"][template][method.to_ascii_lowercase()].clone();
        assert!(operation.is_object(), "the document has {method} {template}");
        operation
    }

    /// The resolved response object of `method path` for `status`.
    pub(crate) fn response(&self, method: &str, template: &str, status: u16) -> Value {
        let operation = self.operation(method, template);
        let response = &operation["responses"][status.to_string()];
        assert!(
            response.is_object(),
            "{method} {template} documents status {status} (it documents {:?})",
            operation["responses"].as_object().map(|r| r.keys().collect::<Vec<_>>())
        );
        self.resolve(response)
    }

    /// Checks a live response against the document and returns it read.
    pub(crate) async fn check(&self, method: &str, template: &str, response: reqwest::Response) -> Checked {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("the body is read");
        let what = format!("{method} {template} → {status}");
        let documented = self.response(method, template, status);
        let content = documented["content"].as_object().cloned().unwrap_or_default();
        let media = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(essence);
        let mut json = Value::Null;
        if content.is_empty() {
            assert!(text.is_empty(), "{what}: documented without a body, but sent {text:?}");
        } else {
            let media = media.unwrap_or_else(|| panic!("{what}: a body is documented, but no Content-Type was sent"));
            let entry = content.get(&media).or_else(|| content.get("*/*")).unwrap_or_else(|| {
                panic!(
                    "{what}: sent {media}, documented {:?}",
                    content.keys().collect::<Vec<_>>()
                )
            });
            if media == "application/json" || media.ends_with("+json") {
                json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: the body is JSON: {e}"));
                self.validate_response(&what, &entry["schema"], &json);
            } else {
                self.validate_response(&what, &entry["schema"], &Value::String(text.clone()));
            }
            if media == "application/problem+json" {
                assert_eq!(json["status"], status, "{what}: the problem's status is the response's");
                let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok());
                assert_eq!(
                    json["request_id"].as_str(),
                    request_id,
                    "{what}: request_id is x-request-id"
                );
            }
        }
        if let Some(documented_headers) = documented["headers"].as_object() {
            for name in documented_headers.keys() {
                assert!(
                    headers.contains_key(name.as_str()),
                    "{what}: the documented header {name} is sent"
                );
            }
        }
        self.seen
            .lock()
            .expect("not poisoned")
            .insert((method.to_ascii_uppercase(), template.to_owned(), status));
        Checked {
            status,
            headers,
            json,
            text,
        }
    }

    /// Validates a JSON request body we send against the documented
    /// request schema, so the document's request side is checked too.
    pub(crate) fn check_request(&self, method: &str, template: &str, body: &Value) {
        self.check_request_as(method, template, "application/json", body);
    }

    /// Like `check_request`, for a body of `media` (a multipart body as
    /// the object of its parts).
    pub(crate) fn check_request_as(&self, method: &str, template: &str, media: &str, body: &Value) {
        let operation = self.operation(method, template);
        let schema = &operation["requestBody"]["content"][media]["schema"];
        assert!(
            schema.is_object(),
            "{method} {template} documents a {media} request body"
        );
        let schema = self.resolve(schema);
        let errors = errors_of(&schema, body);
        assert!(
            errors.is_empty(),
            "{method} {template}: the request {body} fits its schema: {errors:#?}"
        );
    }

    fn validate_response(&self, what: &str, schema: &Value, body: &Value) {
        assert!(schema.is_object(), "{what}: a schema is documented");
        let mut schema = self.resolve(schema);
        close_objects(&mut schema);
        let errors = errors_of(&schema, body);
        assert!(
            errors.is_empty(),
            "{what}: the body fits its documented schema: {errors:#?}\nbody: {body}"
        );
    }

    /// What was seen live: (method, path template, status).
    pub(crate) fn seen(&self) -> BTreeSet<(String, String, u16)> {
        self.seen.lock().expect("not poisoned").clone()
    }

    /// Every (method, path template) the document has.
    pub(crate) fn operations(&self) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("a path item").keys() {
                if METHODS.contains(&method.as_str()) {
                    out.insert((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
        out
    }
}

/// The operation keys of a path item.
pub(crate) const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Every error of `instance` against `schema` (draft 2020-12, formats checked).
pub(crate) fn errors_of(schema: &Value, instance: &Value) -> Vec<String> {
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("the schema compiles: {e}\n{schema:#}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Closes every object schema that lists `properties` and says nothing of
/// others, outside `allOf` (where closing one branch would refuse the
/// members of the others).
fn close_objects(schema: &mut Value) {
    let Value::Object(map) = schema else {
        if let Value::Array(items) = schema {
            items.iter_mut().for_each(close_objects);
        }
        return;
    };
    if map.contains_key("properties") && !map.contains_key("additionalProperties") && !map.contains_key("allOf") {
        map.insert("additionalProperties".to_owned(), json!(false));
    }
    for (key, value) in map.iter_mut() {
        if key != "allOf" && key != "example" && key != "examples" && key != "default" {
            close_objects(value);
        }
    }
}
