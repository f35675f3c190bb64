//! `/api/auth/*` and the `CurrentUser` extractor.
//!
//! Login (the use case is in `login`) is throttled per account and per
//! client address (`KEEL_LOGIN_RATE`), sign-up per client address
//! (`KEEL_SIGNUP_RATE`); password hashing runs one per core at a time (503
//! when busy). Login and signup start a new session (a new id; the old one
//! is deleted) and a new CSRF secret.

use axum::extract::{FromRequestParts, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::header::SET_COOKIE;
use http::request::Parts;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use super::login::{busy, hashed, Logins};
use super::{users, EmailAddress, User};
use crate::core::Core;
use crate::http::extract::ApiJson;
use crate::http::openapi::{Forbidden, JsonBodyErrors, SiteErrors, TooManyRequests, Unauthorized};
use crate::http::{FieldError, Problem};
use crate::security::client_ip::ClientIp;
use crate::security::hash_gate::Busy;
use crate::security::sessions::{SessionRecord, COOKIE_NAME};
use crate::security::throttle::{RetryAfter, Throttle};
use crate::security::{cookies, csrf, passwords, Policy};

#[derive(Clone)]
struct AccountsState {
    core: Core,
    policy: Policy,
    logins: Logins,
    signups: Throttle,
}

/// The account routes.
pub fn router(core: &Core, policy: &Policy) -> Router {
    let state = AccountsState {
        core: core.clone(),
        policy: policy.clone(),
        logins: Logins::new(core),
        signups: Throttle::new(core.cache.clone(), "signup-address", core.settings.security.signup_rate),
    };
    Router::new()
        .route("/api/auth/signup", post(signup))
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/me", get(me))
        .with_state(state)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Credentials {
    #[schema(format = Email, example = "ada@example.com")]
    email: String,
    #[schema(format = Password)]
    password: String,
}

/// The logged-in user of a request, from the session cookie; 401 without.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub session: SessionRecord,
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let core = parts.extensions.get::<Core>().ok_or_else(Problem::internal)?.clone();
        let cookie = cookies::get(&parts.headers, COOKIE_NAME).ok_or_else(Problem::unauthorized)?;
        let session = core.sessions.load(cookie).await?.ok_or_else(Problem::unauthorized)?;
        crate::http::incident::note_user(session.user_id);
        let user = users::find_by_id(&core.db, session.user_id)
            .await?
            .filter(|u| u.is_active)
            .ok_or_else(Problem::unauthorized)?;
        Ok(Self { user, session })
    }
}

/// A user, as `me`, signup and login answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = User)]
pub struct UserBody {
    pub id: uuid::Uuid,
    #[schema(format = Email)]
    pub email: String,
    pub is_superuser: bool,
}

pub(crate) fn user_body(user: &User) -> UserBody {
    UserBody {
        id: user.id,
        email: user.email.clone(),
        is_superuser: user.is_superuser,
    }
}

fn rate_limited(RetryAfter(secs): RetryAfter) -> Problem {
    Problem::too_many_requests(secs)
}

/// Starts a new session for `user`, ending the one the request carried, and
/// rotates the CSRF secret.
async fn start_session(
    state: &AccountsState,
    headers: &HeaderMap,
    user: &User,
    status: StatusCode,
) -> Result<Response, Problem> {
    let sessions = &state.core.sessions;
    if let Some(old) = cookies::get(headers, COOKIE_NAME) {
        if let Some(old) = sessions.load(old).await? {
            sessions.delete(&old.key_hash).await?;
        }
    }
    let (_, session_cookie) = sessions.create(user.id).await?;
    let (_, csrf_cookie) = csrf::new_cookie(&state.policy);
    users::record_login(&state.core.db, user.id).await?;
    let mut response = (status, Json(user_body(user))).into_response();
    response.headers_mut().append(SET_COOKIE, session_cookie);
    response.headers_mut().append(SET_COOKIE, csrf_cookie);
    Ok(response)
}

