//! The database as configured: SQLite's pragmas, the pool's size and
//! connection lifetime, on the real server's pool.

use std::time::Duration;

use keel_testkit::{Backend, TestServer};

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_a_busy_timeout_and_foreign_keys() {
    let server = TestServer::spawn(keel_cli::site(), Backend::Sqlite).await;
    let keel::db::Db::Sqlite(pool, _) = &server.core.db else {
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
    let server = TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, |s| {
        s.database.max_connections = 3;
        s.database.conn_max_age = Duration::from_secs(42);
    })
    .await;
    let keel::db::Db::Sqlite(pool, _) = &server.core.db else {
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
    let server = TestServer::spawn_with(keel_cli::site(), Backend::Postgres, |s| s.database.max_connections = 4).await;
    let keel::db::Db::Postgres(pool) = &server.core.db else {
        panic!("a PostgreSQL pool")
    };
    assert_eq!(pool.options().get_max_connections(), 4);
}

/// SQLite has one writer at a time. Writers waiting for it queue at the
/// pool's write gate holding no connection, so with a pool of two, one
/// open write transaction and five more waiting, a read still gets the
/// second connection at once; the waiters then commit one by one, in order.
#[tokio::test]
async fn sqlite_writers_queue_without_holding_connections_readers_need() {
    let server = TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, |s| s.database.max_connections = 2).await;
    let db = server.core.db.clone();
    sqlx::query("CREATE TABLE queue_probe (n INTEGER NOT NULL)")
        .execute(match &db {
            keel::db::Db::Sqlite(pool, _) => pool,
            keel::db::Db::Postgres(_) => panic!("a SQLite pool"),
        })
        .await
        .unwrap();
    let first = db.begin().await.unwrap();
    let (order_tx, mut order_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut waiters = Vec::new();
    for n in 0..5_i64 {
        let (db, order_tx) = (db.clone(), order_tx.clone());
        waiters.push(tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            keel::on_tx!(&mut tx, conn => {
                sqlx::query("INSERT INTO queue_probe (n) VALUES ($1)").bind(n).execute(&mut **conn).await.unwrap();
            });
            tx.commit().await.unwrap();
            order_tx.send(n).unwrap();
        }));
        // Let each waiter reach the gate before the next one starts.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let read = tokio::time::timeout(Duration::from_secs(1), async {
        keel::on_pool!(&db, pool => sqlx::query_as::<_, (i64,)>("SELECT count(*) FROM queue_probe").fetch_one(pool).await)
    })
    .await
    .expect("a read is not starved by queued writers")
    .unwrap();
    assert_eq!(read.0, 0, "nothing is committed while the first writer holds the lock");
    assert!(
        order_rx.try_recv().is_err(),
        "no waiter ran while the first transaction was open"
    );
    first.commit().await.unwrap();
    for waiter in waiters {
        waiter.await.unwrap();
    }
    let mut order = Vec::new();
    while let Ok(n) = order_rx.try_recv() {
        order.push(n);
    }
    assert_eq!(order, vec![0, 1, 2, 3, 4], "writers commit in the order they arrived");
}

/// A pooled PostgreSQL connection the server dropped while it sat idle
/// (a restart, a proxy's idle cut) is found by a ping before reuse and
/// replaced, so the next query does not fail. (Busy connections are not
/// pinged on every acquire: that would cost a round trip per query.) The
/// pool here is a second one on the test database, which no outbox worker
/// uses, so nothing else discovers the dead connection first.
#[tokio::test]
async fn an_idle_postgres_connection_the_server_dropped_is_replaced_before_use() {
    if !keel_testkit::services::postgres_available().await {
        return;
    }
    let server = TestServer::spawn_with(keel_cli::site(), Backend::Postgres, |s| s.database.max_connections = 1).await;
    let db = keel::db::Db::connect(&server.core.settings.database).await.unwrap();
    db.ping().await.unwrap();
    let keel::db::Db::Postgres(pool) = &db else {
        panic!("a PostgreSQL pool")
    };
    // The connection goes back to the pool just after the query.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while pool.num_idle() != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the connection went back to the pool"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let url = keel::settings::expose(&server.core.settings.database.url);
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(url).await.unwrap();
    let (killed,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'keel' AND pid <> pg_backend_pid()) AS t",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(killed >= 1, "the pool's connection was terminated");
    // Idle past the ping threshold (10 s).
    tokio::time::sleep(Duration::from_secs(11)).await;
    db.ping().await.expect("a fresh connection replaced the dead one");
    assert_eq!(pool.size(), 1);
}
