//! The scheduler: checks resources on their intervals, records new versions, and creates builds
//! of the jobs they trigger, including downstream jobs through `passed` as soon as an upstream
//! build succeeds (the worker wakes the scheduler when a build ends).

use super::active::ActivePipeline;
use super::state::AppState;
use crate::executor::grants::{self, CallValues};
use crate::planner::ResourceDef;
use crate::runtime::{Capabilities, MemoryLog};
use pikoci_store::{BuildInput, CheckRecord, MetadataField, NewVersion, ResourceId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a resource with no `check_interval` is checked (Concourse's default).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// A check that takes longer is stopped and recorded as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// When a resource is due next: `@every` durations; cron expressions are checked every minute
/// (a check finding nothing new is cheap), to be refined with a cron evaluator.
fn interval(resource: &ResourceDef) -> Duration {
    match resource.check_interval.as_deref().and_then(|i| i.strip_prefix("@every ")) {
        Some(every) => humantime::parse_duration(every.trim()).unwrap_or(DEFAULT_INTERVAL),
        None => DEFAULT_INTERVAL,
    }
}

pub async fn run(state: AppState) {
    let mut next_check: HashMap<ResourceId, Instant> = HashMap::new();
    let mut failures: HashMap<ResourceId, u32> = HashMap::new();
    loop {
        if state.shutdown.is_cancelled() {
            return;
        }
        let forced: Vec<ResourceId> = std::mem::take(&mut *state.check_now.lock().unwrap());
        for pipeline in state.pipelines.all() {
            if matches!(state.store.pipeline(pipeline.id).await, Ok(Some(p)) if p.paused) {
                continue;
            }
            for resource in &pipeline.loaded.resources {
                let Some(&id) = pipeline.resources.get(&resource.name) else { continue };
                let due = forced.contains(&id) || next_check.get(&id).is_none_or(|t| Instant::now() >= *t);
                if !due {
                    continue;
                }
                let ok = check(&state, &pipeline, resource, id).await;
                // Failing checks back off: 2x per failure, up to 10 intervals.
                let streak = if ok { 0 } else { failures.get(&id).copied().unwrap_or(0) + 1 };
                failures.insert(id, streak);
                next_check.insert(id, Instant::now() + interval(resource) * 2u32.pow(streak.min(3)).min(10));
            }
            for job in pipeline.jobs.keys() {
                if let Err(e) = trigger(&state, &pipeline, job).await {
                    tracing::warn!(pipeline = %pipeline.loaded.name, job, error = %e, "cannot schedule job");
                }
            }
        }
        // Builds created by anyone (this tick, the API) are the worker's to pick up now.
        state.wake_worker.notify_one();
        tokio::select! {
            _ = state.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = state.shutdown.cancelled() => return,
        }
    }
}

/// Check one resource; records the result on it. Returns whether the check succeeded.
async fn check(state: &AppState, pipeline: &ActivePipeline, resource: &ResourceDef, id: ResourceId) -> bool {
    let started = Instant::now();
    let outcome = async {
        let (plugin, source) = pipeline.loaded.resource_plugin(&resource.name)?;
        let last = state.store.latest_version(id).await.map_err(|e| e.to_string())?.map(|v| crate::runtime::Version(v.version));
        let mut caps: Capabilities = grants::for_call(&plugin, &CallValues { source: Some(&source), ..Default::default() }, &[]);
        caps.timeout = caps.timeout.min(CHECK_TIMEOUT);
        let log = Arc::new(MemoryLog::default());
        let versions = plugin.plugin.check(&caps, log, &source, last.as_ref()).await.map_err(|e| e.to_string())?;
        let new: Vec<NewVersion> = versions.into_iter().map(|v| NewVersion { version: v.0, metadata: Vec::<MetadataField>::new() }).collect();
        state.store.save_versions(id, &new).await.map_err(|e| e.to_string())
    }
    .await;
    state.metrics.check_duration.observe(started.elapsed().as_secs_f64());
    let now = pikoci_store::now_millis();
    let next = now + interval(resource).as_millis() as i64;
    let (ok, error) = match &outcome {
        Ok(new) => {
            if !new.is_empty() {
                tracing::info!(resource = %resource.name, new = new.len(), "new versions");
            }
            (true, None)
        }
        Err(e) => {
            tracing::warn!(resource = %resource.name, error = %e, "check failed");
            (false, Some(e.clone()))
        }
    };
    let _ = state.store.record_check(id, &CheckRecord { at: now, error, next_check_at: Some(next) }).await;
    ok
}

/// Create a build of `job` when a triggering input has a version its last build did not use.
async fn trigger(state: &AppState, pipeline: &ActivePipeline, job: &str) -> Result<(), String> {
    let gets = pipeline.loaded.gets_of(job);
    if !gets.iter().any(|g| g.trigger) {
        return Ok(());
    }
    let job_id = pipeline.jobs[job];
    let store = &state.store;
    if store.job(job_id).await.map_err(|e| e.to_string())?.is_some_and(|j| j.paused) {
        return Ok(());
    }
    let last = store.latest_build(job_id).await.map_err(|e| e.to_string())?;
    // One build of a job at a time (PikoCI's default concurrency).
    if last.as_ref().is_some_and(|b| !b.status.is_terminal()) {
        return Ok(());
    }
    let inputs = match choose_inputs(state, pipeline, job).await? {
        Some(inputs) => inputs,
        None => return Ok(()),
    };
    let used = match &last {
        Some(b) => store.build_versions(b.id).await.map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    let changed = gets.iter().filter(|g| g.trigger).any(|g| {
        let chosen = inputs.iter().find(|i| i.name == g.resource).map(|i| i.version);
        let before = used.iter().find(|u| u.name == g.resource).map(|u| u.version.id);
        chosen != before
    });
    if changed {
        let build = store.create_build(job_id, &inputs).await.map_err(|e| e.to_string())?;
        tracing::info!(pipeline = %pipeline.loaded.name, job, build = build.number, "triggered");
        state.wake_worker.notify_one();
    }
    Ok(())
}

/// The version each get of `job` would use now: the latest, or the latest that went through
/// every job in its `passed`. `None` while some get has no such version yet.
pub async fn choose_inputs(state: &AppState, pipeline: &ActivePipeline, job: &str) -> Result<Option<Vec<BuildInput>>, String> {
    let mut inputs = Vec::new();
    for get in pipeline.loaded.gets_of(job) {
        let Some(&resource) = pipeline.resources.get(&get.resource) else { continue };
        // A pinned version wins over everything: the job keeps using it until unpinned.
        let pinned = state.store.pinned_version(resource).await.map_err(|e| e.to_string())?.map(|pin| pin.version);
        let version = if pinned.is_some() {
            pinned
        } else if get.passed.is_empty() {
            state.store.latest_version(resource).await.map_err(|e| e.to_string())?
        } else {
            let upstream: Vec<_> = get.passed.iter().filter_map(|j| pipeline.jobs.get(j).copied()).collect();
            state.store.versions_passed(resource, &upstream, 1).await.map_err(|e| e.to_string())?.into_iter().next()
        };
        let Some(version) = version else { return Ok(None) };
        inputs.push(BuildInput { name: get.resource.clone(), resource, version: version.id, passed: !get.passed.is_empty() });
    }
    Ok(Some(inputs))
}
