//! The in-process baselines: a server's state driven directly (no HTTP, no second process), and a
//! check's plugin call on its own.

use super::pipelines;
use crate::executor::MemoryEvents;
use crate::planner::VarValues;
use crate::runtime::PluginEngine;
use crate::server::active::set_pipeline;
use crate::server::state::AppState;
use anyhow::Context;
use pikoci_store::{JobId, LogKind, Page, Store};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How often the benchmark looks for the build it waits for, as the HTTP measurement does. The
/// latency is read from the time the task printed, so looking more often would not sharpen it,
/// only load the database the measured server uses (at 1 ms, 2,000 queries a second).
const POLL: Duration = Duration::from_millis(5);

pub struct InProcess {
    pub state: AppState,
    pub latency_job: JobId,
    pub burst_job: JobId,
}

impl InProcess {
    /// A server's state on `url` running the latency pipeline with `other_jobs` idle jobs beside.
    pub async fn start(url: &str, cache: &Path, app: &Path, idle: &Path, other_jobs: usize) -> anyhow::Result<Self> {
        let store = Store::connect(url, true).await?;
        let engine = Arc::new(PluginEngine::new(Some(cache))?);
        let state = AppState::new(store, engine, cache.to_path_buf(), Default::default(), 2, true);
        let text = pipelines::latency(app, idle, other_jobs);
        let active = set_pipeline(&state, "main", "bench", &text, &VarValues::default()).await.map_err(anyhow::Error::msg)?;
        state.spawn_background();
        Ok(InProcess { latency_job: active.jobs["latency"], burst_job: active.jobs["burst"], state })
    }

    /// Stop, and remove the pipeline: a server started next on the same database holds only
    /// what it measures.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.state.shutdown.cancel();
        for pipeline in self.state.pipelines.all() {
            self.state.store.delete_pipeline(pipeline.id).await?;
        }
        Ok(())
    }

    /// The wall-clock time the task of build `number` of `job` printed, waiting for it.
    async fn task_time(&self, job: JobId, number: i64) -> anyhow::Result<SystemTime> {
        let store = &self.state.store;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(build) = store.build_by_number(job, number).await? {
                let lines = store.read_log(build.id, 0, 100).await?;
                if let Some(line) = lines.iter().find(|l| l.kind == LogKind::Line && l.step == "task t") {
                    return pipelines::printed_time(&line.text);
                }
            }
            anyhow::ensure!(Instant::now() < deadline, "build {number} never logged its task's first line");
            tokio::time::sleep(POLL).await;
        }
    }

    /// New version (a check asked for, as a webhook does) -> the task running, `builds` times.
    pub async fn latency(&self, app: &Path, builds: usize, tag: &str) -> anyhow::Result<Vec<Duration>> {
        let state = &self.state;
        let pipeline = state.pipelines.all().into_iter().find(|p| p.compiled.name == "bench").context("no bench pipeline")?;
        let resource = pipeline.resources["app"];
        self.task_time(self.latency_job, 1).await?; // the first check's build
        let mut samples = Vec::with_capacity(builds);
        for n in 0..builds {
            let number = n as i64 + 2;
            // Wait for the previous build to end: a job builds one version at a time.
            while !state.store.build_by_number(self.latency_job, number - 1).await?.is_some_and(|b| b.status.is_terminal()) {
                tokio::time::sleep(POLL).await;
            }
            // Content unique to this run: a repeat of an older content is no new version.
            std::fs::write(app.join("v"), format!("{tag}-in-process-{number}"))?;
            let asked = SystemTime::now();
            state.scheduler.check_now(resource);
            let ran = self.task_time(self.latency_job, number).await?;
            samples.push(ran.duration_since(asked).unwrap_or_default());
        }
        samples.sort();
        Ok(samples)
    }

    /// Trivial builds per minute, `burst` of them queued at once.
    pub async fn throughput(&self, burst: usize) -> anyhow::Result<f64> {
        let state = &self.state;
        let started = Instant::now();
        for _ in 0..burst {
            state.store.create_build(self.burst_job, &[]).await?;
        }
        state.wake_worker.notify_one();
        loop {
            let builds = state.store.builds_of_job(self.burst_job, Page::first(burst as u32)).await?;
            if builds.len() >= burst && builds.iter().all(|b| b.status.is_terminal()) {
                anyhow::ensure!(builds.iter().all(|b| b.status == pikoci_store::BuildStatus::Succeeded), "a burst build did not succeed");
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(burst as f64 / started.elapsed().as_secs_f64() * 60.0)
    }

    /// The `fs` check of the pipeline's `idle` resource, called `calls` times with nothing new:
    /// the plugin path alone, what a server's check costs beyond is its own overhead.
    pub async fn bare_check(&self, calls: usize) -> anyhow::Result<Duration> {
        let pipeline = self.state.pipelines.all().into_iter().find(|p| p.compiled.name == "bench").context("no bench pipeline")?;
        let plan = pipeline.compiled.check_plan("idle").context("no idle resource")?;
        let options = || self.state.exec_options();
        let first = crate::executor::run_check(&plan, None, Arc::new(MemoryEvents::default()), options()).await.map_err(anyhow::Error::msg)?;
        let last = first.last().cloned();
        let started = Instant::now();
        for _ in 0..calls {
            crate::executor::run_check(&plan, last.as_ref(), Arc::new(MemoryEvents::default()), options()).await.map_err(anyhow::Error::msg)?;
        }
        Ok(started.elapsed() / calls.max(1) as u32)
    }
}
