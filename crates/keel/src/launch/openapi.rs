//! The OpenAPI 3.1 description of the HTTP API, at `GET /api/openapi.json`.
//!
//! Generated from the code with `utoipa`: handlers carry `#[utoipa::path]`,
//! request and response bodies are the types they return, deriving
//! `ToSchema`. The core describes its own routes (health, CSRF, accounts,
//! this document); the shared components (the `Problem` body, the error
//! responses) are in `http::openapi`; each app adds its part through
//! [`App::openapi`]; the binary's [`Site`] gives the title. [`document`]
//! merges them into one, built and encoded once, at start, and served from
//! memory.

use axum::body::Bytes;
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::get;
use axum::Router;
use http::{header, HeaderValue};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, OpenApi as Document, RefOr, Schema, Type};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use super::site::Site;
use crate::http::openapi::{
    BadRequest, Conflict, Forbidden, InternalError, MethodNotAllowed, NotFound, PayloadTooLarge, RangeNotSatisfiable,
    SiteErrors, TooManyRequests, Unauthorized, Unavailable, UnsupportedMediaType, ValidationFailed, CSRF, SESSION,
};
use crate::http::problem::{FieldError, Problem, ProblemBody};

/// `GET /api/openapi.json`'s body: an OpenAPI 3.1 document (utoipa's own
/// type, which has no schema of its own).
struct OpenApiDocument;

impl PartialSchema for OpenApiDocument {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("An OpenAPI 3.1 document."))
            .property("openapi", ObjectBuilder::new().schema_type(Type::String))
            .required("openapi")
            .property("info", ObjectBuilder::new().schema_type(Type::Object))
            .required("info")
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(true)))
            .into()
    }
}

impl ToSchema for OpenApiDocument {}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keel",
        description = "Every error is `application/problem+json` (RFC 9457) with the `Problem` schema; \
            its `request_id` equals the `x-request-id` response header. \
            A method a path does not list is answered 405 with `Allow` \
            (`#/components/responses/MethodNotAllowed`), and TRACE always is. \
            Outside `/api/`, a browser asking for HTML gets a plain HTML page instead of a problem. \
            Unsafe methods on session routes need the `X-CSRFToken` header holding the token of \
            `GET /api/csrf`, the `csrftoken` cookie it sets, and a matching `Origin` (or, on https \
            without Origin, `Referer`)."
    ),
    paths(
        crate::ops::healthz,
        crate::ops::readyz,
        crate::security::csrf::get_csrf,
        crate::accounts::http::signup,
        crate::accounts::http::login,
        crate::accounts::http::logout,
        crate::accounts::http::me,
        get_openapi,
    ),
    components(
        schemas(ProblemBody, FieldError),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            MethodNotAllowed,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            RangeNotSatisfiable,
            ValidationFailed,
            TooManyRequests,
            InternalError,
            Unavailable,
        )
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "operations", description = "Probes for load balancers: any Host, plain http."),
        (name = "security", description = "The CSRF token for unsafe requests."),
        (name = "accounts", description = "Sign-up, login, logout and the current user (session cookie `sessionid`)."),
        (name = "meta", description = "This description of the API."),
    )
)]
struct CoreApi;

/// The session cookie and the CSRF header, as API-key schemes.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::security::sessions::COOKIE_NAME,
                "The session cookie set by signup and login (HttpOnly), rotated on login.",
            ))),
        );
        components.add_security_scheme(
            CSRF,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRFToken",
                "The token of GET /api/csrf. It must come with the `csrftoken` cookie that call sets \
                 and an Origin (or, on https, Referer) of this site or of KEEL_CSRF_TRUSTED_ORIGINS.",
            ))),
        );
    }
}

/// The whole document: the site's title, the core's part merged with
/// every app's.
pub fn document(site: &Site) -> Document {
    let mut doc = CoreApi::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.info.title = site.title.to_owned();
    let common = doc.info.description.take().unwrap_or_default();
    doc.info.description = Some(format!("{}\n\n{common}", site.summary));
    for app in &site.apps {
        if let Some(part) = app.openapi() {
            doc.merge(part);
        }
    }
    doc
}

/// The route serving the document, encoded once here.
pub(super) fn router(site: &Site) -> Router {
    let encoded = match document(site).to_json() {
        Ok(json) => Some(Bytes::from(json)),
        Err(err) => {
            // Not reachable with utoipa's own types; answered 500 rather
            // than refusing to start over documentation.
            tracing::error!(error = %err, "could not encode the OpenAPI document");
            None
        }
    };
    // The path is a literal so the route test can read it from the source.
    Router::new().route("/api/openapi.json", get(move || get_openapi(encoded.clone())))
}

/// The OpenAPI description of this API.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    summary = "This document",
    description = "The OpenAPI 3.1 description of every endpoint, request body and error, generated from the code.",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.", body = OpenApiDocument),
        SiteErrors,
    )
)]
async fn get_openapi(encoded: Option<Bytes>) -> HttpResponse {
    match encoded {
        Some(body) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            body,
        )
            .into_response(),
        None => Problem::internal().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    /// The property names of a schema, and the required ones.
    fn members<T: PartialSchema>() -> (BTreeSet<String>, BTreeSet<String>) {
        let schema = serde_json::to_value(T::schema()).expect("a schema encodes");
        let properties = schema["properties"].as_object().expect("an object schema");
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        (
            properties.keys().cloned().collect(),
            required.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        )
    }

    fn keys(value: &Value) -> BTreeSet<String> {
        value.as_object().expect("a JSON object").keys().cloned().collect()
    }

    #[test]
    fn the_problem_schema_lists_every_member_a_problem_sends() {
        // Over the cap, so that `errors_truncated` is sent too.
        let errors = (0..=crate::http::problem::MAX_ERRORS)
            .map(|i| crate::FieldError::new(format!("fields[{i}]"), "Give a label."))
            .collect();
        let mut problem = crate::Problem::invalid(errors);
        problem.request_id = Some("abc".to_owned());
        let body = serde_json::to_value(&problem).expect("a problem encodes");
        let (properties, required) = members::<ProblemBody>();
        assert_eq!(keys(&body), properties);
        let always: BTreeSet<String> = ["type", "title", "status", "detail", "request_id"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(
            required, always,
            "errors and errors_truncated are sent only when there are some"
        );
    }

    #[test]
    fn the_core_document_references_only_components_it_has() {
        let doc = serde_json::to_value(document(&Site::new("Test", "A test site."))).expect("the document encodes");
        assert_eq!(doc["openapi"], "3.1.0");
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for reference in refs {
            let pointer = reference.strip_prefix('#').expect("a local reference");
            assert!(doc.pointer(pointer).is_some(), "{reference} resolves");
        }
    }

    fn collect_refs(value: &Value, out: &mut Vec<String>) {
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
}
