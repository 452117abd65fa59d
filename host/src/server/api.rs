//! The HTTP API under `/api/v1`, plus `/metrics`, `/health` and `/ready`.

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

type ApiError = (StatusCode, String);

fn internal(e: impl std::fmt::Display) -> ApiError {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/api/v1/login", post(login))
        .route("/api/v1/builds/{id}", get(build))
        .route("/api/v1/builds/{id}/log", get(build_log))
        .route("/api/v1/builds/{id}/events", get(build_events))
        .route("/api/v1/builds/{id}/cancel", post(cancel_build))
        .merge(super::pipelines_api::routes())
        .with_state(state)
}

async fn ready(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store.ping().await.map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    Ok("ready")
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct LoginAnswer {
    token: String,
}

/// Exchange a password for an API token (sent as `Authorization: Bearer`). Tokens last 30 days.
async fn login(State(state): State<AppState>, Json(body): Json<Login>) -> Result<Json<LoginAnswer>, ApiError> {
    let user = state.store.verify_password(&body.username, &body.password).await.map_err(internal)?;
    let Some(user) = user else {
        return Err((StatusCode::UNAUTHORIZED, "wrong user name or password".into()));
    };
    let expires = pikoci_store::now_millis() + 30 * 24 * 3600 * 1000;
    let (_, token) = state.store.create_token(user.id, "login", Some(expires)).await.map_err(internal)?;
    Ok(Json(LoginAnswer { token }))
}

/// The team a build belongs to, and whether its pipeline is public.
async fn build_scope(state: &AppState, id: BuildId) -> Result<(pikoci_store::Build, pikoci_store::Pipeline), ApiError> {
    let build = state.store.build(id).await.map_err(internal)?.ok_or((StatusCode::NOT_FOUND, format!("no build {id}")))?;
    let job = state.store.job(build.job_id).await.map_err(internal)?.ok_or((StatusCode::NOT_FOUND, "the build's job is gone".into()))?;
    let pipeline = state
        .store
        .pipeline(job.pipeline_id)
        .await
        .map_err(internal)?
        .ok_or((StatusCode::NOT_FOUND, "the build's pipeline is gone".into()))?;
    Ok((build, pipeline))
}

/// Reading needs the viewer role, unless the pipeline is public.
async fn may_read(state: &AppState, caller: &MaybeCaller, pipeline: &pikoci_store::Pipeline) -> Result<(), ApiError> {
    if pipeline.public {
        return Ok(());
    }
    match &caller.0 {
        Some(user) => require_role(state, user, pipeline.team_id, Role::Viewer).await,
        None => Err((StatusCode::UNAUTHORIZED, "log in first: send `Authorization: Bearer <token>`".into())),
    }
}

#[derive(Serialize)]
pub struct BuildView {
    pub id: i64,
    pub number: i64,
    pub status: String,
    pub reason: Option<String>,
    pub worker: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl From<pikoci_store::Build> for BuildView {
    fn from(b: pikoci_store::Build) -> Self {
        BuildView {
            id: b.id.get(),
            number: b.number,
            status: b.status.as_str().to_string(),
            reason: b.reason,
            worker: b.worker,
            created_at: b.created_at,
            started_at: b.started_at,
            finished_at: b.finished_at,
        }
    }
}

async fn build(State(state): State<AppState>, caller: MaybeCaller, Path(id): Path<i64>) -> Result<Json<BuildView>, ApiError> {
    let (build, pipeline) = build_scope(&state, BuildId(id)).await?;
    may_read(&state, &caller, &pipeline).await?;
    Ok(Json(build.into()))
}

#[derive(Deserialize)]
struct After {
    #[serde(default)]
    after: i64,
}

#[derive(Serialize)]
pub struct LogView {
    pub seq: i64,
    pub kind: pikoci_store::LogKind,
    pub step: String,
    pub origin: String,
    pub text: String,
    pub at: i64,
}

impl From<LogLine> for LogView {
    fn from(l: LogLine) -> Self {
        LogView { seq: l.seq, kind: l.kind, step: l.step, origin: l.origin, text: l.text, at: l.at }
    }
}

async fn build_log(State(state): State<AppState>, caller: MaybeCaller, Path(id): Path<i64>, Query(q): Query<After>) -> Result<Json<Vec<LogView>>, ApiError> {
    let (_, pipeline) = build_scope(&state, BuildId(id)).await?;
    may_read(&state, &caller, &pipeline).await?;
    let lines = state.store.read_log(BuildId(id), q.after, 10_000).await.map_err(internal)?;
    Ok(Json(lines.into_iter().map(LogView::from).collect()))
}

/// The build's log as server-sent events, live: stored lines first, then new ones as they are
/// written, ending with an `end` event once the build is over and everything was sent.
async fn build_events(
    State(state): State<AppState>,
    caller: MaybeCaller,
    Path(id): Path<i64>,
    Query(q): Query<After>,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let (_, pipeline) = build_scope(&state, BuildId(id)).await?;
    may_read(&state, &caller, &pipeline).await?;
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

async fn cancel_build(State(state): State<AppState>, Caller(user): Caller, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    let (build, pipeline) = build_scope(&state, BuildId(id)).await?;
    require_role(&state, &user, pipeline.team_id, Role::Operator).await?;
    if build.status.is_terminal() {
        return Err((StatusCode::CONFLICT, format!("build {id} is already {}", build.status.as_str())));
    }
    let token = state.running.lock().unwrap().get(&BuildId(id)).cloned();
    match token {
        Some(token) => token.cancel(),
        // Not running yet: it never will.
        None => {
            state.store.finish_build(BuildId(id), pikoci_store::BuildStatus::Aborted, Some(&format!("aborted by {}", user.username))).await.map_err(internal)?;
        }
    }
    Ok(StatusCode::ACCEPTED)
}
