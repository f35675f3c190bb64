//! `keel-floor`: the floor that `benches/load.sh` measures Keel against.
//!
//! A bare axum + sqlx server with the same three endpoints the load test
//! drives on Keel, and nothing else: no middleware, no sessions, no cache,
//! no logging, no signing, no validation. Whatever Keel spends above this
//! floor is the price of its stack (security layers, access log, token HMAC,
//! rate limit, answer validation, transactions), which is what the
//! benchmark wants to show.
//!
//! - `GET /healthz`: `{"status":"ok"}`, no I/O.
//! - `GET /api/public/forms/{slug}`: reads the form row by slug on every
//!   request (no cache) and answers JSON shaped like Keel's public form,
//!   with a token-like string that is not signed.
//! - `POST /api/public/forms/{slug}/responses`: parses a JSON body shaped
//!   like Keel's submission and inserts one row (one statement, autocommit,
//!   the form's id found by slug inside the insert); 201 `{"id": uuid}`.
//!
//! To keep the comparison fair the tables carry the same keys and indexes
//! as Keel's `forms` and `form_responses`, SQLite runs with Keel's pragmas
//! (WAL, `synchronous=NORMAL`, a 5 s busy timeout, foreign keys) and both
//! pools have Keel's default size.
//!
//! ```text
//! DATABASE_URL=sqlite:///tmp/floor.sqlite3 keel-floor 127.0.0.1:8001
//! ```
//!
//! `FLOOR_SLUG` and `FLOOR_FIELDS` (a JSON array) set the seeded form, so
//! `load.sh` can give it the slug and fields of the form it made on Keel.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use uuid::Uuid;

/// Keel's default `KEEL_DB_MAX_CONNECTIONS`.
const MAX_CONNECTIONS: u32 = 10;
/// Keel's SQLite busy timeout.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_SLUG: &str = "floor-bench";
/// Five fields like the form `load.sh` creates on Keel.
const DEFAULT_FIELDS: &str = r#"[
  {"key":"name","label":"Your name","type":"short_text","required":true,"help":"","max_length":200},
  {"key":"email","label":"Email address","type":"email","required":true,"help":"We reply here."},
  {"key":"age","label":"Age","type":"integer","required":false,"help":"","min":0,"max":150},
  {"key":"plan","label":"Plan","type":"choice","required":true,"help":"","options":["free","team","enterprise"]},
  {"key":"comments","label":"Comments","type":"long_text","required":false,"help":"Anything else?"}
]"#;

const SQLITE_SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS forms (seq INTEGER PRIMARY KEY AUTOINCREMENT, id BLOB NOT NULL UNIQUE, \
     slug TEXT NOT NULL UNIQUE, title TEXT NOT NULL, description TEXT NOT NULL, fields TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS responses (seq INTEGER PRIMARY KEY AUTOINCREMENT, id BLOB NOT NULL UNIQUE, \
     form_id BLOB NOT NULL REFERENCES forms (id) ON DELETE CASCADE, answers TEXT NOT NULL, created_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS responses_form ON responses (form_id, seq)",
];

const POSTGRES_SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS forms (seq BIGSERIAL PRIMARY KEY, id UUID NOT NULL UNIQUE, \
     slug TEXT NOT NULL UNIQUE, title TEXT NOT NULL, description TEXT NOT NULL, fields TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS responses (seq BIGSERIAL PRIMARY KEY, id UUID NOT NULL UNIQUE, \
     form_id UUID NOT NULL REFERENCES forms (id) ON DELETE CASCADE, answers TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL)",
    "CREATE INDEX IF NOT EXISTS responses_form ON responses (form_id, seq)",
];

/// Either pool; the SQL is written once in the dialect both share.
#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same body on whichever pool is configured.
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
}

fn connect(url: &str) -> Result<Pool, sqlx::Error> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_lazy_with(options);
        return Ok(Pool::Sqlite(pool));
    }
    let options = PgConnectOptions::from_str(url)?;
    Ok(Pool::Postgres(
        PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_lazy_with(options),
    ))
}

