//! What every API handler shares: the error answer, and finding a team, pipeline, job or resource
//! by the names in the URL while checking the caller may see it.

use super::auth::{holds_role, require_role, MaybeCaller};
use super::state::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use pikoci_store::{Job, Pipeline, Resource, Role, StoreError, Team};
use serde::Serialize;

/// An API error: its status and a message meant for the person reading it, sent as
/// `{"error": "..."}` so scripts can parse it and people can read it.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Sent as `Retry-After` (seconds) with a 429.
    pub retry_after: Option<std::time::Duration>,
}

/// The body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, and when it helps, what to do about it.
    pub error: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError { status, message: message.into(), retry_after: None }
    }

    /// 429, to be asked again in `after`.
    pub fn too_many(message: impl Into<String>, after: std::time::Duration) -> Self {
        ApiError { retry_after: Some(after), ..Self::new(StatusCode::TOO_MANY_REQUESTS, message) }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "log in first: send `Authorization: Bearer <token>`")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = %self.status, error = %self.message, "API request failed");
        }
        let mut response = (self.status, Json(ErrorBody { error: self.message })).into_response();
        if let Some(after) = self.retry_after {
            // Rounded up: a client that waits this long is not refused again.
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, (after.as_secs() + 1).into());
        }
        response
    }
}

impl From<(StatusCode, String)> for ApiError {
    fn from((status, message): (StatusCode, String)) -> Self {
        ApiError { status, message, retry_after: None }
    }
}

/// Store errors the caller caused get their own status; the rest are the server's fault.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let status = match &e {
            StoreError::NotFound(_) => StatusCode::NOT_FOUND,
            StoreError::AlreadyExists(_) => StatusCode::CONFLICT,
            StoreError::Invalid(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

pub fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Longest error text taken over from a plain-text answer.
const PLAIN_ERROR_BYTES: usize = 16 * 1024;

/// Every error answer is the API's JSON error, also those that axum's extractors and router write
/// as plain text or leave empty (a malformed JSON body, a path parameter that is not a number, a
/// method not allowed). Their headers (`Allow`, `Retry-After`) are kept.
pub async fn json_errors(response: Response) -> Response {
    use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
    let status = response.status();
    let is_json = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, PLAIN_ERROR_BYTES).await.map(|b| String::from_utf8_lossy(&b).trim().to_string()).unwrap_or_default();
    let error = if text.is_empty() { status.canonical_reason().unwrap_or("error").to_lowercase() } else { text };
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.insert(CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"));
    Response::from_parts(parts, axum::body::Body::from(serde_json::to_vec(&ErrorBody { error }).unwrap_or_default()))
}

/// The answer for a path no route has.
pub async fn no_such_endpoint() -> ApiError {
    ApiError::not_found("no such endpoint; the API is described at /api/v1/openapi.json")
}

pub async fn team(state: &AppState, name: &str) -> ApiResult<Team> {
    state.store.team_by_name(name).await?.ok_or_else(|| ApiError::not_found(format!("no team `{name}`")))
}

pub async fn pipeline(state: &AppState, team_name: &str, name: &str) -> ApiResult<Pipeline> {
    let team = team(state, team_name).await?;
    state.store.pipeline_by_name(team.id, name).await?.ok_or_else(|| ApiError::not_found(format!("no pipeline `{name}` in team `{team_name}`")))
}

pub async fn job(state: &AppState, pipeline: &Pipeline, name: &str) -> ApiResult<Job> {
    state.store.job_by_name(pipeline.id, name).await?.ok_or_else(|| ApiError::not_found(format!("no job `{name}` in pipeline `{}`", pipeline.name)))
}

pub async fn resource(state: &AppState, pipeline: &Pipeline, name: &str) -> ApiResult<Resource> {
    state.store.resource_by_name(pipeline.id, name).await?.ok_or_else(|| ApiError::not_found(format!("no resource `{name}` in pipeline `{}`", pipeline.name)))
}

/// Whether the caller may read the pipeline: anyone if it is public, else its team's members
/// (viewer and up) and admins.
pub async fn can_read(state: &AppState, caller: &MaybeCaller, pipeline: &Pipeline) -> ApiResult<bool> {
    if pipeline.public {
        return Ok(true);
    }
    match &caller.0 {
        Some(user) => holds_role(state, user, pipeline.team_id, Role::Viewer).await,
        None => Ok(false),
    }
}

/// What a caller is told of something it may not see: the same 404 as when it does not exist,
/// so answers do not tell which private pipelines, teams or builds there are.
pub fn unseen(what: String, caller: &MaybeCaller) -> ApiError {
    let hint = if caller.0.is_none() { "; log in to see private ones" } else { "" };
    ApiError::not_found(format!("{what} that you can see{hint}"))
}

/// A pipeline the caller may read, by its names in the URL.
pub async fn readable_pipeline(state: &AppState, caller: &MaybeCaller, team: &str, name: &str) -> ApiResult<Pipeline> {
    let unseen = || unseen(format!("no pipeline `{name}` in team `{team}`"), caller);
    let Some(team) = state.store.team_by_name(team).await? else { return Err(unseen()) };
    match state.store.pipeline_by_name(team.id, name).await? {
        Some(p) if can_read(state, caller, &p).await? => Ok(p),
        _ => Err(unseen()),
    }
}

/// A pipeline on which the caller holds at least `role`, by its names in the URL.
pub async fn pipeline_with_role(state: &AppState, user: &pikoci_store::User, team: &str, name: &str, role: Role) -> ApiResult<Pipeline> {
    let p = pipeline(state, team, name).await?;
    require_role(state, user, p.team_id, role).await?;
    Ok(p)
}
