//! The pipelines the server runs: each one's stored identity and its compiled plan.
//!
//! Each set of a pipeline is compiled once and stored as a pipeline version (its plan, unless it
//! was set with variable values: those may hold credentials, which never reach the database in
//! clear, so such a plan is kept in memory only). A build runs the plan of the version it was
//! created from, even when the pipeline changed since.

use super::state::AppState;
use crate::planner::{self, CompiledJob, CompiledPipeline, Compiler, Fetch, VarValues};
use pikoci_store::{Build, JobId, PipelineId, PipelineParts, PipelineVersionId, ResourceId, SetPipeline, TeamId};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub struct ActivePipeline {
    pub id: PipelineId,
    pub team_id: TeamId,
    pub version: PipelineVersionId,
    pub compiled: Arc<CompiledPipeline>,
    pub jobs: HashMap<String, JobId>,
    pub resources: HashMap<String, ResourceId>,
}

impl ActivePipeline {
    pub fn job_name(&self, id: JobId) -> Option<&str> {
        self.jobs.iter().find(|(_, j)| **j == id).map(|(n, _)| n.as_str())
    }
}

#[derive(Default, Clone)]
pub struct ActivePipelines {
    current: Arc<RwLock<HashMap<PipelineId, Arc<ActivePipeline>>>>,
    /// Every version compiled by this process, stored or not.
    versions: Arc<RwLock<HashMap<PipelineVersionId, Arc<CompiledPipeline>>>>,
}

impl ActivePipelines {
    pub fn all(&self) -> Vec<Arc<ActivePipeline>> {
        self.current.read().unwrap().values().cloned().collect()
    }

    pub fn get(&self, id: PipelineId) -> Option<Arc<ActivePipeline>> {
        self.current.read().unwrap().get(&id).cloned()
    }

    /// Stop running a pipeline (it was deleted).
    pub fn remove(&self, id: PipelineId) {
        self.current.write().unwrap().remove(&id);
    }

    pub fn by_job(&self, job: JobId) -> Option<Arc<ActivePipeline>> {
        self.current.read().unwrap().values().find(|p| p.jobs.values().any(|j| *j == job)).cloned()
    }

    /// `read` of the current compiled form of `job` and its pipeline.
    pub fn with_job<T>(&self, job: JobId, read: impl FnOnce(&ActivePipeline, &CompiledJob) -> T) -> Option<T> {
        let pipeline = self.by_job(job)?;
        let compiled = pipeline.compiled.job(pipeline.job_name(job)?)?;
        Some(read(&pipeline, compiled))
    }

    /// The plan `build` runs: its pipeline version's, from memory or the store.
    pub async fn plan_of(&self, state: &AppState, build: &Build) -> Result<Arc<CompiledPipeline>, String> {
        let Some(version) = build.pipeline_version else {
            return Err("the build was created before pipelines had versions; trigger it again".into());
        };
        if let Some(found) = self.versions.read().unwrap().get(&version) {
            return Ok(found.clone());
        }
        match state.store.pipeline_plan(version).await.map_err(|e| e.to_string())? {
            Some(json) => {
                let compiled: CompiledPipeline = serde_json::from_str(&json).map_err(|e| format!("the stored plan of pipeline version {version} cannot be read: {e}"))?;
                let compiled = Arc::new(compiled);
                self.versions.write().unwrap().insert(version, compiled.clone());
                Ok(compiled)
            }
            None => Err(format!("the plan of pipeline version {version} is not on this server (it was set with variables, which are kept in memory only); set the pipeline again")),
        }
    }
}

/// At start-up: run again every stored pipeline whose current version's plan is stored, as it
/// was compiled (no plugin is fetched again: they are named by digest). Returns how many; those
/// set with variables (kept in memory only) are named in the log and wait to be set again.
pub async fn restore_pipelines(state: &AppState) -> Result<usize, String> {
    let mut restored = 0;
    for pipeline in state.store.pipelines(None).await.map_err(|e| e.to_string())? {
        let Some(version) = pipeline.current_version else {
            tracing::warn!(pipeline = %pipeline.name, "set before pipelines had versions: set it again to run it");
            continue;
        };
        let compiled = match state.store.pipeline_plan(version).await.map_err(|e| e.to_string())? {
            Some(json) => match serde_json::from_str::<CompiledPipeline>(&json) {
                Ok(compiled) => Arc::new(compiled),
                Err(e) => {
                    tracing::warn!(pipeline = %pipeline.name, error = %e, "the stored plan cannot be read; set the pipeline again");
                    continue;
                }
            },
            None => {
                tracing::warn!(pipeline = %pipeline.name, "set with variables, which are kept in memory only: set it again to run it");
                continue;
            }
        };
        let store = &state.store;
        let jobs =
            store.jobs(pipeline.id).await.map_err(|e| e.to_string())?.into_iter().filter(|j| compiled.job(&j.name).is_some()).map(|j| (j.name, j.id)).collect();
        let resources = store
            .resources(pipeline.id)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|r| compiled.resource(&r.name).is_some())
            .map(|r| (r.name, r.id))
            .collect();
        state.pipelines.versions.write().unwrap().insert(version, compiled.clone());
        let active = Arc::new(ActivePipeline { id: pipeline.id, team_id: pipeline.team_id, version, compiled, jobs, resources });
        state.pipelines.current.write().unwrap().insert(pipeline.id, active);
        restored += 1;
    }
    Ok(restored)
}

/// Validate and compile `text`, then store it as the pipeline's new version and run it.
/// On any error nothing changes: the previous version keeps running.
pub async fn set_pipeline(state: &AppState, team: &str, name: &str, text: &str, vars: &VarValues) -> Result<Arc<ActivePipeline>, String> {
    let file = format!("pipeline {team}/{name}");
    let source = planner::PipelineSource { file: &file, text, name, team, vars };
    let compiler = Compiler { plugins: &state.plugins, locator: &state.locator, fetch: Fetch::Remote };
    let compiled = Arc::new(planner::load(source, &compiler).await?);
    // Values given for variables may be credentials: such a plan stays in memory.
    let stored_plan = if vars.names().next().is_none() { Some(serde_json::to_string(&*compiled).map_err(|e| e.to_string())?) } else { None };
    let store = &state.store;
    let team_row = store.ensure_team(team).await.map_err(|e| e.to_string())?;
    let parts = PipelineParts { jobs: compiled.job_names(), resources: compiled.resources.iter().map(|r| (r.name.clone(), r.type_name.clone())).collect() };
    let SetPipeline { pipeline: stored, jobs, resources } =
        store.set_pipeline_with(team_row.id, name, text, stored_plan.as_deref(), Some(&parts)).await.map_err(|e| e.to_string())?;
    let version = stored.current_version.ok_or("the store did not record the pipeline's version")?;
    // Known before any build of the version can be looked for (one may be created from now on).
    state.pipelines.versions.write().unwrap().insert(version, compiled.clone());
    let active = Arc::new(ActivePipeline { id: stored.id, team_id: team_row.id, version, compiled, jobs, resources });
    state.pipelines.current.write().unwrap().insert(stored.id, active.clone());
    state.scheduler.pipeline_changed(stored.id);
    Ok(active)
}
