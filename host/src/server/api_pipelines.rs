//! A pipeline's own endpoints (get, delete, pause, expose, graph), its jobs, its builds, and its
//! resources with their versions, checks and pins.

use super::api::BuildView;
use super::api_common::{self as common, ApiError, ApiResult, ErrorBody};
use super::auth::{Caller, MaybeCaller};
use super::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use pikoci_store::{BuildId, Page, ResourceId, Role, VersionId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

const P: &str = "/api/v1/teams/{team}/pipelines/{name}";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(P, super::pipelines_api::put_route().get(get_pipeline).delete(delete_pipeline))
        .route(&format!("{P}/pause"), post(pause_pipeline))
        .route(&format!("{P}/unpause"), post(unpause_pipeline))
        .route(&format!("{P}/expose"), post(expose_pipeline))
        .route(&format!("{P}/hide"), post(hide_pipeline))
        .route(&format!("{P}/graph"), get(graph))
        .route(&format!("{P}/builds"), get(pipeline_builds))
        .route(&format!("{P}/jobs"), get(list_jobs))
        .route(&format!("{P}/jobs/{{job}}"), get(get_job))
        .route(&format!("{P}/jobs/{{job}}/pause"), post(pause_job))
        .route(&format!("{P}/jobs/{{job}}/unpause"), post(unpause_job))
        .route(&format!("{P}/jobs/{{job}}/builds/{{number}}"), get(job_build))
        .route(&format!("{P}/resources"), get(list_resources))
        .route(&format!("{P}/resources/{{resource}}"), get(get_resource))
        .route(&format!("{P}/resources/{{resource}}/versions"), get(resource_versions))
        .route(&format!("{P}/resources/{{resource}}/check"), post(check_resource))
        .route(&format!("{P}/resources/{{resource}}/pin"), put(pin_version).delete(unpin))
}

/// Ask the scheduler to check a resource at once.
pub fn check_soon(state: &AppState, id: ResourceId) {
    state.scheduler.check_now(id);
}

// ---- pipelines ----

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PipelineDetail {
    pub id: i64,
    pub team: String,
    pub name: String,
    pub paused: bool,
    pub public: bool,
    pub jobs: Vec<String>,
    pub resources: Vec<String>,
    /// The pipeline's HCL text as set (variable values are not part of it).
    pub config: String,
    /// Whether this server runs it now; false when it was set through the API before a
    /// restart and awaits its variables again.
    pub loaded: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[utoipa::path(get, path = "/api/v1/teams/{team}/pipelines/{name}", tag = "pipelines", params(("team" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = PipelineDetail), (status = 404, description = "no such thing, or one the caller may not see", body = ErrorBody)))]
pub async fn get_pipeline(State(state): State<AppState>, caller: MaybeCaller, Path((team, name)): Path<(String, String)>) -> ApiResult<Json<PipelineDetail>> {
    let p = common::readable_pipeline(&state, &caller, &team, &name).await?;
    let jobs = state.store.jobs(p.id).await?.into_iter().map(|j| j.name).collect();
    let resources = state.store.resources(p.id).await?.into_iter().map(|r| r.name).collect();
    Ok(Json(PipelineDetail {
        id: p.id.get(),
        team,
        name: p.name,
        paused: p.paused,
        public: p.public,
        jobs,
        resources,
        config: p.config,
        loaded: state.pipelines.get(p.id).is_some(),
        created_at: p.created_at,
        updated_at: p.updated_at,
    }))
}

/// Delete the pipeline with its jobs, resources, versions, builds and logs (owner).
#[utoipa::path(delete, path = "/api/v1/teams/{team}/pipelines/{name}", tag = "pipelines", security(("bearer" = [])), params(("team" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_pipeline(State(state): State<AppState>, Caller(user): Caller, Path((team, name)): Path<(String, String)>) -> ApiResult<StatusCode> {
    let p = common::pipeline_with_role(&state, &user, &team, &name, Role::Owner).await?;
    // Abort its running builds first: their rows are about to go.
    let jobs: Vec<_> = state.store.jobs(p.id).await?.into_iter().map(|j| j.id).collect();
    let running: Vec<(BuildId, _)> = state.running.lock().unwrap().iter().map(|(b, t)| (*b, t.clone())).collect();
    for (build, token) in running {
        if matches!(state.store.build(build).await?, Some(b) if jobs.contains(&b.job_id)) {
            token.cancel();
        }
    }
    state.store.delete_pipeline(p.id).await?;
    state.pipelines.remove(p.id);
    state.scheduler.pipeline_changed(p.id);
    Ok(StatusCode::NO_CONTENT)
}

