//! `Problem`: the one error type at the HTTP boundary (RFC 9457).
//!
//! Handlers return `Result<T, Problem>`; apps convert their own errors into
//! it. Its body is `application/problem+json` with the request id of the
//! request it answers, so a user's report can be matched to the access log.
//! A copy rides in the response extensions so outer layers can render it
//! differently (an HTML page for browsers) without parsing the body.
//!
//! The error list is capped at [`MAX_ERRORS`]: a body crafted to fail many
//! ways (thousands of unknown members) must not get an answer many times
//! its own size. The first errors are kept, in order, and
//! `errors_truncated` says how many more there were.

use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;

use super::observe::current_request_id;

/// The most field errors one problem lists; the rest are counted in
/// `errors_truncated`.
pub const MAX_ERRORS: usize = 50;

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
    /// The invalid members, on validation errors (400/422) only: at most
    /// the first 50.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 50)]
    pub errors: Vec<FieldError>,
    /// How many more invalid members there were than `errors` lists;
    /// absent when it lists them all.
    #[serde(skip_serializing_if = "is_zero")]
    #[schema(minimum = 1)]
    pub errors_truncated: usize,
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
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
            errors_truncated: 0,
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
        problem.set_errors(errors);
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

    /// 500 with nothing about the cause: that goes to the log, once. The
    /// caller's location is recorded for the error report (see
    /// [`incident`](super::incident)); prefer [`Problem::internal_error`]
    /// when there is an error to tell.
    #[track_caller]
    pub fn internal() -> Self {
        super::incident::record_at("internal error", std::panic::Location::caller(), Vec::new());
        Self::internal_unrecorded()
    }

    /// 500 for `error`: its kind, the caller's location and its cause
    /// chain are recorded for the error report; the client sees none.
    #[track_caller]
    pub fn internal_error<E: std::error::Error + ?Sized>(error: &E) -> Self {
        super::incident::record_error(error);
        Self::internal_unrecorded()
    }

    fn internal_unrecorded() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "Something went wrong on our side. The request id identifies it in the logs.",
        )
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.set_errors(errors);
        self
    }

    /// Sets the error list, capped at [`MAX_ERRORS`].
    pub fn set_errors(&mut self, errors: Vec<FieldError>) {
        self.errors = errors;
        self.errors_truncated = 0;
        self.cap_errors();
    }

    /// Keeps the first [`MAX_ERRORS`] errors and counts the rest; run again
    /// on the way out, for a list that grew after it was set.
    fn cap_errors(&mut self) {
        if self.errors.len() > MAX_ERRORS {
            self.errors_truncated += self.errors.len() - MAX_ERRORS;
            self.errors.truncate(MAX_ERRORS);
            self.errors.shrink_to_fit();
        }
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
        self.cap_errors();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(n: usize) -> Vec<FieldError> {
        (0..n).map(|i| FieldError::new(format!("f{i}"), "bad")).collect()
    }

    #[test]
    fn error_lists_are_capped_with_a_count_of_the_rest() {
        // (errors given, listed, truncated, why)
        let cases = [
            (0, 0, 0, "no errors"),
            (1, 1, 0, "one error"),
            (MAX_ERRORS, MAX_ERRORS, 0, "exactly the cap"),
            (MAX_ERRORS + 1, MAX_ERRORS, 1, "one over the cap"),
            (100_000, MAX_ERRORS, 100_000 - MAX_ERRORS, "a flood of unknown members"),
        ];
        for (given, listed, truncated, why) in cases {
            for problem in [
                Problem::invalid(errors(given)),
                Problem::bad_request("x").with_errors(errors(given)),
            ] {
                assert_eq!(problem.errors.len(), listed, "{why}");
                assert_eq!(problem.errors_truncated, truncated, "{why}");
                if given > 0 {
                    assert_eq!(problem.errors[0].field, "f0", "{why}: the first errors are kept");
                }
                let body = serde_json::to_value(&problem).unwrap();
                assert_eq!(
                    body.get("errors_truncated").and_then(serde_json::Value::as_u64),
                    (truncated > 0).then_some(truncated as u64),
                    "{why}: the member is there only when errors were left out"
                );
            }
        }
    }

    #[test]
    fn a_list_grown_after_it_was_set_is_capped_on_the_way_out() {
        let mut problem = Problem::invalid(errors(MAX_ERRORS));
        problem.errors.extend(errors(10));
        let response = problem.into_response();
        let sent = response.extensions().get::<Problem>().unwrap();
        assert_eq!((sent.errors.len(), sent.errors_truncated), (MAX_ERRORS, 10));
    }
}
