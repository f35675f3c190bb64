//! HTTP: the server (takes a listener it is given, drains on shutdown), the
//! one ordered middleware stack, the `Problem` error type and the
//! operational endpoints.

mod connection;
pub mod error_pages;
mod errors;
pub mod extract;
pub mod observe;
pub mod openapi;
pub mod ops;
pub mod problem;
pub mod range;
pub mod server;
pub mod stack;

pub use problem::{FieldError, Problem};
