//! Teams and their members, users, and each user's API tokens.

use super::api_common::{self as common, ApiError, ApiResult, ErrorBody};
use super::auth::{require_admin, require_role, Caller};
use super::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use pikoci_store::{Role, TokenId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/teams", get(list_teams).post(create_team))
        .route("/api/v1/teams/{team}/members", get(list_members))
        .route("/api/v1/teams/{team}/members/{username}", axum::routing::put(set_member).delete(remove_member))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/user", get(me))
        .route("/api/v1/user/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/user/tokens/{id}", delete(revoke_token))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TeamView {
    pub name: String,
    /// The caller's role in it (null for an admin who is not a member).
    pub role: Option<String>,
    pub created_at: i64,
}

/// The teams the caller belongs to; every team for an admin.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", security(("bearer" = [])),
    responses((status = 200, body = [TeamView]), (status = 401, body = ErrorBody)))]
pub async fn list_teams(State(state): State<AppState>, Caller(user): Caller) -> ApiResult<Json<Vec<TeamView>>> {
    let mine = state.store.teams_of(user.id).await?;
    let role_in = |name: &str| mine.iter().find(|(t, _)| t.name == name).map(|(_, r)| r.as_str().to_string());
    let teams = if user.is_admin { state.store.teams().await? } else { mine.iter().map(|(t, _)| t.clone()).collect() };
    Ok(Json(teams.into_iter().map(|t| TeamView { role: role_in(&t.name), name: t.name, created_at: t.created_at }).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct NewTeam {
    name: String,
}

/// Create a team (admin).
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", security(("bearer" = [])), request_body = NewTeam,
    responses((status = 201, body = TeamView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, description = "it exists", body = ErrorBody)))]
pub async fn create_team(State(state): State<AppState>, Caller(user): Caller, Json(body): Json<NewTeam>) -> ApiResult<(StatusCode, Json<TeamView>)> {
    require_admin(&user)?;
    let team = state.store.create_team(&body.name).await?;
    Ok((StatusCode::CREATED, Json(TeamView { name: team.name, role: None, created_at: team.created_at })))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    pub username: String,
    /// viewer, operator or owner.
    pub role: String,
}

/// The team's members and their roles (viewer).
#[utoipa::path(get, path = "/api/v1/teams/{team}/members", tag = "teams", security(("bearer" = [])), params(("team" = String, Path)),
    responses((status = 200, body = [MemberView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_members(State(state): State<AppState>, Caller(user): Caller, Path(team): Path<String>) -> ApiResult<Json<Vec<MemberView>>> {
    let team = common::team(&state, &team).await?;
    require_role(&state, &user, team.id, Role::Viewer).await?;
    let members = state.store.members(team.id).await?;
    Ok(Json(members.into_iter().map(|(u, r)| MemberView { username: u.username, role: r.as_str().to_string() }).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct SetRole {
    /// viewer, operator or owner.
    #[schema(value_type = String)]
    role: Role,
}

/// Give a user a role in the team, replacing any role they had there (owner).
#[utoipa::path(put, path = "/api/v1/teams/{team}/members/{username}", tag = "teams", security(("bearer" = [])), request_body = SetRole,
    params(("team" = String, Path), ("username" = String, Path)),
    responses((status = 200, body = MemberView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_member(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((team, username)): Path<(String, String)>,
    Json(body): Json<SetRole>,
) -> ApiResult<Json<MemberView>> {
    let team = common::team(&state, &team).await?;
    require_role(&state, &user, team.id, Role::Owner).await?;
    let member = state.store.user_by_name(&username).await?.ok_or_else(|| ApiError::not_found(format!("no user `{username}`")))?;
    state.store.set_member(team.id, member.id, body.role).await?;
    Ok(Json(MemberView { username, role: body.role.as_str().to_string() }))
}

/// Remove a user from the team (owner).
#[utoipa::path(delete, path = "/api/v1/teams/{team}/members/{username}", tag = "teams", security(("bearer" = [])),
    params(("team" = String, Path), ("username" = String, Path)),
    responses((status = 204, description = "removed"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "no such team, user or membership", body = ErrorBody)))]
pub async fn remove_member(State(state): State<AppState>, Caller(user): Caller, Path((team_name, username)): Path<(String, String)>) -> ApiResult<StatusCode> {
    let team = common::team(&state, &team_name).await?;
    require_role(&state, &user, team.id, Role::Owner).await?;
    let member = state.store.user_by_name(&username).await?.ok_or_else(|| ApiError::not_found(format!("no user `{username}`")))?;
    if !state.store.remove_member(team.id, member.id).await? {
        return Err(ApiError::not_found(format!("`{username}` is not a member of `{team_name}`")));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct UserView {
    pub username: String,
    pub is_admin: bool,
    /// Whether the user can log in with a password (otherwise API tokens only).
    pub has_password: bool,
    pub created_at: i64,
}

impl From<pikoci_store::User> for UserView {
    fn from(u: pikoci_store::User) -> Self {
        UserView { username: u.username, is_admin: u.is_admin, has_password: u.has_password, created_at: u.created_at }
    }
}

/// Every user (admin).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = [UserView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_users(State(state): State<AppState>, Caller(user): Caller) -> ApiResult<Json<Vec<UserView>>> {
    require_admin(&user)?;
    Ok(Json(state.store.users().await?.into_iter().map(UserView::from).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct NewUser {
    username: String,
    /// Stored as its argon2 hash only. Omit for a user who signs in with API tokens only.
    password: Option<String>,
    #[serde(default)]
    admin: bool,
}

/// Create a user (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = NewUser,
    responses((status = 201, body = UserView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, description = "the name is taken", body = ErrorBody)))]
pub async fn create_user(State(state): State<AppState>, Caller(user): Caller, Json(body): Json<NewUser>) -> ApiResult<(StatusCode, Json<UserView>)> {
    require_admin(&user)?;
    if body.password.as_deref().is_some_and(|p| p.len() < 8) {
        return Err(ApiError::bad_request("a password needs at least 8 characters"));
    }
    let created = state.store.create_user(&body.username, body.password.as_deref(), body.admin).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    pub user: UserView,
    pub teams: Vec<TeamView>,
}

/// Who the token belongs to, and their teams.
#[utoipa::path(get, path = "/api/v1/user", tag = "users", security(("bearer" = [])), responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, Caller(user): Caller) -> ApiResult<Json<Me>> {
    let teams = state.store.teams_of(user.id).await?;
    let teams = teams.into_iter().map(|(t, r)| TeamView { name: t.name, role: Some(r.as_str().to_string()), created_at: t.created_at }).collect();
    Ok(Json(Me { user: user.into(), teams }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl From<pikoci_store::ApiToken> for TokenView {
    fn from(t: pikoci_store::ApiToken) -> Self {
        TokenView { id: t.id.get(), name: t.name, created_at: t.created_at, expires_at: t.expires_at, last_used_at: t.last_used_at }
    }
}

/// Your API tokens (never the tokens themselves: the server keeps only their hashes).
#[utoipa::path(get, path = "/api/v1/user/tokens", tag = "users", security(("bearer" = [])), responses((status = 200, body = [TokenView]), (status = 401, body = ErrorBody)))]
pub async fn list_tokens(State(state): State<AppState>, Caller(user): Caller) -> ApiResult<Json<Vec<TokenView>>> {
    Ok(Json(state.store.tokens(user.id).await?.into_iter().map(TokenView::from).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct NewToken {
    /// What it is for (e.g. the script using it).
    name: String,
    /// Days until it expires; omit for a token that never does.
    expires_in_days: Option<u32>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenView,
    /// The token: shown in this answer only. Send it as `Authorization: Bearer <token>`.
    pub token: String,
}

/// A new API token for yourself, with your roles.
#[utoipa::path(post, path = "/api/v1/user/tokens", tag = "users", security(("bearer" = [])), request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create_token(State(state): State<AppState>, Caller(user): Caller, Json(body): Json<NewToken>) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    if body.name.trim().is_empty() {
        return Err(ApiError::bad_request("a token needs a name"));
    }
    if body.expires_in_days == Some(0) {
        return Err(ApiError::bad_request(
            "`expires_in_days` must be 1 or more (a token of 0 days would expire at once); omit it for a token that never expires",
        ));
    }
    let expires = body.expires_in_days.map(|d| pikoci_store::now_millis() + i64::from(d) * 24 * 3600 * 1000);
    let (info, token) = state.store.create_token(user.id, &body.name, expires).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { info: info.into(), token })))
}

/// Revoke one of your API tokens; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/user/tokens/{id}", tag = "users", security(("bearer" = [])), params(("id" = i64, Path, description = "the token's id")),
    responses((status = 204, description = "revoked"), (status = 401, body = ErrorBody), (status = 404, description = "you have no such token", body = ErrorBody)))]
pub async fn revoke_token(State(state): State<AppState>, Caller(user): Caller, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    // Only your own: another user's token id is "not found", not "forbidden", so ids reveal nothing.
    let yours = state.store.tokens(user.id).await?.iter().any(|t| t.id == TokenId(id));
    if !yours || !state.store.revoke_token(TokenId(id)).await? {
        return Err(ApiError::not_found(format!("you have no token {id}")));
    }
    Ok(StatusCode::NO_CONTENT)
}
