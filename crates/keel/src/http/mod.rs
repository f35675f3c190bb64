//! The floor every other module stands on: the `Problem` error type, the
//! extractors, the shared OpenAPI components, byte ranges, request ids and
//! the access log, and HTML error pages. It imports nothing else of Keel's.
//! The server is in `server`, the middleware stack in `launch::stack`.

pub mod error_pages;
pub mod extract;
pub mod incident;
pub mod observe;
pub mod openapi;
pub mod problem;
pub mod range;

pub use problem::{FieldError, Problem};
