//! Looking at jobs again: a job is considered when something it depends on changed, and a build
//! is created when a triggering input has a version its last build did not use.
//!
//! Considerations run one at a time, beside the check loop, so that two looks at one job never
//! race to create the same build and a pipeline of many jobs never delays a due check.

use crate::executor::{run_job, MemoryEvents};
use crate::runtime::Version;
use crate::server::active::ActivePipeline;
use crate::server::state::AppState;
use pikoci_store::{BuildInput, JobId, PipelineId, VersionId};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A consideration that failed (the store was unreachable) is tried again after this.
const RETRY: Duration = Duration::from_secs(5);

/// Takes jobs to look at; duplicates sent while it is busy are looked at once.
pub(super) struct Considerer {
    sender: mpsc::UnboundedSender<(PipelineId, JobId)>,
}

impl Considerer {
    pub fn spawn(state: AppState) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(consider_jobs(state, sender.clone(), receiver));
        Considerer { sender }
    }

    pub fn consider(&self, pipeline: PipelineId, jobs: impl IntoIterator<Item = JobId>) {
        for job in jobs {
            let _ = self.sender.send((pipeline, job));
        }
    }
}

async fn consider_jobs(state: AppState, retry: mpsc::UnboundedSender<(PipelineId, JobId)>, mut receiver: mpsc::UnboundedReceiver<(PipelineId, JobId)>) {
    loop {
        let first = tokio::select! {
            next = receiver.recv() => match next { Some(next) => next, None => return },
            _ = state.shutdown.cancelled() => return,
        };
        let mut batch = BTreeSet::from([first]);
        while let Ok(more) = receiver.try_recv() {
            batch.insert(more);
        }
        for (pipeline, job) in batch {
            if state.shutdown.is_cancelled() {
                return;
            }
            let Some(active) = state.pipelines.get(pipeline) else { continue };
            let Some(name) = active.job_name(job) else { continue };
            if let Err(e) = trigger(&state, &active, name).await {
                tracing::warn!(pipeline = %active.compiled.name, job = name, error = %e, "cannot schedule job; trying again shortly");
                let retry = retry.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(RETRY).await;
                    let _ = retry.send((pipeline, job));
                });
            }
        }
    }
}

/// Create a build of `job` when a triggering input has a version its last build did not use.
async fn trigger(state: &AppState, pipeline: &ActivePipeline, job: &str) -> Result<(), String> {
    let gets = pipeline.compiled.job(job).map(|j| j.gets.clone()).unwrap_or_default();
    if !gets.iter().any(|g| g.trigger) {
        return Ok(());
    }
    let job_id = pipeline.jobs[job];
    let store = &state.store;
    // Three independent reads, side by side on the pool's connections: each is a round trip to
    // the database, and this is between a new version and its build.
    let (job_row, used, inputs) = tokio::try_join!(
        async { store.job(job_id).await.map_err(|e| e.to_string()) },
        // The latest build, pending and running ones included, has the newest inputs: a build
        // is created only for versions no build has had yet. How many run at once is the
        // worker's business (the job's `concurrency`).
        async { store.latest_build_inputs(job_id).await.map_err(|e| e.to_string()) },
        choose_inputs(state, pipeline, job),
    )?;
    if job_row.is_some_and(|j| j.paused) {
        return Ok(());
    }
    let Some(inputs) = inputs else { return Ok(()) };
    let changed = gets.iter().filter(|g| g.trigger).find_map(|g| {
        let chosen = inputs.iter().find(|i| i.name == g.resource).map(|i| i.version);
        let before = used.iter().find(|(name, _)| *name == g.resource).map(|(_, version)| *version);
        (chosen != before).then_some(chosen).flatten()
    });
    if let Some(version) = changed {
        on_trigger(state, pipeline, job, version).await;
        let build = store.create_build(job_id, &inputs).await.map_err(|e| e.to_string())?;
        tracing::info!(pipeline = %pipeline.compiled.name, job, build = build.number, "triggered");
        crate::server::new_builds::created(state, &build).await;
    }
    Ok(())
}

/// PikoCI's `on_trigger` hook: the job's notify steps, sent for the new `version` before its
/// build is created. Their log goes to the server's; one that fails does not stop the build.
async fn on_trigger(state: &AppState, pipeline: &ActivePipeline, job: &str, version: VersionId) {
    if pipeline.compiled.job(job).is_none_or(|j| j.on_trigger.is_empty()) {
        return;
    }
    let fields = match state.store.version(version).await {
        Ok(Some(v)) => v.version,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(pipeline = %pipeline.compiled.name, job, error = %e, "on_trigger hook not run: cannot read the new version");
            return;
        }
    };
    for plan in pipeline.compiled.on_trigger_plans(job, &Version(fields)) {
        let events = MemoryEvents::default();
        let report = run_job(&plan, Arc::new(events.clone()), state.exec_options(), state.shutdown.child_token()).await;
        for line in events.text().lines() {
            tracing::info!(pipeline = %pipeline.compiled.name, job, "on_trigger: {line}");
        }
        if !report.outcome.is_success() {
            tracing::warn!(pipeline = %pipeline.compiled.name, job, outcome = ?report.outcome, "on_trigger hook failed; the build is created anyway");
        }
    }
}

/// The version each get of `job` would use now: the latest, or the latest that went through
/// every job in its `passed`. `None` while some get has no such version yet.
pub async fn choose_inputs(state: &AppState, pipeline: &ActivePipeline, job: &str) -> Result<Option<Vec<BuildInput>>, String> {
    let gets = pipeline.compiled.job(job).map(|j| j.gets.as_slice()).unwrap_or_default();
    let known = gets.iter().filter_map(|get| Some((get, *pipeline.resources.get(&get.resource)?)));
    let chosen = futures_util::future::try_join_all(known.map(|(get, resource)| async move {
        // A pinned version wins over everything: the job keeps using it until unpinned.
        let version = if get.passed.is_empty() {
            state.store.version_in_use(resource).await.map_err(|e| e.to_string())?
        } else {
            match state.store.pinned_version(resource).await.map_err(|e| e.to_string())? {
                Some(pin) => Some(pin.version),
                None => {
                    let upstream: Vec<_> = get.passed.iter().filter_map(|j| pipeline.jobs.get(j).copied()).collect();
                    state.store.versions_passed(resource, &upstream, 1).await.map_err(|e| e.to_string())?.into_iter().next()
                }
            }
        };
        Ok::<_, String>(version.map(|version| BuildInput { name: get.resource.clone(), resource, version: version.id, passed: !get.passed.is_empty() }))
    }))
    .await?;
    Ok(chosen.into_iter().collect())
}
