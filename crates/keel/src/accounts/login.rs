//! Logging in, apart from HTTP: the attempt is counted first (per account
//! and per client address, atomically, so a burst cannot slip past the
//! limit and an attempt over it costs no hashing), then the password is
//! verified on the hashing gate; a right one is taken back off the address's
//! count, and a hash made with older parameters is replaced while the
//! password is known. An unknown email runs one dummy verification, so it
//! takes about as long as a wrong password.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use super::{users, EmailAddress, User};
use crate::core::Core;
use crate::db::DbError;
use crate::http::Problem;
use crate::security::hash_gate::{Busy, HashGate};
use crate::security::passwords;
use crate::security::throttle::{RetryAfter, Throttle};

/// Why a login did not succeed.
#[derive(Debug)]
pub(super) enum LoginError {
    /// Too many failed attempts for the account or the address.
    TooMany(RetryAfter),
    /// No such active user, or a wrong password: one answer for both.
    Invalid,
    /// No turn at the hashing gate came in time.
    Busy,
    Db(DbError),
}

impl From<DbError> for LoginError {
    fn from(err: DbError) -> Self {
        Self::Db(err)
    }
}

impl From<LoginError> for Problem {
    fn from(err: LoginError) -> Self {
        match err {
            LoginError::TooMany(RetryAfter(secs)) => Problem::too_many_requests(secs),
            LoginError::Invalid => Problem::new(
                http::StatusCode::UNAUTHORIZED,
                "invalid-credentials",
                "The email address or password is not correct.",
            ),
            LoginError::Busy => busy(),
            LoginError::Db(err) => err.into(),
        }
    }
}

/// The 503 of a request that found no turn at the hashing gate.
pub(super) fn busy() -> Problem {
    Problem::overloaded("Too many sign-ins at once; try again shortly.")
}

/// Runs CPU- and memory-heavy password work off the async workers, one
/// per core at a time.
pub(super) async fn hashed<T: Send + 'static>(
    gate: &HashGate,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Busy> {
    gate.run(work).await
}

/// The failed-login counters (`KEEL_LOGIN_RATE`).
#[derive(Clone)]
pub(super) struct Logins {
    by_account: Throttle,
    by_address: Throttle,
}

impl Logins {
    pub(super) fn new(core: &Core) -> Self {
        let rate = core.settings.security.login_rate;
        Self {
            by_account: Throttle::new(core.cache.clone(), "login-account", rate),
            by_address: Throttle::new(core.cache.clone(), "login-address", rate),
        }
    }

    /// The active user whose email and password these are.
    pub(super) async fn authenticate(
        &self,
        core: &Core,
        email: &str,
        password: String,
        address: IpAddr,
    ) -> Result<User, LoginError> {
        // The account key is a hash, so the cache never holds email addresses.
        let account = hex::encode(Sha256::digest(email.trim().to_lowercase().as_bytes()));
        let address = address.to_string();
        let by_account = self.by_account.hit(&account).await;
        let by_address = self.by_address.hit(&address).await;
        if let Err(retry) = by_account.and(by_address) {
            // The access log has the 429; a warning each would let a flood
            // write the log as fast as it sends.
            tracing::debug!(client.address = %address, "login refused: too many failed attempts");
            return Err(LoginError::TooMany(retry));
        }
        let found = match EmailAddress::parse(email) {
            Ok(email) => users::find_by_email(&core.db, &email).await?,
            Err(_) => None,
        };
        let verified = hashed(&core.hashing, move || verify(found, &password))
            .await
            .map_err(|Busy| LoginError::Busy)?;
        let Some((user, fresh)) = verified else {
            tracing::warn!(client.address = %address, "failed login");
            return Err(LoginError::Invalid);
        };
        self.by_account.reset(&account).await;
        self.by_address.undo(&address).await;
        if let Some(fresh) = fresh {
            users::set_password(&core.db, user.id, &fresh).await?;
            tracing::info!(user.id = %user.id, "password hash upgraded to the current parameters");
        }
        Ok(user)
    }
}

/// The user when the password is right (and the user active), with a new
/// hash when the stored one was made with older parameters. Blocking.
fn verify(found: Option<(User, String)>, password: &str) -> Option<(User, Option<String>)> {
    match found {
        Some((user, hash)) if passwords::verify_password(password, &hash) && user.is_active => {
            let fresh = passwords::needs_rehash(&hash)
                .then(|| passwords::hash_password(password).ok())
                .flatten();
            Some((user, fresh))
        }
        Some(_) => None,
        None => {
            passwords::verify_dummy(password);
            None
        }
    }
}
