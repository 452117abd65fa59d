//! Setting and listing pipelines, a job's builds and triggering it, and resource webhooks.

use super::active::set_pipeline;
use super::api::BuildView;
use super::api_common::{self as common, ApiError, ApiResult, ErrorBody};
use super::auth::{require_role, Caller, MaybeCaller};
use super::state::AppState;
use crate::planner::VarValues;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use pikoci_store::{Page, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/teams/{team}/pipelines", get(list_pipelines))
        .route("/api/v1/teams/{team}/pipelines/{name}/jobs/{job}/builds", get(job_builds).post(trigger_job))
        .route("/api/v1/teams/{team}/pipelines/{name}/resources/{resource}/webhook_token", post(regenerate_webhook))
        .route("/webhooks/{token}", post(webhook))
}

/// `put` is routed with the pipeline's other methods in `api_pipelines`.
pub fn put_route() -> axum::routing::MethodRouter<AppState> {
    put(put_pipeline)
}

#[derive(Deserialize, ToSchema)]
pub struct SetPipeline {
    /// The pipeline's HCL text.
    config: String,
    /// Values for its `variable`s; kept in memory only (never stored), so set them again after a restart.
    #[serde(default)]
    #[schema(value_type = Object)]
    vars: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PipelineView {
    pub id: i64,
    pub name: String,
    pub paused: bool,
    /// Readable without logging in.
    pub public: bool,
    pub jobs: Vec<String>,
}

/// Set (create or update) a pipeline (owner). It is validated and every plugin resolved first;
/// on any error the answer says why and the previous version keeps running.
#[utoipa::path(put, path = "/api/v1/teams/{team}/pipelines/{name}", tag = "pipelines", request_body = SetPipeline, security(("bearer" = [])),
    params(("team" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = PipelineView), (status = 400, description = "the pipeline is invalid; why", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn put_pipeline(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((team, name)): Path<(String, String)>,
    Json(body): Json<SetPipeline>,
) -> ApiResult<Json<PipelineView>> {
    // Only an admin may bring a new team into being this way; an owner needs the team to exist.
    let team_row = match state.store.team_by_name(&team).await? {
        Some(t) => t,
        None if user.is_admin => state.store.ensure_team(&team).await?,
        None => return Err(ApiError::not_found(format!("no team `{team}`"))),
    };
    require_role(&state, &user, team_row.id, Role::Owner).await?;
    let mut vars = VarValues::new();
    for (name, value) in body.vars {
        vars.insert(name, value);
    }
    let active = set_pipeline(&state, &team, &name, &body.config, &vars).await.map_err(ApiError::bad_request)?;
    let stored = state.store.pipeline(active.id).await?.ok_or_else(|| ApiError::not_found(format!("pipeline `{name}` vanished")))?;
    Ok(Json(PipelineView { id: active.id.get(), name, paused: stored.paused, public: stored.public, jobs: active.compiled.job_names() }))
}

/// The team's pipelines: all of them for its members, the public ones for everyone else.
#[utoipa::path(get, path = "/api/v1/teams/{team}/pipelines", tag = "pipelines", params(("team" = String, Path)),
    responses((status = 200, body = [PipelineView]), (status = 404, body = ErrorBody)))]
pub async fn list_pipelines(State(state): State<AppState>, caller: MaybeCaller, Path(team): Path<String>) -> ApiResult<Json<Vec<PipelineView>>> {
    let team = common::team(&state, &team).await?;
    let can_see_all = match &caller.0 {
        Some(user) => require_role(&state, user, team.id, Role::Viewer).await.is_ok(),
        None => false,
    };
    let mut out = Vec::new();
    for p in state.store.pipelines(Some(team.id)).await? {
        if !can_see_all && !p.public {
            continue;
        }
        let jobs = state.store.jobs(p.id).await?.into_iter().map(|j| j.name).collect();
        out.push(PipelineView { id: p.id.get(), name: p.name, paused: p.paused, public: p.public, jobs });
    }
    Ok(Json(out))
}

/// The job's builds, newest first (the last 100).
#[utoipa::path(get, path = "/api/v1/teams/{team}/pipelines/{name}/jobs/{job}/builds", tag = "builds",
    params(("team" = String, Path), ("name" = String, Path), ("job" = String, Path)),
    responses((status = 200, body = [BuildView]), (status = 404, description = "no such thing, or one the caller may not see", body = ErrorBody)))]
pub async fn job_builds(
    State(state): State<AppState>,
    caller: MaybeCaller,
    Path((team, pipeline, job)): Path<(String, String, String)>,
) -> ApiResult<Json<Vec<BuildView>>> {
    let p = common::readable_pipeline(&state, &caller, &team, &pipeline).await?;
    let j = common::job(&state, &p, &job).await?;
    let builds = state.store.builds_of_job(j.id, Page::first(100)).await?;
    Ok(Json(builds.into_iter().map(|b| BuildView::new(b, &j.name)).collect()))
}

