//! The measurements that need a server of its own: triggers over HTTP with many jobs loaded, many
//! resources on their intervals, idle cost, start-up, a long log, logins.

use super::pipelines;
use super::spawned::{Database, Spawned};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// Trigger -> task running, over HTTP, from outside the server's process.
pub struct HttpTriggers {
    pub webhook: Vec<Duration>,
    pub api: Vec<Duration>,
    /// While it holds the pipeline and nothing is due: CPU share and statements a second.
    pub idle_cpu: f64,
    pub idle_statements: f64,
}

/// The time the task of `build` printed, from its log over the API.
async fn task_time(server: &Spawned, build: &serde_json::Value) -> anyhow::Result<SystemTime> {
    let log = server.get(&format!("/api/v1/builds/{}/log", build["id"])).await?;
    let line = log.as_array().into_iter().flatten().find(|l| l["step"] == "task t" && l["kind"] == "line");
    let line = line.ok_or_else(|| anyhow::anyhow!("build {} logged no task line", build["id"]))?;
    pipelines::printed_time(line["text"].as_str().unwrap_or_default())
}

/// CPU share and statements per second of `server` over `window`.
async fn idle_cost(server: &Spawned, window: Duration) -> anyhow::Result<(f64, f64)> {
    let (cpu, statements) = (server.cpu()?, server.metrics().await?.value("pikoci_store_statements_total"));
    tokio::time::sleep(window).await;
    let (cpu_after, statements_after) = (server.cpu()?, server.metrics().await?.value("pikoci_store_statements_total"));
    // The second /metrics call is itself no statement: the difference is the server's own.
    Ok(((cpu_after - cpu).as_secs_f64() / window.as_secs_f64(), (statements_after - statements) / window.as_secs_f64()))
}

pub async fn http_triggers(db: &Database, cache: &Path, work: &Path, other_jobs: usize, builds: usize) -> anyhow::Result<HttpTriggers> {
    let (app, idle) = (work.join("http-app"), work.join("http-idle"));
    for dir in [&app, &idle] {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("v"), "0")?;
    }
    let file = work.join("http.hcl");
    std::fs::write(&file, pipelines::latency(&app, &idle, other_jobs))?;
    let server = Spawned::start(db, Some(&file), cache, &["--concurrency", "4"]).await?;
    // Every job's first build (the first versions) before measuring.
    server.finished_build("http", "latency", 1, Duration::from_secs(120)).await?;
    let deadline = Instant::now() + Duration::from_secs(600);
    for n in 0..other_jobs {
        server.finished_build("http", &format!("other-{n}"), 1, deadline.saturating_duration_since(Instant::now())).await?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (idle_cpu, idle_statements) = idle_cost(&server, Duration::from_secs(5)).await?;

    let hook = server.post("/api/v1/teams/main/pipelines/http/resources/app/webhook_token").await?;
    let hook = hook["url"].as_str().unwrap_or_default().to_string();
    let mut webhook = Vec::with_capacity(builds);
    for n in 0..builds {
        let number = n as i64 + 2;
        std::fs::write(app.join("v"), format!("http-{number}"))?;
        let asked = SystemTime::now();
        server.post_anonymous(&hook).await?;
        let build = server.finished_build("http", "latency", number, Duration::from_secs(60)).await?;
        webhook.push(task_time(&server, &build).await?.duration_since(asked).unwrap_or_default());
    }
    let mut api = Vec::with_capacity(builds);
    for _ in 0..builds {
        let asked = SystemTime::now();
        let created = server.post("/api/v1/teams/main/pipelines/http/jobs/api/builds").await?;
        let build = server.finished_build("http", "api", created["number"].as_i64().unwrap_or_default(), Duration::from_secs(60)).await?;
        api.push(task_time(&server, &build).await?.duration_since(asked).unwrap_or_default());
    }
    server.delete_pipeline("http").await?;
    server.stop()?;
    webhook.sort();
    api.sort();
    Ok(HttpTriggers { webhook, api, idle_cpu, idle_statements })
}

/// Many resources checked on an interval, measured over a window once the first checks are done.
pub struct Checking {
    pub resources: usize,
    pub due_per_minute: f64,
    pub done_per_minute: f64,
    /// Checks that started within a second of being due.
    pub on_time: f64,
    pub cpu_ms_per_check: f64,
    pub statements_per_second: f64,
    pub cpu_share: f64,
    pub rss_mib: f64,
    /// The server's start with the pipeline on a new database, and again on the same one.
    pub first_start: Duration,
    pub restart: Duration,
}

