//! The OpenAPI components every part of the document shares: the error
//! responses (`#/components/responses/…`), all `application/problem+json`
//! with the `Problem` schema, the sets of them most operations share, and
//! the names of the security schemes. Handlers name one with
//! `(status = 404, response = NotFound)` and a set with `SiteErrors`. The
//! document itself is assembled by `launch::openapi`.

use std::collections::BTreeMap;

use utoipa::openapi::{ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, RefOr, Response, ResponseBuilder, Type};
use utoipa::{ToResponse, ToSchema};

use super::problem::ProblemBody;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";
/// The name of the session cookie's security scheme.
pub const SESSION: &str = "session";
/// The name of the CSRF header's security scheme.
pub const CSRF: &str = "csrf";

/// A problem response of `description`, with `Retry-After` when `retry`.
fn problem_response(description: &str, retry: bool) -> RefOr<Response> {
    let problem = RefOr::Ref(Ref::from_schema_name(<ProblemBody as ToSchema>::name()));
    let content = ContentBuilder::new().schema(Some(problem)).build();
    let mut response = ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, content);
    if retry {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)))
                .description(Some("Seconds to wait before trying again."))
                .build(),
        );
    }
    response.build().into()
}

/// Reusable problem responses, as `components/responses` entries that
/// handlers name with `(status = 404, response = NotFound)`.
macro_rules! problem_responses {
    ($($name:ident: $retry:literal, $description:literal;)+) => {
        $(
            #[doc = $description]
            pub struct $name;

            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (stringify!($name), problem_response($description, $retry))
                }
            }
        )+
    };
}

problem_responses! {
    BadRequest: false, "The request is malformed: a Host not in KEEL_ALLOWED_HOSTS, a body that is not JSON, or a query that is not valid (a foreign cursor).";
    Unauthorized: false, "Not logged in (no valid session cookie), or, at login, a wrong email address or password.";
    Forbidden: false, "Refused: a failed CSRF check (`urn:keel:problem:csrf-failed`), sign-up closed, or a submission token that is not valid or has expired; `type` says which.";
    NotFound: false, "Nothing here, or not yours: another user's form is 404, never 403.";
    MethodNotAllowed: false, "The path does not have this method; `Allow` lists those it has.";
    Conflict: false, "The request conflicts with the resource's state (a form that is not accepting responses).";
    PayloadTooLarge: false, "The body is larger than this endpoint accepts (KEEL_MAX_BODY_BYTES; for uploads, KEEL_MAX_UPLOAD_BYTES per file).";
    UnsupportedMediaType: false, "The body is not of a media type this endpoint accepts (application/json, or multipart/form-data where documented).";
    RangeNotSatisfiable: false, "The requested byte range is not inside the file; `Content-Range` gives its size.";
    ValidationFailed: false, "The body is JSON but not valid: a wrong type, a missing or unknown member, or a value out of its limits; `errors` names each member.";
    TooManyRequests: true, "Too many attempts (failed logins, submissions); try again after Retry-After seconds.";
    InternalError: false, "Something went wrong on the server; the request id identifies it in the logs.";
    Unavailable: true, "The database or cache is down, the server is shutting down, or the request took too long.";
}

/// The responses every route behind host validation may give.
pub struct SiteErrors;

impl utoipa::IntoResponses for SiteErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("400", "BadRequest"), ("500", "InternalError"), ("503", "Unavailable")])
    }
}

/// The responses of an endpoint that reads a JSON body.
pub struct JsonBodyErrors;

impl utoipa::IntoResponses for JsonBodyErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[
            ("400", "BadRequest"),
            ("413", "PayloadTooLarge"),
            ("415", "UnsupportedMediaType"),
            ("422", "ValidationFailed"),
        ])
    }
}

fn refs(entries: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    entries
        .iter()
        .map(|(status, name)| ((*status).to_owned(), RefOr::Ref(Ref::from_response_name(*name))))
        .collect()
}
