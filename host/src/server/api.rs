//! The HTTP API under `/api/v1`, plus `/metrics`, `/health`, `/ready` and `/version`.

use super::api_common::{can_read, internal, unseen, ApiError, ApiResult, ErrorBody};
use super::auth::{require_role, Caller, MaybeCaller};
use super::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use pikoci_store::{BuildId, LogLine, Role};
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::time::Duration;
use utoipa::ToSchema;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/version", get(|| async { Json(Version::CURRENT) }))
        .route("/api/v1/login", post(login))
        .route("/api/v1/builds/{id}", get(build))
        .route("/api/v1/builds/{id}/log", get(build_log))
        .route("/api/v1/builds/{id}/events", get(build_events))
        .route("/api/v1/builds/{id}/cancel", post(cancel_build))
        .route("/api/v1/builds/{id}/retry", post(retry_build))
        .route("/api/v1/openapi.json", get(|| async { Json(super::api_doc::spec()) }))
        .merge(super::pipelines_api::routes())
        .merge(super::api_pipelines::routes())
        .merge(super::api_teams::routes())
        .merge(super::api_workers::routes())
        .merge(super::api_export::routes())
        .fallback(super::api_common::no_such_endpoint)
        .layer(axum::middleware::map_response(super::api_common::json_errors))
        .with_state(state)
}

/// `GET /version`: which release and commit answer, for operators and for workers to compare.
#[derive(Serialize)]
struct Version {
    version: &'static str,
    commit: &'static str,
}

impl Version {
    const CURRENT: Version = Version { version: crate::build_info::VERSION, commit: crate::build_info::COMMIT };
}

/// Ready when the store takes a write, not only a read: a server on a full disk is not.
async fn ready(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store.check_writable().await.map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    Ok("ready")
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.metrics.store_statements.inner().store(state.store.statements_issued(), std::sync::atomic::Ordering::Relaxed);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}