pub async fn checking(db: &Database, cache: &Path, work: &Path, resources: usize, interval: Duration, window: Duration) -> anyhow::Result<Checking> {
    let watched = work.join("checked");
    std::fs::create_dir_all(&watched)?;
    std::fs::write(watched.join("v"), "1")?;
    let file = work.join("checking.hcl");
    std::fs::write(&file, pipelines::resources(&watched, resources, &humantime::format_duration(interval).to_string()))?;
    let server = Spawned::start(db, Some(&file), cache, &["--max-concurrent-checks", "16"]).await?;
    let first_start = server.started_in;
    let deadline = Instant::now() + Duration::from_secs(600);
    while server.metrics().await?.value("pikoci_check_duration_seconds_count") < resources as f64 {
        anyhow::ensure!(Instant::now() < deadline, "the first checks of {resources} resources took over 10 minutes");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Past the first wave: from here on each check comes due on its own interval.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = server.metrics().await?;
    let cpu = server.cpu()?;
    tokio::time::sleep(window).await;
    let after = server.metrics().await?;
    let cpu = server.cpu()? - cpu;
    let rss_mib = server.rss_mib()?;
    let delta = |sample: &str| after.value(sample) - before.value(sample);
    let done = delta("pikoci_check_duration_seconds_count");
    let started = delta("pikoci_check_delay_seconds_count");
    let on_time = if started > 0.0 { delta("pikoci_check_delay_seconds_bucket{le=\"1.0\"}") / started } else { 1.0 };
    let minutes = window.as_secs_f64() / 60.0;
    let result = Checking {
        resources,
        due_per_minute: resources as f64 * 60.0 / interval.as_secs_f64(),
        done_per_minute: done / minutes,
        on_time,
        cpu_ms_per_check: if done > 0.0 { cpu.as_secs_f64() * 1000.0 / done } else { 0.0 },
        statements_per_second: delta("pikoci_store_statements_total") / window.as_secs_f64(),
        cpu_share: cpu.as_secs_f64() / window.as_secs_f64(),
        rss_mib,
        first_start,
        restart: Duration::ZERO,
    };
    server.stop()?;
    // Again on the same database and cache: the pipeline comes back from its stored plan.
    let again = Spawned::start(db, None, cache, &[]).await?;
    let restart = again.started_in;
    again.delete_pipeline("checking").await?;
    again.stop()?;
    Ok(Checking { restart, ..result })
}

/// Idle with many resources loaded and none due.
pub async fn idle(db: &Database, cache: &Path, work: &Path, resources: usize) -> anyhow::Result<(f64, f64, f64)> {
    let watched = work.join("idle-checked");
    std::fs::create_dir_all(&watched)?;
    std::fs::write(watched.join("v"), "1")?;
    let file = work.join("idle.hcl");
    std::fs::write(&file, pipelines::resources(&watched, resources, "24h"))?;
    let server = Spawned::start(db, Some(&file), cache, &["--max-concurrent-checks", "16"]).await?;
    while server.metrics().await?.value("pikoci_check_duration_seconds_count") < resources as f64 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu, statements) = idle_cost(&server, Duration::from_secs(10)).await?;
    let rss = server.rss_mib()?;
    server.delete_pipeline("idle").await?;
    server.stop()?;
    Ok((cpu, statements, rss))
}

pub struct LogIngest {
    pub lines: usize,
    pub pikoci_run: Duration,
    pub server: Duration,
    pub rss_idle: f64,
    pub rss_peak_seen: f64,
    pub rss_after: f64,
    pub rss_after_logins: f64,
}

pub async fn log_ingest(db: &Database, cache: &Path, work: &Path, lines: usize) -> anyhow::Result<LogIngest> {
    let file = work.join("chatty.hcl");
    std::fs::write(&file, pipelines::chatty(lines))?;
    // The same job by `pikoci run`, its output to a file.
    let out = std::fs::File::create(work.join("chatty.out"))?;
    let started = Instant::now();
    let status = std::process::Command::new(std::env::current_exe()?)
        .args(["--cache-dir"])
        .arg(cache)
        .args(["run", "-j", "chatty", "-c"])
        .arg(&file)
        .stdout(out)
        .stderr(std::process::Stdio::null())
        .status()?;
    let pikoci_run = started.elapsed();
    anyhow::ensure!(status.success(), "pikoci run of the chatty job failed");

    let server = Spawned::start(db, Some(&file), cache, &[]).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = server.rss_mib()?;
    let started = Instant::now();
    server.post("/api/v1/teams/main/pipelines/chatty/jobs/chatty/builds").await?;
    let mut rss_peak_seen = rss_idle;
    loop {
        rss_peak_seen = rss_peak_seen.max(server.rss_mib()?);
        let build = server.get("/api/v1/teams/main/pipelines/chatty/jobs/chatty/builds/1").await?;
        if build["finished_at"].is_number() {
            anyhow::ensure!(build["status"] == "succeeded", "the chatty build ended {}", build["status"]);
            break;
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(900), "the chatty build took over 15 minutes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let server_took = started.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = server.rss_mib()?;
    for _ in 0..20 {
        server.login().await?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after_logins = server.rss_mib()?;
    server.delete_pipeline("chatty").await?;
    server.stop()?;
    Ok(LogIngest { lines, pikoci_run, server: server_took, rss_idle, rss_peak_seen, rss_after, rss_after_logins })
}