/// What a manual trigger may give: values for the job's `input` blocks.
#[derive(serde::Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TriggerBody {
    /// By input name; steps see each as `$INPUT_<NAME>`. An input left out takes its default;
    /// one without a default must be given.
    #[serde(default)]
    pub input_values: std::collections::BTreeMap<String, String>,
}

/// Start a build of a job now, with the versions its gets would use (operator).
#[utoipa::path(post, path = "/api/v1/teams/{team}/pipelines/{name}/jobs/{job}/builds", tag = "jobs", security(("bearer" = [])),
    params(("team" = String, Path), ("name" = String, Path), ("job" = String, Path)),
    request_body(content = Option<TriggerBody>, description = "values for the job's inputs (optional)"),
    responses((status = 201, description = "the new build", body = BuildView), (status = 400, description = "an input value the job does not take", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "not loaded, or an input has no version yet", body = ErrorBody)))]
pub async fn trigger_job(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((team, pipeline, job)): Path<(String, String, String)>,
    body: Option<Json<TriggerBody>>,
) -> ApiResult<(StatusCode, Json<BuildView>)> {
    let p = common::pipeline_with_role(&state, &user, &team, &pipeline, Role::Operator).await?;
    let j = common::job(&state, &p, &job).await?;
    let active = state.pipelines.get(p.id).ok_or_else(|| ApiError::conflict(format!("pipeline `{pipeline}` is not loaded; set it again")))?;
    let values = body.map(|Json(b)| b.input_values).unwrap_or_default();
    let declared = active.compiled.job(&job).map(|c| c.inputs.as_slice()).unwrap_or_default();
    if let Some(why) = refused_input_values(declared, &values) {
        return Err(ApiError::bad_request(why));
    }
    let inputs = super::scheduler::choose_inputs(&state, &active, &job)
        .await
        .map_err(common::internal)?
        .ok_or_else(|| ApiError::conflict("a resource of this job has no version yet; wait for its first check"))?;
    let build = state.store.create_build_with_values(j.id, &inputs, &values).await?;
    super::new_builds::created(&state, &build).await;
    Ok((StatusCode::CREATED, Json(BuildView::new(build, &j.name))))
}

/// Why a manual trigger's input values do not fit the job's `input` blocks: an unknown name, a
/// value of the wrong type or outside its options, a required one missing.
fn refused_input_values(declared: &[pikoci_pipeline::JobInput], values: &std::collections::BTreeMap<String, String>) -> Option<String> {
    if let Some(unknown) = values.keys().find(|k| !declared.iter().any(|i| &i.name == *k)) {
        let names: Vec<String> = declared.iter().map(|i| format!("`{}`", i.name)).collect();
        let takes = if names.is_empty() { "no inputs".to_string() } else { format!("the inputs {}", names.join(", ")) };
        return Some(format!("the job has no input `{unknown}`; it takes {takes}"));
    }
    for input in declared {
        match values.get(&input.name) {
            Some(value) => {
                if let Some(why) = input.refuses(value) {
                    return Some(why);
                }
            }
            None if input.default.is_none() => return Some(format!("input `{}` is required: it has no default", input.name)),
            None => {}
        }
    }
    None
}

/// Check the resource now (as PikoCI does). The token in the URL is the only credential.
#[utoipa::path(post, path = "/webhooks/{token}", tag = "resources", params(("token" = String, Path, description = "the resource's webhook token")),
    responses((status = 202, description = "a check is on its way"), (status = 404, description = "unknown webhook", body = ErrorBody)))]
pub async fn webhook(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<StatusCode> {
    let resource = state.store.resource_by_webhook_token(&token).await?.ok_or_else(|| ApiError::not_found("unknown webhook"))?;
    super::api_pipelines::check_soon(&state, resource.id);
    Ok(StatusCode::ACCEPTED)
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct WebhookToken {
    /// Shown this once; the server keeps only its hash.
    pub token: String,
    /// Path to POST to, on this server.
    pub url: String,
}

/// A new webhook token for a resource (owner); the old one stops working.
#[utoipa::path(post, path = "/api/v1/teams/{team}/pipelines/{name}/resources/{resource}/webhook_token", tag = "resources", security(("bearer" = [])),
    params(("team" = String, Path), ("name" = String, Path), ("resource" = String, Path)),
    responses((status = 200, body = WebhookToken), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn regenerate_webhook(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((team, pipeline, resource)): Path<(String, String, String)>,
) -> ApiResult<Json<WebhookToken>> {
    let p = common::pipeline_with_role(&state, &user, &team, &pipeline, Role::Owner).await?;
    let r = common::resource(&state, &p, &resource).await?;
    let token = state.store.regenerate_webhook_token(r.id).await?;
    Ok(Json(WebhookToken { url: format!("/webhooks/{token}"), token }))
}
