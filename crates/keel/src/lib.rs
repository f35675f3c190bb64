//! Keel's production core. It knows nothing about forms: an application
//! plugs in through [`App`] and receives a [`Core`].
//!
//! # Modules
//!
//! - [`settings`] — the only reader of the environment, `.env` and `keel.toml`
//! - [`core`] — services built once from settings (database, cache, lifecycle)
//! - [`db`] — SQLite or PostgreSQL pools and embedded migrations
//! - [`cache`] — memory or Redis behind one small interface
//! - [`http`] — the floor: `Problem`, extractors, OpenAPI components, ranges, request ids
//! - [`checks`] — system checks with stable ids, declared in one table
//! - [`telemetry`] — logs and their rules
//! - [`outbox`] — emails and webhooks enqueued in a transaction, delivered by a worker
//! - [`staticfiles`] — built-in and extra static files, `collectstatic`, the `/static/` service
//! - [`storage`] — media: a local folder or S3, streamed uploads, content sniffing, downloads
//! - [`accounts`] — users, sign-up, login, the current user
//! - [`ops`] — `/healthz` and `/readyz`
//! - [`reports`] — error reports to the admins and Sentry, broken links to the managers
//! - [`server`] — the accept loop, connection clocks and the drain
//! - [`backup`] — `keel backup` and `keel restore`: archives that restore across backends
//! - [`deploy`] — `keel deploy render`: nginx, systemd, compose, Kubernetes from the settings
//! - [`launch`] — the composition root: the stack, the API document, the
//!   check run, the [`Site`] a binary serves
//!
//! # Floors
//!
//! Imports point down only (`scripts/imports.py` checks it in CI), from
//! the bottom: `http`; `settings`, `telemetry`; `db`, `cache`, `storage`;
//! `security`, `checks`, `staticfiles`; `core`; `accounts`, `outbox`,
//! `reports`, `ops`, `server`, `app`; `launch`.
//!
//! # The path of a request
//!
//! ```text
//! listener (caller-owned) → hyper
//!   1. request id + access log        http::observe
//!   2. panic catcher → 500 problem    launch::stack
//!   3. request timeout → 503 problem  launch::stack
//!   /healthz, /readyz                 ops (any Host, plain http)
//!   └ /static/ (after host + https)   staticfiles (no session, no CSRF)
//!   └ site: apps' routes              app::App::routes
//!       handler → Result<_, Problem>  http::problem
//! ```

pub mod accounts;
pub mod app;
pub mod backup;
pub mod cache;
pub mod checks;
pub mod core;
pub mod db;
pub mod deploy;
pub mod http;
pub mod launch;
pub mod ops;
pub mod outbox;
pub mod reports;
pub mod security;
pub mod server;
pub mod settings;
pub mod staticfiles;
pub mod storage;
pub mod telemetry;

pub use app::App;
pub use core::Core;
pub use http::{FieldError, Problem};
pub use launch::{Keel, Site};
pub use settings::Settings;
