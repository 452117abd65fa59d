//! The embedded worker: runs pending builds with the executor, storing their logs as they run.

use super::active::ActivePipeline;
use super::build_sink::StoreEvents;
use super::state::AppState;
use crate::executor::{run_job, Outcome};
use crate::planner::{CompiledJob, JobInputs};
use crate::runtime::Version;
use pikoci_store::{Build, BuildStatus, JobId, MetadataField, PipelineId, TeamId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const WORKER_NAME: &str = "embedded";

pub async fn run(state: AppState) {
    let removed = tokio::task::spawn_blocking(|| crate::executor::workdirs::remove_orphans(None)).await.unwrap_or(0);
    if removed > 0 {
        tracing::info!(removed, "removed work directories left by workers that died");
    }
    state.metrics.workers.get_or_create(&super::metrics::StatusLabel { status: "running".into() }).set(1);
    loop {
        if state.shutdown.is_cancelled() {
            return;
        }
        let running = state.running.lock().unwrap().len();
        if running < state.concurrency {
            match claimable(&state, state.concurrency - running).await {
                Ok(builds) => {
                    for build in builds {
                        let token = CancellationToken::new();
                        if !claim(&state, &build, &token).await {
                            continue;
                        }
                        tokio::spawn(run_build(state.clone(), build, token));
                    }
                }
                Err(e) => tracing::error!(error = %e, "cannot read pending builds"),
            }
        }
        // Nothing to poll: every new build and every freed slot wakes the worker.
        tokio::select! {
            _ = state.wake_worker.notified() => {}
            _ = state.shutdown.cancelled() => return,
        }
    }
}

/// Up to `slots` pending builds, oldest first, leaving out those of jobs already running as many
/// builds as their `concurrency` allows, and those of jobs whose serial group another job of
/// their pipeline holds (by a running build, or one chosen before them).
async fn claimable(state: &AppState, slots: usize) -> Result<Vec<Build>, pikoci_store::StoreError> {
    const LOOKAHEAD: u32 = 200;
    let pending = state.store.pending_builds(LOOKAHEAD).await?;
    state.metrics.queue_depth.set(pending.len() as i64);
    let limits: HashMap<JobId, JobLimits> = pending.iter().map(|b| (b.job_id, JobLimits::of(state, b.job_id))).collect();
    // What runs already matters only to a job with a `concurrency` or serial groups; most have none.
    let mut per_job: HashMap<JobId, usize> = HashMap::new();
    let mut held: HashMap<(PipelineId, String), JobId> = HashMap::new();
    if limits.values().any(JobLimits::any) {
        for build in state.store.started_builds(LOOKAHEAD).await? {
            *per_job.entry(build.job_id).or_default() += 1;
            JobLimits::of(state, build.job_id).hold(build.job_id, &mut held);
        }
    }
    let mut chosen = Vec::new();
    for build in pending {
        if chosen.len() == slots {
            break;
        }
        let limits = &limits[&build.job_id];
        let running = per_job.entry(build.job_id).or_default();
        if limits.concurrency.is_some_and(|cap| *running >= cap) || limits.blocked(build.job_id, &held) {
            continue;
        }
        *running += 1;
        limits.hold(build.job_id, &mut held);
        chosen.push(build);
    }
    Ok(chosen)
}

/// What bounds when a job's builds may start, from its pipeline's compiled job.
#[derive(Default)]
struct JobLimits {
    concurrency: Option<usize>,
    /// Its pipeline's id with each of the job's serial groups.
    groups: Vec<(PipelineId, String)>,
}

impl JobLimits {
    fn of(state: &AppState, job: JobId) -> JobLimits {
        let limits = |pipeline: &ActivePipeline, compiled: &CompiledJob| JobLimits {
            concurrency: compiled.concurrency,
            groups: compiled.serial_groups.iter().map(|g| (pipeline.id, g.clone())).collect(),
        };
        state.pipelines.with_job(job, limits).unwrap_or_default()
    }

    fn any(&self) -> bool {
        self.concurrency.is_some() || !self.groups.is_empty()
    }

    /// Builds of one job never block each other through a group: that is `concurrency`'s work.
    fn blocked(&self, job: JobId, held: &HashMap<(PipelineId, String), JobId>) -> bool {
        self.groups.iter().any(|g| held.get(g).is_some_and(|holder| *holder != job))
    }

    fn hold(&self, job: JobId, held: &mut HashMap<(PipelineId, String), JobId>) {
        for group in &self.groups {
            held.entry(group.clone()).or_insert(job);
        }
    }
}

async fn claim(state: &AppState, build: &Build, token: &CancellationToken) -> bool {
    match state.store.start_build(build.id, WORKER_NAME).await {
        Ok(true) => {
            state.running.lock().unwrap().insert(build.id, token.clone());
            true
        }
        _ => false,
    }
}

async fn run_build(state: AppState, build: Build, cancel: CancellationToken) {
    state.metrics.running_builds.inc();
    let (status, reason, duration) = match execute(&state, &build, cancel).await {
        Ok((outcome, duration)) => {
            let reason = match &outcome {
                Outcome::Failed(why) | Outcome::Errored(why) | Outcome::Warning(why) => Some(why.clone()),
                Outcome::Aborted => Some("aborted".to_string()),
                Outcome::Succeeded => None,
            };
            (outcome.status(), reason, duration)
        }
        Err(why) => (BuildStatus::Errored, Some(why), Duration::ZERO),
    };
    if let Err(e) = state.store.finish_build(build.id, status, reason.as_deref()).await {
        tracing::error!(build = %build.id, error = %e, "cannot record the end of a build");
    }
    state.metrics.builds.get_or_create(&super::metrics::StatusLabel { status: status.as_str().into() }).inc();
    state.metrics.build_duration.observe(duration.as_secs_f64());
    state.metrics.running_builds.dec();
    state.running.lock().unwrap().remove(&build.id);
    // A chatty build's log passed through every worker thread's heap; glibc keeps freed heap
    // pages until asked, and the server would stay at its peak after each big build.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only hands free heap pages back to the system.
    unsafe {
        libc::malloc_trim(0);
    }
    // Downstream jobs may now have a version that passed, and a slot is free.
    state.scheduler.build_ended(build.job_id);
    state.wake_worker.notify_one();
}

async fn execute(state: &AppState, build: &Build, cancel: CancellationToken) -> Result<(Outcome, Duration), String> {
    let (job, pipeline, team) = job_of(state, build).await?;
    let mut inputs = JobInputs { values: build.input_values.clone(), ..JobInputs::default() };
    for used in state.store.build_versions(build.id).await.map_err(|e| e.to_string())? {
        inputs.versions.insert(used.name, Version(used.version.version));
    }
    // The plan of the pipeline version the build was created from, not of whatever is current.
    let compiled = state.pipelines.plan_of(state, build).await?;
    let plan = compiled.plan(&job, &inputs, build.number as u64)?;
    let (sink, writer) = StoreEvents::new(state.store.clone(), build.id);
    let triggers = super::triggers::TeamTriggers { state: state.clone(), team };
    let mut options = state.exec_options();
    options.triggers = Some(Arc::new(triggers));
    let report = run_job(&plan, Arc::new(sink), options, cancel).await;
    let outcome = match writer.finish().await {
        Some(lost) => Outcome::Errored(lost),
        None => report.outcome,
    };
    record_metadata(state, pipeline, &report.versions).await;
    Ok((outcome, report.duration))
}

/// The name of the build's job, its pipeline and team: from the running pipeline, or from the
/// store when the job has left the pipeline's current version since the build was created.
async fn job_of(state: &AppState, build: &Build) -> Result<(String, PipelineId, TeamId), String> {
    if let Some(active) = state.pipelines.by_job(build.job_id) {
        if let Some(name) = active.job_name(build.job_id) {
            return Ok((name.to_string(), active.id, active.team_id));
        }
    }
    let job = state.store.job(build.job_id).await.map_err(|e| e.to_string())?.ok_or("the build's job no longer exists")?;
    let pipeline = state.store.pipeline(job.pipeline_id).await.map_err(|e| e.to_string())?.ok_or("the build's pipeline no longer exists")?;
    Ok((job.name, pipeline.id, pipeline.team_id))
}

/// Checks find versions; gets describe them (a commit's author and message...): keep what the
/// build's gets reported on the stored versions, where the API shows it.
async fn record_metadata(state: &AppState, pipeline: PipelineId, fetched: &[(String, crate::runtime::Fetched)]) {
    for (name, fetched) in fetched.iter().filter(|(_, f)| !f.metadata.is_empty()) {
        let metadata: Vec<MetadataField> = fetched.metadata.iter().map(|(name, value)| MetadataField { name: name.clone(), value: value.clone() }).collect();
        let saved = match state.store.resource_by_name(pipeline, name).await {
            Ok(Some(resource)) => state.store.set_version_metadata(resource.id, &fetched.version.0, &metadata).await.map(|_| ()),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = saved {
            tracing::warn!(resource = %name, error = %e, "cannot record a version's metadata");
        }
    }
}
