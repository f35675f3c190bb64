//! `Problem`: the one error type at the HTTP boundary (RFC 9457).
//!
//! Handlers return `Result<T, Problem>`; apps convert their own errors into
//! it. Its body is `application/problem+json` with the request id of the
//! request it answers, so a user's report can be matched to the access log.
//! A copy rides in the response extensions so outer layers can render it
//! differently (an HTML page for browsers) without parsing the body.

use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;

use super::observe::current_request_id;

/// One invalid field of a 400/422 answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    /// The member, as a path such as `title`, `fields[1].key` or `answers.email`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An error answer. Build one with the constructors, which say the status.
/// Boxed, so `Result<T, Problem>` stays small on every handler's path.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Problem(Box<ProblemBody>);

/// The members of a problem.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Problem, description = "An error (RFC 9457 problem details), sent as application/problem+json.")]
pub struct ProblemBody {
    #[serde(rename = "type")]
    #[schema(value_type = String, format = "uri", example = "urn:keel:problem:not-found")]
    pub kind: Cow<'static, str>,
    #[schema(value_type = String, example = "Not Found")]
    pub title: Cow<'static, str>,
    #[serde(serialize_with = "serialize_status")]
    #[schema(value_type = u16, minimum = 400, maximum = 599)]
    pub status: StatusCode,
    pub detail: String,
    /// Equals the `x-request-id` response header and the access-log line.
    #[schema(required = true)]
    pub request_id: Option<String>,
    /// The invalid members, on validation errors (400/422) only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

fn serialize_status<S: serde::Serializer>(status: &StatusCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u16(status.as_u16())
}

impl Problem {
    /// A problem of `status` whose type is `urn:keel:problem:<slug>`.
    pub fn new(status: StatusCode, slug: &'static str, detail: impl Into<String>) -> Self {
        Self(Box::new(ProblemBody {
            kind: Cow::Owned(format!("urn:keel:problem:{slug}")),
            title: Cow::Borrowed(status.canonical_reason().unwrap_or("Error")),
            status,
            detail: detail.into(),
            request_id: None,
            errors: Vec::new(),
            retry_after: None,
        }))
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "not-authenticated", "You need to log in.")
    }

    pub fn forbidden(slug: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, slug, detail)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "There is nothing at this address.")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "This address does not accept that method.",
        )
    }

    pub fn conflict(slug: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, slug, detail)
    }

    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", detail)
    }

    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", detail)
    }

    /// 422 with one error per invalid field.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let mut problem = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            "Some fields are not valid.",
        );
        problem.errors = errors;
        problem
    }

    /// 408: the client took longer than `KEEL_BODY_READ_TIMEOUT` to send its body.
    pub fn request_timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request-timeout",
            "The request body took too long to arrive.",
        )
    }

    /// 503 with a short `Retry-After`: this instance is at capacity.
    pub fn overloaded(detail: impl Into<String>) -> Self {
        let mut problem = Self::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", detail);
        problem.retry_after = Some(1);
        problem
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut problem = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many attempts; try again later.",
        );
        problem.retry_after = Some(retry_after_secs.max(1));
        problem
    }

    /// 503: a dependency is down or the server is overloaded.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut problem = Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail);
        problem.retry_after = Some(5);
        problem
    }

    /// 500 with nothing about the cause: that goes to the log, once.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "Something went wrong on our side. The request id identifies it in the logs.",
        )
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }
}

impl std::ops::Deref for Problem {
    type Target = ProblemBody;

    fn deref(&self) -> &ProblemBody {
        &self.0
    }
}

impl std::ops::DerefMut for Problem {
    fn deref_mut(&mut self) -> &mut ProblemBody {
        &mut self.0
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.title, self.detail)
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(mut self) -> Response {
        if self.request_id.is_none() {
            self.request_id = current_request_id();
        }
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response.extensions_mut().insert(self);
        response
    }
}
