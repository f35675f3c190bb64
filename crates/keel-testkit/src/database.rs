//! A fresh database per test: a SQLite file in the test's temporary folder,
//! or a PostgreSQL database `keel_test_<random>` created on the admin
//! connection and dropped (forcibly, even with connections open) when the
//! test ends.

use std::path::Path;

use keel::settings::{DatabaseKind, Settings};
use secrecy::SecretString;
use sqlx::{Connection, Executor};

use crate::services::{postgres_admin_url, Backend};

/// A database that lives as long as this value.
#[derive(Debug)]
pub struct TestDb {
    pub backend: Backend,
    /// The URL the server under test is given.
    pub url: String,
    /// The PostgreSQL database to drop, with the admin URL to drop it from.
    pg: Option<(String, String)>,
    /// The folder of the SQLite file: owned here, not by the server that
    /// made the database, so servers sharing it may outlive that one.
    _sqlite_dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// Creates a fresh, empty database for `backend`; a SQLite file goes
    /// into a temporary folder of its own next to `dir`.
    pub async fn create(backend: Backend, dir: &Path) -> Self {
        match backend {
            Backend::Sqlite => {
                let parent = dir.parent().unwrap_or(dir);
                let sqlite_dir = tempfile::tempdir_in(parent).expect("a temporary folder for the SQLite file");
                Self {
                    backend,
                    url: format!("sqlite://{}", sqlite_dir.path().join("test.sqlite3").display()),
                    pg: None,
                    _sqlite_dir: Some(sqlite_dir),
                }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("keel_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|err| panic!("cannot connect to PostgreSQL at {admin}: {err}"));
                conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
                    .await
                    .unwrap_or_else(|err| panic!("cannot create database {name}: {err}"));
                let _ = conn.close().await;
                let mut url = url::Url::parse(&admin).expect("KEEL_TEST_DATABASE_URL is a URL");
                url.set_path(&name);
                Self {
                    backend,
                    url: url.to_string(),
                    pg: Some((admin, name)),
                    _sqlite_dir: None,
                }
            }
        }
    }

    /// Simulates a PostgreSQL outage: new connections are refused and the
    /// open ones are cut.
    pub async fn refuse_connections(&self) {
        let (admin, name) = self
            .pg
            .as_ref()
            .expect("only a PostgreSQL database can refuse connections");
        let mut conn = sqlx::PgConnection::connect(admin).await.expect("the admin connection");
        conn.execute(format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false").as_str())
            .await
            .expect("refusing connections");
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(name)
            .execute(&mut conn)
            .await
            .expect("cutting open connections");
        let _ = conn.close().await;
    }

    /// Points `settings` at this database.
    pub fn configure(&self, settings: &mut Settings) {
        settings.database.url = SecretString::from(self.url.clone());
        settings.database.kind = match self.backend {
            Backend::Sqlite => DatabaseKind::Sqlite {
                path: self.url.trim_start_matches("sqlite://").into(),
            },
            Backend::Postgres => DatabaseKind::Postgres,
        };
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg.take() else {
            return;
        };
        // Drop runs outside any runtime guarantee, so use a thread with its
        // own small runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                    .await
                    .ok()?;
                conn.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: a test database could not be dropped");
        }
    }
}