async fn set_flag(
    state: &AppState,
    user: &pikoci_store::User,
    team: &str,
    name: &str,
    role: Role,
    set: impl AsyncFnOnce(&pikoci_store::Store, pikoci_store::PipelineId) -> pikoci_store::Result<()>,
) -> ApiResult<StatusCode> {
    let p = common::pipeline_with_role(state, user, team, name, role).await?;
    set(&state.store, p.id).await?;
    state.scheduler.pipeline_changed(p.id);
    Ok(StatusCode::NO_CONTENT)
}

/// Stop checking its resources and starting its builds (operator). Running builds go on.
#[utoipa::path(post, path = "/api/v1/teams/{team}/pipelines/{name}/pause", tag = "pipelines", security(("bearer" = [])), params(("team" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "paused"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn pause_pipeline(State(state): State<AppState>, Caller(user): Caller, Path((team, name)): Path<(String, String)>) -> ApiResult<StatusCode> {
    set_flag(&state, &user, &team, &name, Role::Operator, async |s, id| s.set_pipeline_paused(id, true).await).await
}

#[utoipa::path(post, path = "/api/v1/teams/{team}/pipelines/{name}/unpause", tag = "pipelines", security(("bearer" = [])), params(("team" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "unpaused"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unpause_pipeline(State(state): State<AppState>, Caller(user): Caller, Path((team, name)): Path<(String, String)>) -> ApiResult<StatusCode> {
    set_flag(&state, &user, &team, &name, Role::Operator, async |s, id| s.set_pipeline_paused(id, false).await).await
}

/// Make the pipeline readable without logging in (owner): its config, builds and logs.
#[utoipa::path(post, path = "/api/v1/teams/{team}/pipelines/{name}/expose", tag = "pipelines", security(("bearer" = [])), params(("team" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "public"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn expose_pipeline(State(state): State<AppState>, Caller(user): Caller, Path((team, name)): Path<(String, String)>) -> ApiResult<StatusCode> {
    set_flag(&state, &user, &team, &name, Role::Owner, async |s, id| s.set_pipeline_public(id, true).await).await
}

#[utoipa::path(post, path = "/api/v1/teams/{team}/pipelines/{name}/hide", tag = "pipelines", security(("bearer" = [])), params(("team" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "members only"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn hide_pipeline(State(state): State<AppState>, Caller(user): Caller, Path((team, name)): Path<(String, String)>) -> ApiResult<StatusCode> {
    set_flag(&state, &user, &team, &name, Role::Owner, async |s, id| s.set_pipeline_public(id, false).await).await
}

fn loaded(state: &AppState, p: &pikoci_store::Pipeline) -> ApiResult<std::sync::Arc<super::active::ActivePipeline>> {
    state.pipelines.get(p.id).ok_or_else(|| ApiError::conflict(format!("pipeline `{}` is not loaded on this server; set it again", p.name)))
}

