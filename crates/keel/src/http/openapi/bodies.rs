//! Schema-only mirrors of the bodies the core's handlers build with
//! `serde_json::json!` (`/api/csrf`, the user of `/api/auth/*`,
//! `/healthz`, `/readyz`) and of this document itself. The tests check that
//! the built JSON has exactly the members listed here.

use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// `GET /api/openapi.json`'s body: an OpenAPI 3.1 document.
pub(super) struct OpenApiDocument;

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

/// `GET /api/csrf`'s body.
#[derive(ToSchema)]
#[expect(dead_code, reason = "a schema only: the handler builds this JSON with json!")]
pub(crate) struct CsrfToken {
    /// The masked token to send as `X-CSRFToken`; a new mask each call.
    #[schema(rename = "csrfToken")]
    csrf_token: String,
}

/// A user, as `me`, signup and login answer.
#[derive(ToSchema)]
#[expect(dead_code, reason = "a schema only: the handler builds this JSON with json!")]
pub(crate) struct User {
    id: uuid::Uuid,
    #[schema(format = Email)]
    email: String,
    is_superuser: bool,
}

/// `GET /healthz`'s body.
#[derive(ToSchema)]
#[expect(dead_code, reason = "a schema only: the handler builds this JSON with json!")]
pub(crate) struct Health {
    #[schema(value_type = String, pattern = "^ok$")]
    status: String,
}

/// What readiness answers.
#[derive(ToSchema)]
#[expect(dead_code, reason = "a schema only: the handler builds this JSON with json!")]
#[schema(rename_all = "snake_case")]
pub(crate) enum ReadinessStatus {
    Ok,
    /// The database answers; the cache does not (requests go to the database).
    Degraded,
    Unavailable,
    ShuttingDown,
}

/// One dependency's state.
#[derive(ToSchema)]
#[expect(dead_code, reason = "a schema only: the handler builds this JSON with json!")]
#[schema(rename_all = "snake_case")]
pub(crate) enum ProbeState {
    Ok,
    /// The cache only: down, and skipped until it is back.
    Degraded,
    Down,
}

/// The dependencies `readyz` probes.
#[derive(ToSchema)]
#[expect(dead_code, reason = "a schema only: the handler builds this JSON with json!")]
pub(crate) struct ReadinessChecks {
    database: ProbeState,
    cache: ProbeState,
}

/// `GET /readyz`'s body; `checks` is absent while shutting down.
#[derive(ToSchema)]
#[expect(dead_code, reason = "a schema only: the handler builds this JSON with json!")]
pub(crate) struct Readiness {
    status: ReadinessStatus,
    #[schema(required = false)]
    checks: ReadinessChecks,
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    /// The property names of a schema-only type, and the required ones.
    pub(crate) fn members<T: PartialSchema>() -> (BTreeSet<String>, BTreeSet<String>) {
        let schema = serde_json::to_value(T::schema()).expect("a schema encodes");
        let properties = schema["properties"].as_object().expect("an object schema");
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        (
            properties.keys().cloned().collect(),
            required.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        )
    }

    pub(crate) fn keys(value: &Value) -> BTreeSet<String> {
        value.as_object().expect("a JSON object").keys().cloned().collect()
    }

    #[test]
    fn the_user_body_has_exactly_the_members_of_its_schema() {
        let user = crate::accounts::User {
            id: uuid::Uuid::new_v4(),
            email: "ada@example.com".to_owned(),
            is_superuser: false,
            is_active: true,
        };
        let body = crate::accounts::http::user_body(&user);
        let (properties, required) = members::<User>();
        assert_eq!(keys(&body), properties);
        assert_eq!(required, properties, "every member is always sent");
    }

    #[tokio::test]
    async fn the_csrf_body_has_exactly_the_members_of_its_schema() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let settings = crate::Settings::for_test(dir.path());
        let policy = crate::security::Policy::new(&settings, Vec::new());
        let response = crate::security::csrf::get_csrf(axum::Extension(policy), http::HeaderMap::new()).await;
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("a body");
        let body: Value = serde_json::from_slice(&body).expect("JSON");
        let (properties, required) = members::<CsrfToken>();
        assert_eq!(keys(&body), properties);
        assert_eq!(required, properties);
    }
}
