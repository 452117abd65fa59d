//! `pikoci bench server`: how fast the server turns a new version into a running task, and how
//! many trivial builds per minute it sustains, on SQLite and (when given one) PostgreSQL.

use crate::planner::VarValues;
use crate::runtime::PluginEngine;
use crate::server::active::set_pipeline;
use crate::server::state::AppState;
use anyhow::Context;
use pikoci_store::{JobId, LogKind, Page, Store};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct ServerBenchArgs {
    /// Builds measured for the version-to-first-log-line latency.
    #[arg(long, default_value_t = 200)]
    builds: usize,
    /// Builds queued at once for the throughput figure.
    #[arg(long, default_value_t = 100)]
    burst: usize,
    /// An empty PostgreSQL database to measure too (scripts/bench-server.sh makes one).
    #[arg(long)]
    postgres_url: Option<String>,
}

fn pipeline_text(app: &Path) -> String {
    format!(
        r#"
resource "fs" "app" {{
  check_interval = "@every 24h"
  params {{ path = "{app}" }}
}}
job "latency" {{
  get "fs" "app" {{ trigger = true }}
  task "t" {{
    run "exec" {{
      path = "/bin/echo"
      args = ["first line"]
    }}
  }}
}}
job "burst" {{
  task "t" {{
    run "exec" {{
      path = "/bin/true"
    }}
  }}
}}
"#,
        app = app.display()
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn start(url: &str, cache: &Path, app: &Path) -> anyhow::Result<(AppState, JobId, JobId)> {
    let store = Store::connect(url, true).await?;
    let engine = Arc::new(PluginEngine::new(Some(cache))?);
    let state = AppState::new(store, engine, cache.to_path_buf(), Default::default(), 2, true);
    let active = set_pipeline(&state, "main", "bench", &pipeline_text(app), &VarValues::default()).await.map_err(anyhow::Error::msg)?;
    state.spawn_background();
    Ok((state.clone(), active.jobs["latency"], active.jobs["burst"]))
}

/// The first line a task of build `number` of `job` logged, waiting for it.
async fn first_task_line(store: &Store, job: JobId, number: i64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(build) = store.build_by_number(job, number).await? {
            let lines = store.read_log(build.id, 0, 100).await?;
            if lines.iter().any(|l| l.kind == LogKind::Line && l.step == "task t") {
                return Ok(());
            }
        }
        anyhow::ensure!(Instant::now() < deadline, "build {number} never logged its task's first line");
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

async fn latency(state: &AppState, job: JobId, app: &Path, builds: usize, tag: &str) -> anyhow::Result<Vec<Duration>> {
    let resource = state.store.resources(state.pipelines.all()[0].id).await?.into_iter().next().context("no resource")?;
    first_task_line(&state.store, job, 1).await?; // the first check's build
    let mut samples = Vec::with_capacity(builds);
    for n in 0..builds {
        let number = n as i64 + 2;
        // Wait for the previous build to end: a job builds one version at a time.
        while !state.store.build_by_number(job, number - 1).await?.is_some_and(|b| b.status.is_terminal()) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Content unique to this run: a repeat of an older content is no new version.
        std::fs::write(app.join("v"), format!("{tag}-{number}"))?;
        let started = Instant::now();
        state.check_now.lock().unwrap().push(resource.id);
        state.wake.notify_one();
        first_task_line(&state.store, job, number).await?;
        samples.push(started.elapsed());
    }
    samples.sort();
    Ok(samples)
}

async fn throughput(state: &AppState, job: JobId, burst: usize) -> anyhow::Result<f64> {
    let started = Instant::now();
    for _ in 0..burst {
        state.store.create_build(job, &[]).await?;
    }
    state.wake_worker.notify_one();
    loop {
        let builds = state.store.builds_of_job(job, Page::first(burst as u32)).await?;
        if builds.len() >= burst && builds.iter().all(|b| b.status.is_terminal()) {
            anyhow::ensure!(builds.iter().all(|b| b.status == pikoci_store::BuildStatus::Succeeded), "a burst build did not succeed");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(burst as f64 / started.elapsed().as_secs_f64() * 60.0)
}

pub async fn run(args: &ServerBenchArgs) -> anyhow::Result<ExitCode> {
    let scratch = tempfile::tempdir()?;
    let cache = scratch.path().join("cache");
    let app = scratch.path().join("app");
    std::fs::create_dir_all(&app)?;
    std::fs::write(app.join("v"), "0")?;

    println!("pikoci server benchmark (embedded worker, concurrency 2)");
    let sqlite = format!("sqlite://{}", scratch.path().join("bench.db").display());
    let (state, latency_job, burst_job) = start(&sqlite, &cache, &app).await?;
    let samples = latency(&state, latency_job, &app, args.builds, "sqlite").await?;
    println!(
        "new version -> task's first log line, SQLite, {} builds: p50 {}  p99 {}  max {}   (target p99 < 100 ms)",
        samples.len(),
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        ms(*samples.last().unwrap())
    );
    println!("trivial builds per minute, SQLite:     {:.0}", throughput(&state, burst_job, args.burst).await?);
    state.shutdown.cancel();

    if let Some(url) = &args.postgres_url {
        let (state, latency_job, burst_job) = start(url, &cache, &app).await?;
        let samples = latency(&state, latency_job, &app, args.builds, "postgresql").await?;
        println!(
            "new version -> task's first log line, PostgreSQL, {} builds: p50 {}  p99 {}  max {}",
            samples.len(),
            ms(percentile(&samples, 0.5)),
            ms(percentile(&samples, 0.99)),
            ms(*samples.last().unwrap())
        );
        println!("trivial builds per minute, PostgreSQL: {:.0}", throughput(&state, burst_job, args.burst).await?);
        state.shutdown.cancel();
    } else {
        println!("(PostgreSQL skipped: pass --postgres-url, or run scripts/bench-server.sh)");
    }
    Ok(ExitCode::SUCCESS)
}