/// DOT text of the pipeline: jobs as boxes, resources as ellipses; a resource points at the jobs
/// that get it freely, an upstream job at the downstream jobs whose gets are `passed` through it.
pub fn dot(name: &str, active: &super::active::ActivePipeline) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = format!("digraph {} {{\n  rankdir=LR;\n", q(name));
    for r in &active.compiled.resources {
        out += &format!("  {} [shape=ellipse, label={}];\n", q(&format!("resource:{}", r.name)), q(&r.name));
    }
    let mut jobs = active.compiled.job_names();
    jobs.sort();
    for job in &jobs {
        out += &format!("  {} [shape=box, label={}];\n", q(&format!("job:{job}")), q(job));
    }
    for job in &jobs {
        for get in active.compiled.job(job).map(|j| j.gets.clone()).unwrap_or_default() {
            let style = if get.trigger { "solid" } else { "dashed" };
            if get.passed.is_empty() {
                out += &format!("  {} -> {} [style={style}];\n", q(&format!("resource:{}", get.resource)), q(&format!("job:{job}")));
            }
            for upstream in &get.passed {
                out += &format!("  {} -> {} [label={}, style={style}];\n", q(&format!("job:{upstream}")), q(&format!("job:{job}")), q(&get.resource));
            }
        }
    }
    out + "}\n"
}

/// The pipeline as a Graphviz DOT graph (solid edges trigger, dashed ones do not).
#[utoipa::path(get, path = "/api/v1/teams/{team}/pipelines/{name}/graph", tag = "pipelines", params(("team" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "DOT text", content_type = "text/vnd.graphviz", body = String), (status = 404, description = "no such thing, or one the caller may not see", body = ErrorBody), (status = 409, description = "not loaded", body = ErrorBody)))]
pub async fn graph(State(state): State<AppState>, caller: MaybeCaller, Path((team, name)): Path<(String, String)>) -> ApiResult<impl IntoResponse> {
    let p = common::readable_pipeline(&state, &caller, &team, &name).await?;
    let active = loaded(&state, &p)?;
    Ok(([(header::CONTENT_TYPE, "text/vnd.graphviz; charset=utf-8")], dot(&p.name, &active)))
}

#[derive(Deserialize, IntoParams)]
pub struct Limit {
    /// How many, newest first (default 50, at most 500).
    limit: Option<u32>,
}

impl Limit {
    fn get(&self) -> u32 {
        self.limit.unwrap_or(50).clamp(1, 500)
    }
}

/// Builds of every job of the pipeline, newest first.
#[utoipa::path(get, path = "/api/v1/teams/{team}/pipelines/{name}/builds", tag = "builds", params(("team" = String, Path), ("name" = String, Path), Limit),
    responses((status = 200, body = [BuildView]), (status = 404, description = "no such thing, or one the caller may not see", body = ErrorBody)))]
pub async fn pipeline_builds(
    State(state): State<AppState>,
    caller: MaybeCaller,
    Path((team, name)): Path<(String, String)>,
    Query(limit): Query<Limit>,
) -> ApiResult<Json<Vec<BuildView>>> {
    let p = common::readable_pipeline(&state, &caller, &team, &name).await?;
    let mut all = Vec::new();
    for job in state.store.jobs(p.id).await? {
        for b in state.store.builds_of_job(job.id, Page::first(limit.get())).await? {
            all.push(BuildView::new(b, &job.name));
        }
    }
    all.sort_by_key(|b| std::cmp::Reverse(b.id));
    all.truncate(limit.get() as usize);
    Ok(Json(all))
}

// ---- jobs ----

/// A job's `get`, as the scheduler reads it.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct JobInputView {
    pub resource: String,
    /// A new version starts a build.
    pub trigger: bool,
    /// Only versions that went through these jobs successfully.
    pub passed: Vec<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct JobView {
    pub name: String,
    pub paused: bool,
    pub latest_build: Option<BuildView>,
    /// Empty when the pipeline is not loaded.
    pub inputs: Vec<JobInputView>,
}

