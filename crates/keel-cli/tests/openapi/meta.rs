//! The document against the official OpenAPI 3.1 meta-schemas (vendored
//! in `tests/data/openapi-3.1/`), and the rules every error response of
//! the document follows.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::contract::Contract;

pub(crate) fn vendored(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/openapi-3.1")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("a vendored schema is JSON")
}

pub(crate) const SCHEMA_ID: &str = "https://spec.openapis.org/oas/3.1/schema/2022-10-07";
pub(crate) const DIALECT_ID: &str = "https://spec.openapis.org/oas/3.1/dialect/base";
pub(crate) const VOCABULARY_ID: &str = "https://spec.openapis.org/oas/3.1/meta/base";

/// The official `schema-base` (2022-10-07): the OpenAPI schema with every
/// Schema Object validated against the OAS dialect (JSON Schema 2020-12
/// plus the OAS vocabulary), by overriding its `$dynamicAnchor: meta`.
pub(crate) fn schema_base() -> Value {
    json!({
        "$id": "https://spec.openapis.org/oas/3.1/schema-base/2022-10-07",
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": SCHEMA_ID,
        "properties": {"jsonSchemaDialect": {"$ref": "#/$defs/dialect"}},
        "$defs": {
            "dialect": {"const": DIALECT_ID},
            "schema": {
                "$dynamicAnchor": "meta",
                "$ref": DIALECT_ID,
                "properties": {"$schema": {"$ref": "#/$defs/dialect"}}
            }
        }
    })
}

/// Errors of `doc` against the schema-base, with the vendored schemas as
/// the only resources (nothing is fetched).
pub(crate) fn schema_base_errors(doc: &Value) -> Vec<String> {
    let registry = jsonschema::Registry::new()
        .add(SCHEMA_ID, jsonschema::Resource::from_contents(vendored("schema.json")))
        .and_then(|r| {
            r.add(
                DIALECT_ID,
                jsonschema::Resource::from_contents(vendored("dialect-base.json")),
            )
        })
        .and_then(|r| {
            r.add(
                VOCABULARY_ID,
                jsonschema::Resource::from_contents(vendored("meta-base.json")),
            )
        })
        .and_then(|r| r.prepare())
        .expect("the vendored schemas register");
    let validator = jsonschema::draft202012::options()
        .with_registry(&registry)
        .should_validate_formats(true)
        .build(&schema_base())
        .expect("the schema-base compiles");
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

pub(crate) fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Every 4xx/5xx of an operation is `application/problem+json` with the
/// Problem schema (readiness's 503 may also be its own JSON body), and a
/// JSON body brings its four body errors.
pub(crate) fn every_error_is_a_problem(contract: &Contract, method: &str, path: &str, operation: &Value) {
    let responses = operation["responses"].as_object().expect("responses");
    for (status, response) in responses {
        if !(status.starts_with('4') || status.starts_with('5')) {
            continue;
        }
        let response = contract.resolve(response);
        let content = response["content"].as_object().expect("an error has a body");
        let problem = content
            .get("application/problem+json")
            .unwrap_or_else(|| panic!("{method} {path} {status} is a problem"));
        assert_eq!(
            problem["schema"],
            contract.resolve(&json!({"$ref": "#/components/schemas/Problem"})),
            "{method} {path} {status} has the Problem schema"
        );
        let others: Vec<_> = content.keys().filter(|k| *k != "application/problem+json").collect();
        assert!(
            others.is_empty() || (path == "/readyz" && status == "503"),
            "{method} {path} {status}: {others:?}"
        );
        if status == "429" || status == "503" {
            assert!(
                response["headers"]["Retry-After"].is_object(),
                "{method} {path} {status} has Retry-After"
            );
        }
    }
    if operation["requestBody"].is_object() {
        for status in ["400", "413", "415", "422"] {
            assert!(
                responses.contains_key(status),
                "{method} {path} reads a body, so documents {status}"
            );
        }
    }
    if path.starts_with("/api/") {
        for status in ["400", "500", "503"] {
            assert!(responses.contains_key(status), "{method} {path} documents {status}");
        }
    }
}
