//! The database as configured: SQLite's pragmas, the pool's size and
//! connection lifetime, on the real server's pool.

use std::time::Duration;

use keel_testkit::{Backend, TestServer};

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_a_busy_timeout_and_foreign_keys() {
    let server = TestServer::spawn(Backend::Sqlite).await;
    let keel::db::Db::Sqlite(pool) = &server.core.db else {
        panic!("a SQLite pool")
    };
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(pool).await.unwrap();
    assert_eq!(mode, "wal");
    let (timeout,): (i64,) = sqlx::query_as("PRAGMA busy_timeout").fetch_one(pool).await.unwrap();
    assert_eq!(timeout, 5000);
    let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys").fetch_one(pool).await.unwrap();
    assert_eq!(fk, 1);
    let orphan =
        sqlx::query("INSERT INTO keel_sessions (key_hash, user_id, created_at, expires_at) VALUES ('x', X'00', 0, 1)")
            .execute(pool)
            .await;
    assert!(orphan.is_err(), "a session of no user violates the foreign key");
}

#[tokio::test]
async fn the_pool_takes_its_size_and_connection_lifetime_from_settings() {
    let server = TestServer::spawn_with(Backend::Sqlite, |s| {
        s.database.max_connections = 3;
        s.database.conn_max_age = Duration::from_secs(42);
    })
    .await;
    let keel::db::Db::Sqlite(pool) = &server.core.db else {
        panic!("a SQLite pool")
    };
    assert_eq!(pool.options().get_max_connections(), 3);
    assert_eq!(pool.options().get_max_lifetime(), Some(Duration::from_secs(42)));
}

#[tokio::test]
async fn the_postgres_pool_takes_its_size_from_settings() {
    if !keel_testkit::services::postgres_available().await {
        return;
    }
    let server = TestServer::spawn_with(Backend::Postgres, |s| s.database.max_connections = 4).await;
    let keel::db::Db::Postgres(pool) = &server.core.db else {
        panic!("a PostgreSQL pool")
    };
    assert_eq!(pool.options().get_max_connections(), 4);
}
