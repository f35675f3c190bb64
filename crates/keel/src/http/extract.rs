//! Extractors whose rejections are problems (SPEC section 4).
//!
//! [`ApiJson`] is the JSON body extractor of every endpoint: another content
//! type is 415 (which also closes the no-preflight cross-site form path),
//! a body over the limit is 413, unparseable JSON is 400, and parseable but
//! invalid JSON (wrong types, missing or unknown members) is 422 with the
//! member named. [`ApiQuery`] and [`ApiPath`] do the same for the query
//! string and the path parameters, which axum's own extractors answer in
//! `text/plain` without a request id.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use super::problem::{FieldError, Problem};

/// A JSON request body, deserialized into `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

/// Whether the request says its body is JSON (`application/json` or a
/// `+json` type, parameters allowed).
pub fn is_json(request: &Request) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .is_some_and(|t| t == "application/json" || (t.starts_with("application/") && t.ends_with("+json")))
}

/// Whether the request's body is `multipart/form-data` (file uploads).
pub fn is_multipart(request: &Request) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// When a request's body must have arrived (`KEEL_BODY_READ_TIMEOUT` after
/// the request began); set by the stack on every request that is not an
/// upload, honoured by the readers below (408 after it).
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub tokio::time::Instant);

async fn within_deadline<T>(
    deadline: Option<BodyDeadline>,
    read: impl std::future::Future<Output = Result<T, Problem>>,
) -> Result<T, Problem> {
    match deadline {
        Some(BodyDeadline(at)) => tokio::time::timeout_at(at, read)
            .await
            .unwrap_or_else(|_| Err(Problem::request_timeout())),
        None => read.await,
    }
}

/// Reads the body within the route's limit (axum's `DefaultBodyLimit`).
pub async fn read_body(request: Request) -> Result<Bytes, Problem> {
    let deadline = request.extensions().get::<BodyDeadline>().copied();
    within_deadline(deadline, async {
        Bytes::from_request(request, &()).await.map_err(|rejection| {
            if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                Problem::payload_too_large("The request body is larger than this endpoint accepts.")
            } else {
                Problem::bad_request("The request body could not be read.")
            }
        })
    })
    .await
}

/// Reads the body within `limit` bytes, whatever the route's own limit is
/// (a route that also takes large multipart bodies still holds its JSON
/// to `KEEL_MAX_BODY_BYTES`).
pub async fn read_body_within(request: Request, limit: u64) -> Result<Bytes, Problem> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let too_large = || Problem::payload_too_large("The request body is larger than this endpoint accepts.");
    let declared = request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let deadline = request.extensions().get::<BodyDeadline>().copied();
    let limited = http_body_util::Limited::new(request.into_body(), limit);
    within_deadline(deadline, async {
        match http_body_util::BodyExt::collect(limited).await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(err) if err.is::<http_body_util::LengthLimitError>() => Err(too_large()),
            Err(_) => Err(Problem::bad_request("The request body could not be read.")),
        }
    })
    .await
}

/// Parses JSON into `T`, telling a syntax error (400) from a shape error (422).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = clean_message(&inner);
                Problem::invalid(vec![FieldError::new(field_of(&path, &message), message)])
            }
            _ => Problem::bad_request("The request body is not valid JSON."),
        }
    })?;
    deserializer
        .end()
        .map_err(|_| Problem::bad_request("The request body has data after the JSON value."))?;
    Ok(value)
}

/// The member an error is about: the path, extended by the member a
/// "missing field" message names (serde reports that at the enclosing
/// object; an unknown member is already the path's last segment).
fn field_of(path: &str, message: &str) -> String {
    let base = if path == "." { "" } else { path };
    let named = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (base, named) {
        ("", Some(name)) => name.to_owned(),
        (base, Some(name)) => format!("{base}.{name}"),
        (base, None) => base.to_owned(),
    }
}

/// serde's message without its " at line 1 column 9" suffix.
fn clean_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&request) {
            return Err(
                Problem::unsupported_media_type("This endpoint accepts only application/json.").into_response(),
            );
        }
        let bytes = read_body(request).await.map_err(IntoResponse::into_response)?;
        parse_json(&bytes).map(ApiJson).map_err(IntoResponse::into_response)
    }
}

/// A query string, deserialized into `T`; a malformed one is a 400 problem
/// naming the parameter (axum's own `Query` answers `text/plain`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut http::request::Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(ApiQuery)
            .map_err(|err| Problem::bad_request(format!("The query string is not valid: {err}.")))
    }
}