#[utoipa::path(
    post,
    path = "/api/auth/signup",
    tag = "accounts",
    summary = "Sign up",
    description = "Creates an account (when KEEL_SIGNUP_OPEN) and logs it in: a new session and a new CSRF secret.",
    request_body = Credentials,
    security(("csrf" = [])),
    responses(
        (status = 201, description = "Signed up and logged in; `Set-Cookie` sets `sessionid` and a new `csrftoken`.",
            body = UserBody),
        (status = 403, response = Forbidden),
        JsonBodyErrors,
        SiteErrors,
    )
)]
async fn signup(
    State(state): State<AccountsState>,
    ClientIp(address): ClientIp,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Response, Problem> {
    if !state.core.settings.security.signup_open {
        return Err(Problem::forbidden("signup-closed", "Sign-up is closed on this site."));
    }
    state.signups.hit(&address.to_string()).await.map_err(rate_limited)?;
    let email = EmailAddress::parse(&body.email);
    let mut errors = Vec::new();
    if let Err(message) = &email {
        errors.push(FieldError::new("email", *message));
    }
    let email_text = email.as_ref().map(|e| e.as_str().to_owned()).unwrap_or_default();
    for message in passwords::validate_password(&body.password, &email_text) {
        errors.push(FieldError::new("password", message));
    }
    let email = match email {
        Ok(email) if errors.is_empty() => email,
        _ => return Err(Problem::invalid(errors)),
    };
    let hash = hashed(&state.core.hashing, move || passwords::hash_password(&body.password))
        .await
        .map_err(|Busy| busy())?
        .map_err(|_| Problem::internal())?;
    let user = users::create(&state.core.db, &email, &hash, false).await?;
    tracing::info!(user.id = %user.id, "signed up");
    start_session(&state, &headers, &user, StatusCode::CREATED).await
}

#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "accounts",
    summary = "Log in",
    description = "Starts a new session (a new id; the old one is deleted) and a new CSRF secret. \
        Failed attempts are limited per account and per client address (KEEL_LOGIN_RATE).",
    request_body = Credentials,
    security(("csrf" = [])),
    responses(
        (status = 200, description = "Logged in; `Set-Cookie` sets `sessionid` and a new `csrftoken`.",
            body = UserBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
        JsonBodyErrors,
        SiteErrors,
    )
)]
async fn login(
    State(state): State<AccountsState>,
    ClientIp(address): ClientIp,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Response, Problem> {
    let user = state
        .logins
        .authenticate(&state.core, &body.email, body.password, address)
        .await?;
    tracing::info!(user.id = %user.id, "logged in");
    start_session(&state, &headers, &user, StatusCode::OK).await
}

#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "accounts",
    summary = "Log out",
    description = "Deletes the session on the server and expires the cookie; answers the same without a session.",
    security(("csrf" = [])),
    responses(
        (status = 204, description = "Logged out; `Set-Cookie` expires `sessionid`."),
        (status = 403, response = Forbidden),
        SiteErrors,
    )
)]
async fn logout(State(state): State<AccountsState>, headers: HeaderMap) -> Result<Response, Problem> {
    let sessions = &state.core.sessions;
    if let Some(cookie) = cookies::get(&headers, COOKIE_NAME) {
        if let Some(session) = sessions.load(cookie).await? {
            sessions.delete(&session.key_hash).await?;
        }
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().append(SET_COOKIE, sessions.expired_cookie());
    Ok(response)
}

#[utoipa::path(
    get,
    path = "/api/auth/me",
    tag = "accounts",
    summary = "The current user",
    security(("session" = [])),
    responses(
        (status = 200, description = "The logged-in user.", body = UserBody),
        (status = 401, response = Unauthorized),
        SiteErrors,
    )
)]
async fn me(current: CurrentUser) -> Json<UserBody> {
    Json(user_body(&current.user))
}
