//! Keel's production core. It knows nothing about forms: an application
//! plugs in through [`App`] and receives a [`Core`].
//!
//! # Modules
//!
//! - [`settings`] — the only reader of the environment, `.env` and `keel.toml`
//! - [`core`] — services built once from settings (database, cache, lifecycle)
//! - [`db`] — SQLite or PostgreSQL pools and embedded migrations
//! - [`cache`] — memory or Redis behind one small interface
//! - [`http`] — the server, the middleware stack, `Problem`, health endpoints
//! - [`checks`] — system checks with stable ids
//! - [`telemetry`] — logs and their rules
//! - [`launch`] — the one function that builds a server, for `serve` and tests
//! - [`outbox`] — emails and webhooks enqueued in a transaction, delivered by a worker
//! - [`staticfiles`] — built-in and extra static files, `collectstatic`, the `/static/` service
//! - [`storage`] — media: a local folder or S3, streamed uploads, content sniffing, downloads
//!
//! # The path of a request
//!
//! ```text
//! listener (caller-owned) → hyper
//!   1. request id + access log        http::observe
//!   2. panic catcher → 500 problem    http::stack
//!   3. request timeout → 503 problem  http::stack
//!   /healthz, /readyz                 http::ops (any Host, plain http)
//!   └ /static/ (after host + https)   staticfiles (no session, no CSRF)
//!   └ site: apps' routes              app::App::routes
//!       handler → Result<_, Problem>  http::problem
//! ```

pub mod accounts;
pub mod app;
pub mod cache;
pub mod checks;
pub mod core;
pub mod db;
pub mod http;
pub mod launch;
pub mod outbox;
pub mod security;
pub mod settings;
pub mod staticfiles;
pub mod storage;
pub mod telemetry;

pub use app::App;
pub use core::Core;
pub use http::{FieldError, Problem};
pub use launch::Keel;
pub use settings::Settings;
