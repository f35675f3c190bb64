//! The users table: the only SQL about users.

use uuid::Uuid;

use super::EmailAddress;
use crate::db::{Db, DbError};

/// A user, without the password hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub is_superuser: bool,
    #[serde(skip)]
    pub is_active: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("a user with this email already exists")]
    DuplicateEmail,
    #[error(transparent)]
    Db(#[from] DbError),
}

type UserRow = (Uuid, String, bool, bool);

fn user((id, email, is_superuser, is_active): UserRow) -> User {
    User {
        id,
        email,
        is_superuser,
        is_active,
    }
}

/// Inserts a user; the unique index on `email` turns a duplicate into
/// `DuplicateEmail`, also under a race between two signups.
pub async fn create(
    db: &Db,
    email: &EmailAddress,
    password_hash: &str,
    is_superuser: bool,
) -> Result<User, AccountError> {
    let id = Uuid::new_v4();
    let result = crate::on_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO keel_users (id, email, password_hash, is_superuser, is_active, created_at) \
             VALUES ($1, $2, $3, $4, TRUE, $5)",
        )
        .bind(id)
        .bind(email.as_str())
        .bind(password_hash)
        .bind(is_superuser)
        .bind(chrono::Utc::now())
        .execute(pool)
        .await
        .map(drop)
    });
    match result {
        Ok(_) => Ok(User {
            id,
            email: email.as_str().to_owned(),
            is_superuser,
            is_active: true,
        }),
        Err(sqlx::Error::Database(err)) if err.is_unique_violation() => Err(AccountError::DuplicateEmail),
        Err(err) => Err(AccountError::Db(err.into())),
    }
}

/// The user with `email` and their password hash.
pub async fn find_by_email(db: &Db, email: &EmailAddress) -> Result<Option<(User, String)>, DbError> {
    let row: Option<(Uuid, String, bool, bool, String)> = crate::on_pool!(db, pool => {
        sqlx::query_as("SELECT id, email, is_superuser, is_active, password_hash FROM keel_users WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(pool)
            .await?
    });
    Ok(row.map(|(id, email, su, active, hash)| (user((id, email, su, active)), hash)))
}

pub async fn find_by_id(db: &Db, id: Uuid) -> Result<Option<User>, DbError> {
    let row: Option<UserRow> = crate::on_pool!(db, pool => {
        sqlx::query_as("SELECT id, email, is_superuser, is_active FROM keel_users WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    Ok(row.map(user))
}

/// Replaces a user's password hash; false when there is no such user.
pub async fn set_password(db: &Db, id: Uuid, password_hash: &str) -> Result<bool, DbError> {
    let affected = crate::on_pool!(db, pool => {
        sqlx::query("UPDATE keel_users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(affected == 1)
}

pub async fn record_login(db: &Db, id: Uuid) -> Result<(), DbError> {
    crate::on_pool!(db, pool => {
        sqlx::query("UPDATE keel_users SET last_login_at = $1 WHERE id = $2")
            .bind(chrono::Utc::now())
            .bind(id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

impl From<AccountError> for crate::http::Problem {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::DuplicateEmail => Self::invalid(vec![crate::http::FieldError::new(
                "email",
                "A user with this email address already exists.",
            )]),
            AccountError::Db(err) => err.into(),
        }
    }
}
