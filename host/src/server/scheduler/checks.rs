//! The scheduler: checks resources on their intervals, records new versions, and creates builds
//! of the jobs they trigger, including downstream jobs through `passed` as soon as an upstream
//! build succeeds (the worker wakes the scheduler when a build ends).

use super::active::ActivePipeline;
use super::state::AppState;
use crate::executor::{ExecOptions, MemoryEvents, ResourceBackend};
use crate::planner::CompiledResource;
use crate::runtime::Version;
use pikoci_store::{BuildInput, CheckRecord, MetadataField, NewVersion, ResourceId, TeamId, TriggerEventId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a resource with no `check_interval` is checked (Concourse's default).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// The first retry of a failed check; each further failure doubles it, up to the interval.
const FIRST_RETRY: Duration = Duration::from_secs(5);

/// How checks run: at most `concurrency` at once, each stopped after `timeout`.
#[derive(Clone, Copy, Debug)]
pub struct CheckLimits {
    pub concurrency: usize,
    pub timeout: Duration,
}

impl Default for CheckLimits {
    fn default() -> Self {
        CheckLimits { concurrency: 8, timeout: Duration::from_secs(120) }
    }
}

/// How long after a check that ended now the resource is due again: its interval (or cron
/// schedule); after `failures` failures in a row, sooner, backing off: 5 s, 10 s, 20 s... up to it.
fn next_check_in(resource: &CompiledResource, failures: u32) -> Duration {
    let interval = resource.check_interval.as_ref().map_or(DEFAULT_INTERVAL, |i| i.until_next(&chrono::Local::now()));
    if failures == 0 {
        return interval;
    }
    FIRST_RETRY.saturating_mul(1 << (failures - 1).min(16)).min(interval)
}

/// When each resource is due, and which are being checked now.
#[derive(Default)]
struct CheckTimes {
    due: HashMap<ResourceId, Instant>,
    failures: HashMap<ResourceId, u32>,
    running: std::collections::HashSet<ResourceId>,
}

pub async fn run(state: AppState) {
    let times = Arc::new(Mutex::new(CheckTimes::default()));
    let slots = Arc::new(tokio::sync::Semaphore::new(state.check_limits.concurrency.max(1)));
    loop {
        if state.shutdown.is_cancelled() {
            return;
        }
        let forced: Vec<ResourceId> = std::mem::take(&mut *state.check_now.lock().unwrap());
        for pipeline in state.pipelines.all() {
            if matches!(state.store.pipeline(pipeline.id).await, Ok(Some(p)) if p.paused) {
                continue;
            }
            for resource in &pipeline.compiled.resources {
                let Some(&id) = pipeline.resources.get(&resource.name) else { continue };
                let mut t = times.lock().unwrap();
                if t.running.contains(&id) {
                    // A webhook during a check may announce what that check already missed.
                    if forced.contains(&id) {
                        state.check_now.lock().unwrap().push(id);
                    }
                    continue;
                }
                let due = forced.contains(&id) || t.due.get(&id).is_none_or(|at| Instant::now() >= *at);
                if !due {
                    continue;
                }
                t.running.insert(id);
                drop(t);
                let (state, pipeline, resource, times, slots) = (state.clone(), pipeline.clone(), resource.clone(), times.clone(), slots.clone());
                tokio::spawn(async move {
                    let Ok(_slot) = slots.acquire_owned().await else { return };
                    let previous = times.lock().unwrap().failures.get(&id).copied().unwrap_or(0);
                    let checked = check(&state, &pipeline, &resource, id, previous).await;
                    let mut t = times.lock().unwrap();
                    t.failures.insert(id, if checked.new_versions.is_some() { 0 } else { previous + 1 });
                    t.due.insert(id, Instant::now() + checked.next_in);
                    t.running.remove(&id);
                    drop(t);
                    // New versions may trigger jobs: schedule them now, not at the next tick.
                    if checked.new_versions.is_some_and(|n| n > 0) {
                        state.wake.notify_one();
                    }
                });
            }
            for job in pipeline.jobs.keys() {
                if let Err(e) = trigger(&state, &pipeline, job).await {
                    tracing::warn!(pipeline = %pipeline.compiled.name, job, error = %e, "cannot schedule job");
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

/// What a check came to.
struct Checked {
    /// How many versions it found that were not stored yet; None when it failed.
    new_versions: Option<usize>,
    /// When the resource is due again.
    next_in: Duration,
}

/// Check one resource and record the result on it (error, time, next check). `failures` is how
/// many checks before this one failed in a row.
async fn check(state: &AppState, pipeline: &ActivePipeline, resource: &CompiledResource, id: ResourceId, failures: u32) -> Checked {
    let started = Instant::now();
    let limits = state.check_limits;
    let outcome = async {
        let last = state.store.latest_version(id).await.map_err(|e| e.to_string())?.map(|v| crate::runtime::Version(v.version));
        let new = match &resource.backend {
            ResourceBackend::Trigger { stream } => trigger_events(state, pipeline.team_id, stream, last.as_ref()).await?,
            _ => {
                // A check is a step like a build's: its secrets, grants and cache the same way.
                let plan = pipeline.compiled.check_plan(&resource.name).ok_or("the resource is no longer in its pipeline")?;
                let options = ExecOptions::new(state.plugins.clone(), state.cache_dir.join("cache"));
                let run = crate::executor::run_check(&plan, last.as_ref(), Arc::new(MemoryEvents::default()), options);
                tokio::time::timeout(limits.timeout, run)
                    .await
                    .map_err(|_| format!("the check took longer than {}", humantime::format_duration(limits.timeout)))??
            }
        };
        let new: Vec<NewVersion> = new.into_iter().map(|v| NewVersion { version: v.0, metadata: Vec::<MetadataField>::new() }).collect();
        state.store.save_versions(id, &new).await.map_err(|e| e.to_string())
    };
    // The plugin's own deadline stops a runaway guest; this one also bounds the database and a
    // plugin blocked in a host call.
    let outcome = match tokio::time::timeout(limits.timeout + Duration::from_secs(5), outcome).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("the check took longer than {}", humantime::format_duration(limits.timeout))),
    };
    state.metrics.check_duration.observe(started.elapsed().as_secs_f64());
    let now = pikoci_store::now_millis();
    let (new_versions, error) = match &outcome {
        Ok(new) => {
            if !new.is_empty() {
                tracing::info!(resource = %resource.name, new = new.len(), "new versions");
            }
            (Some(new.len()), None)
        }
        Err(e) => {
            tracing::warn!(resource = %resource.name, error = %e, "check failed");
            (None, Some(e.clone()))
        }
    };
    let next_in = next_check_in(resource, if new_versions.is_some() { 0 } else { failures + 1 });
    let next_check_at = Some(now + next_in.as_millis() as i64);
    let _ = state.store.record_check(id, &CheckRecord { at: now, error, next_check_at }).await;
    Checked { new_versions, next_in }
}

/// The version field that orders a trigger stream's events.
pub const TRIGGER_EVENT_FIELD: &str = "trigger_event";

/// A trigger resource's check: the team's events on its stream after the last one seen, each a
/// version (its payload and its id); the first check takes only the newest, as PikoCI's first
/// checks do.
async fn trigger_events(state: &AppState, team: TeamId, stream: &str, last: Option<&Version>) -> Result<Vec<Version>, String> {
    let after = last.and_then(|v| v.field(TRIGGER_EVENT_FIELD)).and_then(|id| id.parse().ok()).map(TriggerEventId);
    let events = match after {
        Some(_) => state.store.trigger_events_after(team, stream, after, 1000).await,
        None => state.store.latest_trigger_event(team, stream).await.map(|e| e.into_iter().collect()),
    }
    .map_err(|e| e.to_string())?;
    Ok(events
        .into_iter()
        .map(|event| {
            let mut fields = event.payload;
            fields.insert(TRIGGER_EVENT_FIELD.into(), event.id.to_string());
            Version(fields)
        })
        .collect())
}

/// Create a build of `job` when a triggering input has a version its last build did not use.
async fn trigger(state: &AppState, pipeline: &ActivePipeline, job: &str) -> Result<(), String> {
    let gets = pipeline.compiled.job(job).map(|j| j.gets.clone()).unwrap_or_default();
    if !gets.iter().any(|g| g.trigger) {
        return Ok(());
    }
    let job_id = pipeline.jobs[job];
    let store = &state.store;
    if store.job(job_id).await.map_err(|e| e.to_string())?.is_some_and(|j| j.paused) {
        return Ok(());
    }
    // The latest build, pending and running ones included, has the newest inputs: a build is
    // created only for versions no build has had yet. How many run at once is the worker's
    // business (the job's `concurrency`).
    let last = store.latest_build(job_id).await.map_err(|e| e.to_string())?;
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
        tracing::info!(pipeline = %pipeline.compiled.name, job, build = build.number, "triggered");
        state.wake_worker.notify_one();
    }
    Ok(())
}

/// The version each get of `job` would use now: the latest, or the latest that went through
/// every job in its `passed`. `None` while some get has no such version yet.
pub async fn choose_inputs(state: &AppState, pipeline: &ActivePipeline, job: &str) -> Result<Option<Vec<BuildInput>>, String> {
    let mut inputs = Vec::new();
    for get in pipeline.compiled.job(job).map(|j| j.gets.clone()).unwrap_or_default() {
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