/// Creates the tables and the one form (kept when it exists already).
async fn prepare(pool: &Pool, slug: &str, fields: &str) -> Result<(), sqlx::Error> {
    let schema = match pool {
        Pool::Sqlite(_) => SQLITE_SCHEMA,
        Pool::Postgres(_) => POSTGRES_SCHEMA,
    };
    on_pool!(pool, p => {
        for statement in schema {
            sqlx::query(statement).execute(p).await?;
        }
        sqlx::query(
            "INSERT INTO forms (id, slug, title, description, fields) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (slug) DO NOTHING",
        )
        .bind(Uuid::new_v4())
        .bind(slug)
        .bind("Load test")
        .bind("A form for the load benchmark.")
        .bind(fields)
        .execute(p)
        .await?;
    });
    Ok(())
}

fn internal(err: sqlx::Error) -> StatusCode {
    eprintln!("keel-floor: database error: {err}");
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn get_public_form(State(pool): State<Pool>, Path(slug): Path<String>) -> Result<Response, StatusCode> {
    type Row = (Uuid, String, String, String, String);
    let sql = "SELECT id, slug, title, description, fields FROM forms WHERE slug = $1";
    let row: Option<Row> = on_pool!(&pool, p => {
        sqlx::query_as(sql).bind(&slug).fetch_optional(p).await.map_err(internal)?
    });
    let (id, slug, title, description, fields) = row.ok_or(StatusCode::NOT_FOUND)?;
    let fields: Value = serde_json::from_str(&fields).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    // Shaped like Keel's `value.timestamp.signature` token, but not signed.
    let token = format!("{id}.{}.{}", chrono::Utc::now().timestamp(), "s".repeat(43));
    let body = json!({
        "submission_token": token,
        "slug": slug,
        "title": title,
        "description": description,
        "fields": fields,
        "accepting_responses": true,
    });
    Ok(Json(body).into_response())
}

#[derive(Deserialize)]
struct Submission {
    #[expect(dead_code, reason = "parsed like Keel's body, but the floor checks no token")]
    submission_token: String,
    #[serde(default)]
    answers: Map<String, Value>,
}

async fn submit_response(
    State(pool): State<Pool>,
    Path(slug): Path<String>,
    Json(submission): Json<Submission>,
) -> Result<Response, StatusCode> {
    let id = Uuid::new_v4();
    let answers = serde_json::to_string(&submission.answers).map_err(|_| StatusCode::BAD_REQUEST)?;
    let sql =
        "INSERT INTO responses (id, form_id, answers, created_at) SELECT $1, id, $2, $3 FROM forms WHERE slug = $4";
    let inserted = on_pool!(&pool, p => {
        sqlx::query(sql)
            .bind(id)
            .bind(&answers)
            .bind(chrono::Utc::now())
            .bind(&slug)
            .execute(p)
            .await
            .map_err(internal)?
            .rows_affected()
    });
    if inserted == 0 {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

fn router(pool: Pool) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/public/forms/{slug}", get(get_public_form))
        .route("/api/public/forms/{slug}/responses", post(submit_response))
        .with_state(pool)
}

async fn run() -> Result<(), String> {
    let bind: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8001".to_owned())
        .parse()
        .map_err(|e| format!("bad bind address: {e}"))?;
    let url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is not set".to_owned())?;
    let slug = std::env::var("FLOOR_SLUG").unwrap_or_else(|_| DEFAULT_SLUG.to_owned());
    let fields = std::env::var("FLOOR_FIELDS").unwrap_or_else(|_| DEFAULT_FIELDS.to_owned());
    let pool = connect(&url).map_err(|e| format!("bad DATABASE_URL: {e}"))?;
    prepare(&pool, &slug, &fields)
        .await
        .map_err(|e| format!("cannot prepare the database: {e}"))?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot bind {bind}: {e}"))?;
    // Keel sets TCP_NODELAY too; without it small answers wait for Nagle.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(pool))
        .await
        .map_err(|e| format!("server failed: {e}"))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("keel-floor: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