/// Path parameters, deserialized into `T` (a `Uuid`, a tuple of them, a
/// `String`). A parameter that does not decode (invalid percent-encoding,
/// not UTF-8) or does not parse as `T` names nothing: 404, like an id that
/// parses but is not there, so a client learns nothing from the
/// difference. A route whose pattern lacks the parameters `T` asks for is
/// the server's bug: 500.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S> for ApiPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(err))
                if !matches!(
                    err.kind(),
                    ErrorKind::WrongNumberOfParameters { .. } | ErrorKind::UnsupportedType { .. }
                ) =>
            {
                Err(Problem::not_found())
            }
            Err(rejection) => {
                tracing::error!(error = %rejection.body_text(), "a route's pattern lacks its path parameters");
                Err(Problem::internal())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "fields are read only by the deserializer")]
    struct Login {
        email: String,
        password: String,
    }

    #[test]
    fn content_types_are_read_by_their_media_type() {
        let request = |value: Option<&str>| {
            let mut builder = Request::builder();
            if let Some(value) = value {
                builder = builder.header(CONTENT_TYPE, value);
            }
            builder.body(axum::body::Body::empty()).unwrap()
        };
        let cases: &[(Option<&str>, bool, bool)] = &[
            (Some("application/json"), true, false),
            (Some("Application/JSON; charset=utf-8"), true, false),
            (Some("application/problem+json"), true, false),
            (Some("multipart/form-data; boundary=x"), false, true),
            (Some(" MULTIPART/Form-Data;boundary=x"), false, true),
            (Some("multipart/form-dataX; boundary=x"), false, false),
            (Some("multipart/mixed; boundary=x"), false, false),
            (Some("text/plain"), false, false),
            (Some(""), false, false),
            (None, false, false),
        ];
        for (value, json, multipart) in cases {
            assert_eq!(is_json(&request(*value)), *json, "is_json({value:?})");
            assert_eq!(is_multipart(&request(*value)), *multipart, "is_multipart({value:?})");
        }
    }

    #[test]
    fn json_errors_split_into_400_and_422() {
        let cases: &[(&str, u16, &str)] = &[
            ("{", 400, "truncated"),
            ("not json", 400, "not JSON at all"),
            (r#"{"email": "a", "password": "b"} {}"#, 400, "trailing data"),
            ("[]", 422, "a list instead of an object"),
            (r#"{"email": 5, "password": "x"}"#, 422, "a wrong type"),
            (r#"{"email": "a"}"#, 422, "a missing member"),
            (
                r#"{"email": "a", "password": "b", "admin": true}"#,
                422,
                "an unknown member",
            ),
        ];
        for (body, status, why) in cases {
            let err = parse_json::<Login>(body.as_bytes()).expect_err(why);
            assert_eq!(err.status.as_u16(), *status, "{why}");
        }
        let err = parse_json::<Login>(br#"{"email": 5, "password": "x"}"#).unwrap_err();
        assert_eq!(err.errors[0].field, "email", "the member is named");
        let err = parse_json::<Login>(br#"{"email": "a"}"#).unwrap_err();
        assert_eq!(err.errors[0].field, "password", "a missing member is named");
        let err = parse_json::<Login>(br#"{"email": "a", "password": "b", "admin": 1}"#).unwrap_err();
        assert_eq!(err.errors[0].field, "admin", "an unknown member is named");
    }

    #[tokio::test]
    async fn path_parameters_that_do_not_decode_or_parse_are_404_problems() {
        use tower::ServiceExt as _;
        async fn one(ApiPath(id): ApiPath<uuid::Uuid>) -> String {
            id.to_string()
        }
        async fn two(ApiPath((a, b)): ApiPath<(uuid::Uuid, String)>) -> String {
            format!("{a} {b}")
        }
        async fn lacking(ApiPath(id): ApiPath<uuid::Uuid>) -> String {
            id.to_string()
        }
        let app = axum::Router::new()
            .route("/one/{id}", axum::routing::get(one))
            .route("/two/{a}/{b}", axum::routing::get(two))
            .route("/lacking", axum::routing::get(lacking));
        let nil = uuid::Uuid::nil();
        let cases: &[(&str, u16, &str)] = &[
            (&format!("/one/{nil}"), 200, "a UUID"),
            ("/one/%FF", 404, "invalid UTF-8"),
            ("/one/%C3%28", 404, "an invalid UTF-8 sequence"),
            ("/one/not-a-uuid", 404, "not a UUID"),
            ("/one/%00", 404, "a NUL"),
            (&format!("/two/{nil}/%E2%98%83"), 200, "a UUID and a snowman"),
            (&format!("/two/{nil}/%FF"), 404, "a second parameter of invalid UTF-8"),
            ("/two/x/y", 404, "a first parameter that is not a UUID"),
            ("/lacking", 500, "a route without the parameter"),
        ];
        for (path, status, why) in cases {
            let request = Request::builder().uri(*path).body(axum::body::Body::empty()).unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status().as_u16(), *status, "{why}");
            if *status != 200 {
                assert_eq!(
                    response.headers()[CONTENT_TYPE],
                    "application/problem+json",
                    "{why}: a problem"
                );
            }
        }
    }
}