async fn job_view(state: &AppState, p: &pikoci_store::Pipeline, job: pikoci_store::Job) -> ApiResult<JobView> {
    let latest_build = state.store.latest_build(job.id).await?.map(|b| BuildView::new(b, &job.name));
    let inputs = state
        .pipelines
        .get(p.id)
        .map(|a| {
            a.compiled
                .job(&job.name)
                .map(|j| j.gets.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|g| JobInputView { resource: g.resource, trigger: g.trigger, passed: g.passed })
                .collect()
        })
        .unwrap_or_default();
    Ok(JobView { name: job.name, paused: job.paused, latest_build, inputs })
}

/// The pipeline's jobs, each with its latest build.
#[utoipa::path(get, path = "/api/v1/teams/{team}/pipelines/{name}/jobs", tag = "jobs", params(("team" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = [JobView]), (status = 404, description = "no such thing, or one the caller may not see", body = ErrorBody)))]
pub async fn list_jobs(State(state): State<AppState>, caller: MaybeCaller, Path((team, name)): Path<(String, String)>) -> ApiResult<Json<Vec<JobView>>> {
    let p = common::readable_pipeline(&state, &caller, &team, &name).await?;
    let mut out = Vec::new();
    for job in state.store.jobs(p.id).await? {
        out.push(job_view(&state, &p, job).await?);
    }
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/v1/teams/{team}/pipelines/{name}/jobs/{job}", tag = "jobs", params(("team" = String, Path), ("name" = String, Path), ("job" = String, Path)),
    responses((status = 200, body = JobView), (status = 404, description = "no such thing, or one the caller may not see", body = ErrorBody)))]
pub async fn get_job(State(state): State<AppState>, caller: MaybeCaller, Path((team, name, job)): Path<(String, String, String)>) -> ApiResult<Json<JobView>> {
    let p = common::readable_pipeline(&state, &caller, &team, &name).await?;
    let j = common::job(&state, &p, &job).await?;
    Ok(Json(job_view(&state, &p, j).await?))
}

async fn set_job_paused(state: &AppState, user: &pikoci_store::User, (team, name, job): (String, String, String), paused: bool) -> ApiResult<StatusCode> {
    let p = common::pipeline_with_role(state, user, &team, &name, Role::Operator).await?;
    let j = common::job(state, &p, &job).await?;
    state.store.set_job_paused(j.id, paused).await?;
    state.scheduler.job_changed(j.id);
    Ok(StatusCode::NO_CONTENT)
}

