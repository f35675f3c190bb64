//! A password hashed with older Argon2 parameters is re-hashed with the
//! current ones at the next right login (and only then), on SQLite and
//! PostgreSQL.

use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use keel::security::passwords::{needs_rehash, verify_password};
use keel_testkit::{on_both_backends, Backend, TestServer, GOOD_PASSWORD};

on_both_backends!(an_old_hash_is_replaced_at_the_next_right_login_only);

async fn stored_hash(server: &TestServer) -> String {
    keel::on_pool!(&server.core.db, pool => {
        sqlx::query_scalar("SELECT password_hash FROM keel_users WHERE email = 'old@example.com'")
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

async fn an_old_hash_is_replaced_at_the_next_right_login_only(backend: Backend) {
    let server = TestServer::spawn(keel_cli::site(), backend).await;
    assert_eq!(server.signup("old@example.com").await.status(), 201);
    // The hash an older release would have stored: weaker parameters.
    let params = Params::new(8192, 1, 1, Some(32)).unwrap();
    let old = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(GOOD_PASSWORD.as_bytes(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
    assert!(needs_rehash(&old));
    keel::on_pool!(&server.core.db, pool => {
        sqlx::query("UPDATE keel_users SET password_hash = $1 WHERE email = 'old@example.com'")
            .bind(&old)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected()
    });

    let wrong = server.login("old@example.com", "not the password").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(stored_hash(&server).await, old, "a wrong password changes nothing");

    let right = server.login("old@example.com", GOOD_PASSWORD).await;
    assert_eq!(right.status(), 200);
    let fresh = stored_hash(&server).await;
    assert_ne!(fresh, old);
    assert!(!needs_rehash(&fresh), "the new hash has the current parameters");
    assert!(verify_password(GOOD_PASSWORD, &fresh));

    let again = server.login("old@example.com", GOOD_PASSWORD).await;
    assert_eq!(again.status(), 200);
    assert_eq!(stored_hash(&server).await, fresh, "a current hash is kept");
}
