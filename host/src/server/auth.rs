//! Who is calling: API tokens (from `POST /api/v1/login` or created for scripts), checked
//! against their hashes in the store; roles per team.

use super::api_common::ApiError;
use super::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use pikoci_store::{Role, TeamId, User};

/// The authenticated user of a request; rejects the request with 401 when there is none.
pub struct Caller(pub User);

/// The user, when the request carries valid credentials.
pub struct MaybeCaller(pub Option<User>);

/// The token of an `Authorization: Bearer TOKEN` header; the scheme's name is case-insensitive
/// (RFC 9110), so `bearer` and `BEARER` work as clients send them.
fn bearer(parts: &Parts) -> Option<&str> {
    let (scheme, token) = parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer(parts) else { return Ok(MaybeCaller(None)) };
        match state.store.verify_token(token).await {
            Ok(found) => Ok(MaybeCaller(found.map(|(user, _)| user))),
            Err(e) => Err(super::api_common::internal(format!("cannot check the token: {e}"))),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match MaybeCaller::from_request_parts(parts, state).await? {
            MaybeCaller(Some(user)) => Ok(Caller(user)),
            MaybeCaller(None) => Err(ApiError::unauthenticated()),
        }
    }
}

/// Whether `user` holds at least `needed` in `team` (admins hold every role everywhere).
pub async fn holds_role(state: &AppState, user: &User, team: TeamId, needed: Role) -> Result<bool, ApiError> {
    Ok(user.is_admin || state.store.role(team, user.id).await?.is_some_and(|role| role >= needed))
}

/// [`holds_role`], or 403 saying which role it takes.
pub async fn require_role(state: &AppState, user: &User, team: TeamId, needed: Role) -> Result<(), ApiError> {
    if holds_role(state, user, team, needed).await? {
        return Ok(());
    }
    Err(ApiError::new(StatusCode::FORBIDDEN, format!("this needs the {} role in the team", needed.as_str())))
}

/// Server-wide actions (users, teams) are the admins'.
pub fn require_admin(user: &User) -> Result<(), ApiError> {
    if user.is_admin {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "only an admin may do this"))
    }
}