/// No new builds of the job until unpaused (operator); manual triggers still work.
#[utoipa::path(post, path = "/api/v1/teams/{team}/pipelines/{name}/jobs/{job}/pause", tag = "jobs", security(("bearer" = [])),
    params(("team" = String, Path), ("name" = String, Path), ("job" = String, Path)),
    responses((status = 204, description = "paused"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn pause_job(State(state): State<AppState>, Caller(user): Caller, Path(at): Path<(String, String, String)>) -> ApiResult<StatusCode> {
    set_job_paused(&state, &user, at, true).await
}

#[utoipa::path(post, path = "/api/v1/teams/{team}/pipelines/{name}/jobs/{job}/unpause", tag = "jobs", security(("bearer" = [])),
    params(("team" = String, Path), ("name" = String, Path), ("job" = String, Path)),
    responses((status = 204, description = "unpaused"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unpause_job(State(state): State<AppState>, Caller(user): Caller, Path(at): Path<(String, String, String)>) -> ApiResult<StatusCode> {
    set_job_paused(&state, &user, at, false).await
}

/// A build of the job by its number.
#[utoipa::path(get, path = "/api/v1/teams/{team}/pipelines/{name}/jobs/{job}/builds/{number}", tag = "builds",
    params(("team" = String, Path), ("name" = String, Path), ("job" = String, Path), ("number" = i64, Path)),
    responses((status = 200, body = BuildView), (status = 404, description = "no such thing, or one the caller may not see", body = ErrorBody)))]
pub async fn job_build(
    State(state): State<AppState>,
    caller: MaybeCaller,
    Path((team, name, job, number)): Path<(String, String, String, i64)>,
) -> ApiResult<Json<BuildView>> {
    let p = common::readable_pipeline(&state, &caller, &team, &name).await?;
    let j = common::job(&state, &p, &job).await?;
    let b = state.store.build_by_number(j.id, number).await?.ok_or_else(|| ApiError::not_found(format!("no build {number} of job `{job}`")))?;
    Ok(Json(BuildView::new(b, &j.name)))
}

// ---- resources ----

#[derive(Serialize, Deserialize, ToSchema)]
pub struct VersionView {
    /// Used to pin this version.
    pub id: i64,
    pub version: BTreeMap<String, String>,
    #[schema(value_type = Vec<MetadataView>)]
    pub metadata: Vec<pikoci_store::MetadataField>,
    /// Higher is newer.
    pub check_order: i64,
    pub created_at: i64,
}

/// One line of a version's metadata.
#[derive(ToSchema)]
#[allow(dead_code)] // describes MetadataField in the spec only
pub struct MetadataView {
    name: String,
    value: String,
}

impl From<pikoci_store::ResourceVersion> for VersionView {
    fn from(v: pikoci_store::ResourceVersion) -> Self {
        VersionView { id: v.id.get(), version: v.version, metadata: v.metadata, check_order: v.check_order, created_at: v.created_at }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PinView {
    pub version: VersionView,
    pub comment: String,
    pub pinned_at: i64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ResourceView {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    /// Unix milliseconds of the last check, successful or not.
    pub last_check_at: Option<i64>,
    pub last_check_succeeded_at: Option<i64>,
    /// Why the last check failed; null after a successful one.
    pub last_check_error: Option<String>,
    pub next_check_at: Option<i64>,
    pub has_webhook: bool,
    /// While pinned, jobs get only this version.
    pub pinned: Option<PinView>,
}

async fn resource_view(state: &AppState, r: pikoci_store::Resource) -> ApiResult<ResourceView> {
    let pinned = state.store.pinned_version(r.id).await?.map(|p| PinView { version: p.version.into(), comment: p.comment, pinned_at: p.pinned_at });
    Ok(ResourceView {
        name: r.name,
        type_name: r.type_name,
        last_check_at: r.last_check_at,
        last_check_succeeded_at: r.last_check_succeeded_at,
        last_check_error: r.last_check_error,
        next_check_at: r.next_check_at,
        has_webhook: r.has_webhook_token,
        pinned,
    })
}

/// The pipeline's resources with how their checks go.
#[utoipa::path(get, path = "/api/v1/teams/{team}/pipelines/{name}/resources", tag = "resources", params(("team" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = [ResourceView]), (status = 404, description = "no such thing, or one the caller may not see", body = ErrorBody)))]
pub async fn list_resources(
    State(state): State<AppState>,
    caller: MaybeCaller,
    Path((team, name)): Path<(String, String)>,
) -> ApiResult<Json<Vec<ResourceView>>> {
    let p = common::readable_pipeline(&state, &caller, &team, &name).await?;
    let mut out = Vec::new();
    for r in state.store.resources(p.id).await? {
        out.push(resource_view(&state, r).await?);
    }
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/v1/teams/{team}/pipelines/{name}/resources/{resource}", tag = "resources",
    params(("team" = String, Path), ("name" = String, Path), ("resource" = String, Path)),
    responses((status = 200, body = ResourceView), (status = 404, description = "no such thing, or one the caller may not see", body = ErrorBody)))]
pub async fn get_resource(
    State(state): State<AppState>,
    caller: MaybeCaller,
    Path((team, name, resource)): Path<(String, String, String)>,
) -> ApiResult<Json<ResourceView>> {
    let p = common::readable_pipeline(&state, &caller, &team, &name).await?;
    let r = common::resource(&state, &p, &resource).await?;
    Ok(Json(resource_view(&state, r).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct VersionPage {
    /// How many, newest first (default 50, at most 500).
    limit: Option<u32>,
    /// Only versions older than the one with this id (the last id of the previous page).
    before: Option<i64>,
}

/// The resource's versions, newest first.
#[utoipa::path(get, path = "/api/v1/teams/{team}/pipelines/{name}/resources/{resource}/versions", tag = "resources",
    params(("team" = String, Path), ("name" = String, Path), ("resource" = String, Path), VersionPage),
    responses((status = 200, body = [VersionView]), (status = 404, description = "no such thing, or one the caller may not see", body = ErrorBody)))]
pub async fn resource_versions(
    State(state): State<AppState>,
    caller: MaybeCaller,
    Path((team, name, resource)): Path<(String, String, String)>,
    Query(page): Query<VersionPage>,
) -> ApiResult<Json<Vec<VersionView>>> {
    let p = common::readable_pipeline(&state, &caller, &team, &name).await?;
    let r = common::resource(&state, &p, &resource).await?;
    let page = Page { before: page.before.map(VersionId), limit: page.limit.unwrap_or(50).clamp(1, 500) };
    Ok(Json(state.store.versions(r.id, page).await?.into_iter().map(VersionView::from).collect()))
}

/// Check the resource now (operator); the outcome shows on the resource.
#[utoipa::path(post, path = "/api/v1/teams/{team}/pipelines/{name}/resources/{resource}/check", tag = "resources", security(("bearer" = [])),
    params(("team" = String, Path), ("name" = String, Path), ("resource" = String, Path)),
    responses((status = 202, description = "a check is on its way"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn check_resource(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((team, name, resource)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let p = common::pipeline_with_role(&state, &user, &team, &name, Role::Operator).await?;
    let r = common::resource(&state, &p, &resource).await?;
    check_soon(&state, r.id);
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
pub struct PinRequest {
    /// The version's `id` from the versions list.
    version_id: i64,
    /// Why it is pinned, for whoever wonders later.
    #[serde(default)]
    comment: String,
}

/// Pin the resource to one of its versions (operator).
#[utoipa::path(put, path = "/api/v1/teams/{team}/pipelines/{name}/resources/{resource}/pin", tag = "resources", security(("bearer" = [])), request_body = PinRequest,
    params(("team" = String, Path), ("name" = String, Path), ("resource" = String, Path)),
    responses((status = 200, body = ResourceView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "no such resource or version", body = ErrorBody)))]
pub async fn pin_version(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((team, name, resource)): Path<(String, String, String)>,
    Json(body): Json<PinRequest>,
) -> ApiResult<Json<ResourceView>> {
    let p = common::pipeline_with_role(&state, &user, &team, &name, Role::Operator).await?;
    let r = common::resource(&state, &p, &resource).await?;
    state.store.pin_version(r.id, VersionId(body.version_id), &body.comment).await?;
    state.scheduler.resource_changed(r.id);
    Ok(Json(resource_view(&state, r).await?))
}

#[utoipa::path(delete, path = "/api/v1/teams/{team}/pipelines/{name}/resources/{resource}/pin", tag = "resources", security(("bearer" = [])),
    params(("team" = String, Path), ("name" = String, Path), ("resource" = String, Path)),
    responses((status = 204, description = "unpinned"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "no such resource, or not pinned", body = ErrorBody)))]
pub async fn unpin(State(state): State<AppState>, Caller(user): Caller, Path((team, name, resource)): Path<(String, String, String)>) -> ApiResult<StatusCode> {
    let p = common::pipeline_with_role(&state, &user, &team, &name, Role::Operator).await?;
    let r = common::resource(&state, &p, &resource).await?;
    if !state.store.unpin(r.id).await? {
        return Err(ApiError::not_found(format!("resource `{resource}` is not pinned")));
    }
    state.scheduler.resource_changed(r.id);
    Ok(StatusCode::NO_CONTENT)
}
