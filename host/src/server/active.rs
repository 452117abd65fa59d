//! The pipelines the server runs: each one's stored identity and its loaded plans.
//!
//! Variable values given with a pipeline stay in memory only (they may hold credentials, which
//! never reach the database in clear); the pipeline text is stored. A pipeline set through the
//! API needs its variables again after a restart, or comes back from --pipeline-config/--vars.

use super::state::AppState;
use crate::planner::{LoadedPipeline, VarValues};
use crate::plugin_source::{PluginLocator, RegistryAccess};
use pikoci_store::{JobId, PipelineId, ResourceId, TeamId};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub struct ActivePipeline {
    pub id: PipelineId,
    pub team_id: TeamId,
    pub loaded: LoadedPipeline,
    pub jobs: HashMap<String, JobId>,
    pub resources: HashMap<String, ResourceId>,
}

impl ActivePipeline {
    pub fn job_name(&self, id: JobId) -> Option<&str> {
        self.jobs.iter().find(|(_, j)| **j == id).map(|(n, _)| n.as_str())
    }
}

#[derive(Default, Clone)]
pub struct ActivePipelines(Arc<RwLock<HashMap<PipelineId, Arc<ActivePipeline>>>>);

impl ActivePipelines {
    pub fn all(&self) -> Vec<Arc<ActivePipeline>> {
        self.0.read().unwrap().values().cloned().collect()
    }

    pub fn get(&self, id: PipelineId) -> Option<Arc<ActivePipeline>> {
        self.0.read().unwrap().get(&id).cloned()
    }

    /// Stop running a pipeline (it was deleted).
    pub fn remove(&self, id: PipelineId) {
        self.0.write().unwrap().remove(&id);
    }

    pub fn by_job(&self, job: JobId) -> Option<Arc<ActivePipeline>> {
        self.0.read().unwrap().values().find(|p| p.jobs.values().any(|j| *j == job)).cloned()
    }
}

/// Validate and load `text`, then store it and make it the running version of the pipeline.
/// On any error nothing changes: the previous version keeps running.
pub async fn set_pipeline(state: &AppState, team: &str, name: &str, text: &str, vars: &VarValues) -> Result<Arc<ActivePipeline>, String> {
    let locator = PluginLocator::new(&state.cache_dir, RegistryAccess::default());
    let file = format!("pipeline {team}/{name}");
    let source = crate::planner::PipelineSource { file: &file, text, name, team, vars };
    let loaded = LoadedPipeline::load(source, &state.engine, &locator, &state.cache_dir.join("cache")).await?;
    let store = &state.store;
    let team_row = store.ensure_team(team).await.map_err(|e| e.to_string())?;
    let stored = store.set_pipeline(team_row.id, name, text).await.map_err(|e| e.to_string())?;
    let mut jobs = HashMap::new();
    for job in loaded.job_names() {
        jobs.insert(job.clone(), store.ensure_job(stored.id, &job).await.map_err(|e| e.to_string())?.id);
    }
    let mut resources = HashMap::new();
    for r in &loaded.resources {
        resources.insert(r.name.clone(), store.ensure_resource(stored.id, &r.name, &r.type_name).await.map_err(|e| e.to_string())?.id);
    }
    let active = Arc::new(ActivePipeline { id: stored.id, team_id: team_row.id, loaded, jobs, resources });
    state.pipelines.0.write().unwrap().insert(stored.id, active.clone());
    state.wake.notify_one();
    Ok(active)
}
