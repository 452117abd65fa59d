//! Pipelines, jobs, their builds, and resource webhooks over HTTP.

use super::active::set_pipeline;
use super::api::BuildView;
use super::auth::{require_role, Caller, MaybeCaller};
use super::state::AppState;
use crate::planner::VarValues;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use pikoci_store::{Page, Role};
use serde::{Deserialize, Serialize};

type ApiError = (StatusCode, String);

fn internal(e: impl std::fmt::Display) -> ApiError {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/teams/{team}/pipelines", get(list_pipelines))
        .route("/api/v1/teams/{team}/pipelines/{name}", put(put_pipeline))
        .route("/api/v1/teams/{team}/pipelines/{name}/jobs/{job}/builds", get(job_builds).post(trigger_job))
        .route("/api/v1/teams/{team}/pipelines/{name}/resources/{resource}/webhook_token", post(regenerate_webhook))
        .route("/webhooks/{token}", post(webhook))
}

#[derive(Deserialize)]
struct SetPipeline {
    /// The pipeline's HCL text.
    config: String,
    #[serde(default)]
    vars: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
struct PipelineView {
    id: i64,
    name: String,
    paused: bool,
    public: bool,
    jobs: Vec<String>,
}

async fn team_id(state: &AppState, team: &str) -> Result<pikoci_store::Team, ApiError> {
    state.store.team_by_name(team).await.map_err(internal)?.ok_or((StatusCode::NOT_FOUND, format!("no team `{team}`")))
}

/// Set (create or update) a pipeline. It is validated and every plugin resolved first; on any
/// error the answer says why and the previous version keeps running.
async fn put_pipeline(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((team, name)): Path<(String, String)>,
    Json(body): Json<SetPipeline>,
) -> Result<Json<PipelineView>, ApiError> {
    let team_row = state.store.ensure_team(&team).await.map_err(internal)?;
    require_role(&state, &user, team_row.id, Role::Owner).await?;
    let vars = VarValues(body.vars.into_iter().collect());
    let active = set_pipeline(&state, &team, &name, &body.config, &vars).await.map_err(|e| (StatusCode::BAD_REQUEST, e))?;
    Ok(Json(PipelineView { id: active.id.get(), name, paused: false, public: false, jobs: active.loaded.job_names() }))
}

async fn list_pipelines(State(state): State<AppState>, caller: MaybeCaller, Path(team): Path<String>) -> Result<Json<Vec<PipelineView>>, ApiError> {
    let team = team_id(&state, &team).await?;
    let can_see_all = match &caller.0 {
        Some(user) => require_role(&state, user, team.id, Role::Viewer).await.is_ok(),
        None => false,
    };
    let mut out = Vec::new();
    for p in state.store.pipelines(Some(team.id)).await.map_err(internal)? {
        if !can_see_all && !p.public {
            continue;
        }
        let jobs = state.store.jobs(p.id).await.map_err(internal)?.into_iter().map(|j| j.name).collect();
        out.push(PipelineView { id: p.id.get(), name: p.name, paused: p.paused, public: p.public, jobs });
    }
    Ok(Json(out))
}

async fn job_of(state: &AppState, team: &str, pipeline: &str, job: &str) -> Result<(pikoci_store::Pipeline, pikoci_store::Job), ApiError> {
    let team = team_id(state, team).await?;
    let p = state.store.pipeline_by_name(team.id, pipeline).await.map_err(internal)?.ok_or((StatusCode::NOT_FOUND, format!("no pipeline `{pipeline}`")))?;
    let j = state.store.job_by_name(p.id, job).await.map_err(internal)?.ok_or((StatusCode::NOT_FOUND, format!("no job `{job}` in `{pipeline}`")))?;
    Ok((p, j))
}

async fn job_builds(State(state): State<AppState>, caller: MaybeCaller, Path((team, pipeline, job)): Path<(String, String, String)>) -> Result<Json<Vec<BuildView>>, ApiError> {
    let (p, j) = job_of(&state, &team, &pipeline, &job).await?;
    if !p.public {
        let user = caller.0.ok_or((StatusCode::UNAUTHORIZED, "log in first: send `Authorization: Bearer <token>`".to_string()))?;
        require_role(&state, &user, p.team_id, Role::Viewer).await?;
    }
    let builds = state.store.builds_of_job(j.id, Page::first(100)).await.map_err(internal)?;
    Ok(Json(builds.into_iter().map(BuildView::from).collect()))
}

/// Start a build of a job now, with the versions its gets would use.
async fn trigger_job(State(state): State<AppState>, Caller(user): Caller, Path((team, pipeline, job)): Path<(String, String, String)>) -> Result<(StatusCode, Json<BuildView>), ApiError> {
    let (p, j) = job_of(&state, &team, &pipeline, &job).await?;
    require_role(&state, &user, p.team_id, Role::Operator).await?;
    let active = state.pipelines.get(p.id).ok_or((StatusCode::CONFLICT, format!("pipeline `{pipeline}` is not loaded; set it again")))?;
    let inputs = super::scheduler::choose_inputs(&state, &active, &job)
        .await
        .map_err(internal)?
        .ok_or((StatusCode::CONFLICT, "a resource of this job has no version yet; wait for its first check".to_string()))?;
    let build = state.store.create_build(j.id, &inputs).await.map_err(internal)?;
    state.wake.notify_waiters();
    Ok((StatusCode::CREATED, Json(build.into())))
}

/// `POST /webhooks/<token>`: check the resource now (as PikoCI does).
async fn webhook(State(state): State<AppState>, Path(token): Path<String>) -> Result<StatusCode, ApiError> {
    let resource = state.store.resource_by_webhook_token(&token).await.map_err(internal)?.ok_or((StatusCode::NOT_FOUND, "unknown webhook".to_string()))?;
    state.check_now.lock().unwrap().push(resource.id);
    state.wake.notify_waiters();
    Ok(StatusCode::ACCEPTED)
}

#[derive(Serialize)]
struct WebhookToken {
    token: String,
    url: String,
}

/// A new webhook token for a resource (the old one stops working); shown once, stored hashed.
async fn regenerate_webhook(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((team, pipeline, resource)): Path<(String, String, String)>,
) -> Result<Json<WebhookToken>, ApiError> {
    let team_row = team_id(&state, &team).await?;
    require_role(&state, &user, team_row.id, Role::Owner).await?;
    let p = state.store.pipeline_by_name(team_row.id, &pipeline).await.map_err(internal)?.ok_or((StatusCode::NOT_FOUND, format!("no pipeline `{pipeline}`")))?;
    let r = state.store.resource_by_name(p.id, &resource).await.map_err(internal)?.ok_or((StatusCode::NOT_FOUND, format!("no resource `{resource}`")))?;
    let token = state.store.regenerate_webhook_token(r.id).await.map_err(internal)?;
    Ok(Json(WebhookToken { url: format!("/webhooks/{token}"), token }))
}