#[derive(Deserialize, ToSchema)]
pub struct Login {
    username: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginAnswer {
    /// Send it as `Authorization: Bearer <token>`.
    token: String,
}

/// Exchange a password for an API token. Tokens from a login last 30 days.
#[utoipa::path(post, path = "/api/v1/login", tag = "users", request_body = Login,
    responses((status = 200, body = LoginAnswer), (status = 401, description = "wrong user name or password", body = ErrorBody),
        (status = 429, description = "too many wrong passwords for this user name or from this address; `Retry-After` says when to try again", body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    client: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    Json(body): Json<Login>,
) -> ApiResult<Json<LoginAnswer>> {
    let address = client.map(|c| c.0 .0.ip());
    if let Err(wait) = state.login_limit.attempt(&body.username, address) {
        return Err(ApiError::too_many(format!("too many wrong passwords; try again in {} s, or use an API token", wait.as_secs() + 1), wait));
    }
    let user = state.store.verify_password(&body.username, &body.password).await?;
    let Some(user) = user else {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong user name or password"));
    };
    state.login_limit.succeeded(&body.username, address);
    let expires = pikoci_store::now_millis() + 30 * 24 * 3600 * 1000;
    let (_, token) = state.store.create_token(user.id, "login", Some(expires)).await?;
    Ok(Json(LoginAnswer { token }))
}

/// The build, its job and its pipeline, if the caller may read the pipeline.
pub async fn readable_build(
    state: &AppState,
    caller: &MaybeCaller,
    id: BuildId,
) -> ApiResult<(pikoci_store::Build, pikoci_store::Job, pikoci_store::Pipeline)> {
    match build_scope(state, id).await {
        Ok(scope) if can_read(state, caller, &scope.2).await? => Ok(scope),
        Ok(_) | Err(ApiError { status: StatusCode::NOT_FOUND, .. }) => Err(unseen(format!("no build {id}"), caller)),
        Err(e) => Err(e),
    }
}

/// The build, its job and its pipeline (which says its team and whether it is public).
pub async fn build_scope(state: &AppState, id: BuildId) -> ApiResult<(pikoci_store::Build, pikoci_store::Job, pikoci_store::Pipeline)> {
    let build = state.store.build(id).await?.ok_or_else(|| ApiError::not_found(format!("no build {id}")))?;
    let job = state.store.job(build.job_id).await?.ok_or_else(|| ApiError::not_found("the build's job is gone"))?;
    let pipeline = state.store.pipeline(job.pipeline_id).await?.ok_or_else(|| ApiError::not_found("the build's pipeline is gone"))?;
    Ok((build, job, pipeline))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct BuildView {
    /// Server-wide id, used by `/api/v1/builds/{id}`.
    pub id: i64,
    /// 1, 2, 3... per job.
    pub number: i64,
    pub job: String,
    /// pending, started, succeeded, failed, errored, aborted or warning (failed, in a job with `allow_failure`).
    pub status: String,
    /// Why it ended as it did.
    pub reason: Option<String>,
    pub worker: Option<String>,
    /// The build this one re-runs with the same versions.
    pub rerun_of: Option<i64>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl BuildView {
    pub fn new(b: pikoci_store::Build, job: &str) -> Self {
        BuildView {
            id: b.id.get(),
            number: b.number,
            job: job.to_string(),
            status: b.status.as_str().to_string(),
            reason: b.reason,
            worker: b.worker,
            rerun_of: b.rerun_of.map(BuildId::get),
            created_at: b.created_at,
            started_at: b.started_at,
            finished_at: b.finished_at,
        }
    }
}

/// A version a build took in or put out.
#[derive(Serialize, ToSchema)]
pub struct BuildVersionView {
    /// input or output.
    pub direction: String,
    /// The get's or put's name in the job.
    pub name: String,
    /// Chosen through `passed` constraints.
    pub passed: bool,
    pub version: super::api_pipelines::VersionView,
}

#[derive(Serialize, ToSchema)]
pub struct BuildDetail {
    #[serde(flatten)]
    pub build: BuildView,
    pub pipeline: String,
    pub team: String,
    pub versions: Vec<BuildVersionView>,
}

#[utoipa::path(get, path = "/api/v1/builds/{id}", tag = "builds", params(("id" = i64, Path, description = "build id")),
    responses((status = 200, body = BuildDetail), (status = 404, description = "no such thing, or one the caller may not see", body = ErrorBody)))]
pub async fn build(State(state): State<AppState>, caller: MaybeCaller, Path(id): Path<i64>) -> ApiResult<Json<BuildDetail>> {
    let (build, job, pipeline) = readable_build(&state, &caller, BuildId(id)).await?;
    let team = state.store.team(pipeline.team_id).await?.map(|t| t.name).unwrap_or_default();
    let versions = state
        .store
        .build_versions(build.id)
        .await?
        .into_iter()
        .map(|v| BuildVersionView { direction: v.direction.as_str().to_string(), name: v.name, passed: v.passed, version: v.version.into() })
        .collect();
    Ok(Json(BuildDetail { build: BuildView::new(build, &job.name), pipeline: pipeline.name, team, versions }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct After {
    /// Only events with a higher sequence number (0: from the start).
    #[serde(default)]
    after: i64,
}

#[derive(Serialize, ToSchema)]
pub struct LogView {
    /// 1, 2, 3... within the build.
    pub seq: i64,
    /// step_started, line or step_finished.
    #[schema(value_type = String)]
    pub kind: pikoci_store::LogKind,
    pub step: String,
    /// For a line its stream (stdout, stderr, info...); for a finished step its outcome.
    pub origin: String,
    pub text: String,
    /// Unix milliseconds.
    pub at: i64,
}

impl From<LogLine> for LogView {
    fn from(l: LogLine) -> Self {
        LogView { seq: l.seq, kind: l.kind, step: l.step, origin: l.origin, text: l.text, at: l.at }
    }
}

/// The build's log so far (up to 10 000 events after `after`).
#[utoipa::path(get, path = "/api/v1/builds/{id}/log", tag = "builds", params(("id" = i64, Path, description = "build id"), After),
    responses((status = 200, body = [LogView]), (status = 404, description = "no such thing, or one the caller may not see", body = ErrorBody)))]
pub async fn build_log(State(state): State<AppState>, caller: MaybeCaller, Path(id): Path<i64>, Query(q): Query<After>) -> ApiResult<Json<Vec<LogView>>> {
    readable_build(&state, &caller, BuildId(id)).await?;
    let lines = state.store.read_log(BuildId(id), q.after, 10_000).await?;
    Ok(Json(lines.into_iter().map(LogView::from).collect()))
}

/// The build's log as server-sent events, live: stored lines first, then new ones as they are
/// written, each a `log` event whose data is a LogView in JSON and whose id is its `seq`; an `end`
/// event once the build is over and everything was sent.
#[utoipa::path(get, path = "/api/v1/builds/{id}/events", tag = "builds", params(("id" = i64, Path, description = "build id"), After),
    responses((status = 200, description = "text/event-stream of `log` events (data: LogView JSON), then `end`", content_type = "text/event-stream", body = String),
        (status = 404, description = "no such thing, or one the caller may not see", body = ErrorBody)))]
pub async fn build_events(
    State(state): State<AppState>,
    caller: MaybeCaller,
    Path(id): Path<i64>,
    Query(q): Query<After>,
) -> ApiResult<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>> {
    readable_build(&state, &caller, BuildId(id)).await?;
    let stream = async_stream::stream! {
        let mut after = q.after;
        loop {
            // Read the status before the lines: lines written before a build ends are all in
            // the store by the time its status is terminal.
            let done = matches!(state.store.build(BuildId(id)).await, Ok(Some(b)) if b.status.is_terminal());
            let lines = state.store.read_log(BuildId(id), after, 1000).await.unwrap_or_default();
            let caught_up = lines.len() < 1000;
            for line in lines {
                after = line.seq;
                let data = serde_json::to_string(&LogView::from(line)).unwrap_or_default();
                yield Ok(Event::default().id(after.to_string()).event("log").data(data));
            }
            if done && caught_up {
                yield Ok(Event::default().event("end").data(""));
                break;
            }
            if caught_up {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Abort a pending or running build (operator).
#[utoipa::path(post, path = "/api/v1/builds/{id}/cancel", tag = "builds", params(("id" = i64, Path, description = "build id")), security(("bearer" = [])),
    responses((status = 202, description = "the build is being aborted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "the build already ended", body = ErrorBody)))]
pub async fn cancel_build(State(state): State<AppState>, Caller(user): Caller, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    let (build, _, pipeline) = build_scope(&state, BuildId(id)).await?;
    require_role(&state, &user, pipeline.team_id, Role::Operator).await?;
    if build.status.is_terminal() {
        return Err(ApiError::conflict(format!("build {id} is already {}", build.status.as_str())));
    }
    let token = state.running.lock().unwrap().get(&BuildId(id)).cloned();
    match token {
        Some(token) => token.cancel(),
        // Not running yet: it never will.
        None => {
            state
                .store
                .finish_build(BuildId(id), pikoci_store::BuildStatus::Aborted, Some(&format!("aborted by {}", user.username)))
                .await
                .map_err(internal)?;
        }
    }
    Ok(StatusCode::ACCEPTED)
}

/// Run the build's job again with exactly the versions this build used (operator).
#[utoipa::path(post, path = "/api/v1/builds/{id}/retry", tag = "builds", params(("id" = i64, Path, description = "build id")), security(("bearer" = [])),
    responses((status = 201, description = "the new build", body = BuildView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the job sets `disable_retry`", body = ErrorBody)))]
pub async fn retry_build(State(state): State<AppState>, Caller(user): Caller, Path(id): Path<i64>) -> ApiResult<(StatusCode, Json<BuildView>)> {
    let (build, job, pipeline) = build_scope(&state, BuildId(id)).await?;
    require_role(&state, &user, pipeline.team_id, Role::Operator).await?;
    if state.pipelines.with_job(build.job_id, |_, j| j.disable_retry).unwrap_or(false) {
        return Err(ApiError::conflict(format!("job `{}` may not be retried: its pipeline sets `disable_retry = true`; trigger it instead", job.name)));
    }
    let new = state.store.rerun_build(build.id).await?;
    super::new_builds::created(&state, &new).await;
    Ok((StatusCode::CREATED, Json(BuildView::new(new, &job.name))))
}
