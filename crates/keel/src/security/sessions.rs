//! Server-side sessions: a row in the database with the cache in front
//! (Django's `cached_db`), behind an opaque signed `sessionid` cookie
//! (HttpOnly, SameSite=Lax, Secure per settings).
//!
//! The cookie is `token.signature`: 32 random bytes and their HMAC under the
//! secret key (fallback keys verify too, so a key rotation keeps people
//! logged in). The database stores only SHA-256 of the token. Login makes a
//! new session (a new id) and deletes the old one; logout deletes the row
//! and the cached copy, so a replayed cookie finds nothing.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::HeaderValue;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::cookies;
use super::signing::Signer;
use crate::cache::Cache;
use crate::db::{Db, DbError};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "sessionid";
const SALT: &str = "keel.sessions";
/// A cached session is re-read from the database at least this often, so a
/// row deleted elsewhere (another instance's logout with the memory cache)
/// stops working soon.
const CACHE_TTL: Duration = Duration::from_secs(300);

/// A live session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionRecord {
    pub key_hash: String,
    pub user_id: Uuid,
    pub expires_at: i64,
}

/// The session service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Sessions {
    db: Db,
    cache: Cache,
    signer: Signer,
    age: Duration,
    secure: bool,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn cache_key(key_hash: &str) -> String {
    format!("session:{key_hash}")
}

impl Sessions {
    pub fn new(db: Db, cache: Cache, signer: Signer, age: Duration, secure: bool) -> Self {
        Self {
            db,
            cache,
            signer,
            age,
            secure,
        }
    }

    /// Starts a session for `user_id`; returns the record and the
    /// `Set-Cookie` value.
    pub async fn create(&self, user_id: Uuid) -> Result<(SessionRecord, HeaderValue), DbError> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let age = i64::try_from(self.age.as_secs()).unwrap_or(i64::MAX);
        let record = SessionRecord {
            key_hash: hash(&token),
            user_id,
            expires_at: now().saturating_add(age),
        };
        crate::on_pool!(&self.db, pool => {
            sqlx::query("INSERT INTO keel_sessions (key_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(&record.key_hash)
                .bind(user_id)
                .bind(now())
                .bind(record.expires_at)
                .execute(pool)
                .await?;
        });
        let cookie = cookies::set(COOKIE_NAME, &self.signer.sign(SALT, &token), age, self.secure, true);
        Ok((record, cookie))
    }

    /// The live session a cookie value names, if any.
    pub async fn load(&self, cookie_value: &str) -> Result<Option<SessionRecord>, DbError> {
        let Ok(token) = self.signer.unsign(SALT, cookie_value) else {
            return Ok(None);
        };
        let key_hash = hash(token);
        if let Ok(Some(record)) = self.cache.get_json::<SessionRecord>(&cache_key(&key_hash)).await {
            return Ok((record.expires_at > now()).then_some(record));
        }
        let row: Option<(Uuid, i64)> = crate::on_pool!(&self.db, pool => {
            sqlx::query_as("SELECT user_id, expires_at FROM keel_sessions WHERE key_hash = $1 AND expires_at > $2")
                .bind(&key_hash)
                .bind(now())
                .fetch_optional(pool)
                .await?
        });
        let Some((user_id, expires_at)) = row else {
            return Ok(None);
        };
        let record = SessionRecord {
            key_hash,
            user_id,
            expires_at,
        };
        let ttl = Duration::from_secs(u64::try_from(expires_at - now()).unwrap_or(0)).min(CACHE_TTL);
        let _ = self.cache.set_json(&cache_key(&record.key_hash), &record, ttl).await;
        Ok(Some(record))
    }

    /// Ends a session: the row and the cached copy.
    pub async fn delete(&self, key_hash: &str) -> Result<(), DbError> {
        let _ = self.cache.delete(&cache_key(key_hash)).await;
        crate::on_pool!(&self.db, pool => {
            sqlx::query("DELETE FROM keel_sessions WHERE key_hash = $1").bind(key_hash).execute(pool).await?;
        });
        Ok(())
    }

    /// Ends every session of a user (after a password change). Cached
    /// copies of other instances expire within the cache lifetime.
    pub async fn delete_for_user(&self, user_id: Uuid) -> Result<u64, DbError> {
        let hashes: Vec<(String,)> = crate::on_pool!(&self.db, pool => {
            sqlx::query_as("DELETE FROM keel_sessions WHERE user_id = $1 RETURNING key_hash")
                .bind(user_id)
                .fetch_all(pool)
                .await?
        });
        for (key_hash,) in &hashes {
            let _ = self.cache.delete(&cache_key(key_hash)).await;
        }
        Ok(hashes.len() as u64)
    }

    /// Deletes expired sessions (`keel clearsessions`); returns how many.
    pub async fn clear_expired(&self) -> Result<u64, DbError> {
        let affected = crate::on_pool!(&self.db, pool => {
            sqlx::query("DELETE FROM keel_sessions WHERE expires_at <= $1")
                .bind(now())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(affected)
    }

    /// A `Set-Cookie` value that removes the session cookie.
    pub fn expired_cookie(&self) -> HeaderValue {
        cookies::expire(COOKIE_NAME, self.secure, true)
    }
}
