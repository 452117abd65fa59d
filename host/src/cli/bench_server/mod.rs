//! `pikoci bench-server`: how fast the server turns a new version into a running task, in process
//! and over HTTP with many other jobs loaded; what many resources on their intervals cost; what
//! an idle server costs; how fast it starts; how a long log goes in; memory after logins. Each
//! figure is printed next to its baseline measured in the same run, on SQLite and (when given
//! one) PostgreSQL.

mod in_process;
mod pipelines;
mod spawned;
mod spawned_runs;

use in_process::InProcess;
use spawned::Database;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct ServerBenchArgs {
    /// Builds measured for each trigger latency.
    #[arg(long, default_value_t = 200)]
    builds: usize,
    /// Builds queued at once for the throughput figure.
    #[arg(long, default_value_t = 100)]
    burst: usize,
    /// Idle jobs loaded beside the measured one, for the trigger latencies over HTTP.
    #[arg(long, default_value_t = 1000)]
    other_jobs: usize,
    /// Resources checked on an interval (and, apart, idle), for the scheduler's cost.
    #[arg(long, default_value_t = 1000)]
    resources: usize,
    /// Their check interval.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    interval: Duration,
    /// How long checking is measured, once the first checks are done.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    window: Duration,
    /// Lines a build prints, for the log ingest figure (0 leaves it out).
    #[arg(long, default_value_t = 500_000)]
    log_lines: usize,
    /// An empty PostgreSQL database to measure too (scripts/bench-server.sh makes one).
    #[arg(long)]
    postgres_url: Option<String>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn spread(samples: &[Duration]) -> String {
    format!("p50 {}  p99 {}  max {}", ms(percentile(samples, 0.5)), ms(percentile(samples, 0.99)), ms(samples.last().copied().unwrap_or_default()))
}

fn ratio(value: Duration, baseline: Duration) -> String {
    format!("{:.1}x", value.as_secs_f64() / baseline.as_secs_f64().max(1e-9))
}

pub async fn run(args: &ServerBenchArgs) -> anyhow::Result<ExitCode> {
    let scratch = tempfile::tempdir()?;
    let work = scratch.path();
    let cache = work.join("cache");
    let (app, idle) = (work.join("app"), work.join("idle"));
    for dir in [&app, &idle] {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("v"), "0")?;
    }
    let mut databases = vec![("SQLite", format!("sqlite://{}", work.join("in-process.db").display()), Database::Sqlite(work.join("server.db")))];
    match &args.postgres_url {
        Some(url) => databases.push(("PostgreSQL", url.clone(), Database::Url(url.clone()))),
        None => println!("(PostgreSQL left out: pass --postgres-url, or run scripts/bench-server.sh)"),
    }
    println!(
        "pikoci server benchmark: {} builds per latency, {} other jobs, {} resources every {}",
        args.builds,
        args.other_jobs,
        args.resources,
        humantime::format_duration(args.interval)
    );

    for (name, url, db) in &databases {
        println!("\n== {name}");
        // The baseline: in process, with no other job.
        let small = InProcess::start(url, &cache, &app, &idle, 0).await?;
        let baseline = small.latency(&app, args.builds, &format!("{name}-small")).await?;
        println!("new version -> task running, in process, no other job:      {}", spread(&baseline));
        println!("trivial builds per minute, in process:                         {:.0}", small.throughput(args.burst).await?);
        let bare_check = small.bare_check(500).await?;
        println!("one fs check's plugin call, in process, alone:                {}", ms(bare_check));
        small.stop().await?;
        let base_p50 = percentile(&baseline, 0.5);

        if args.other_jobs > 0 {
            let http = spawned_runs::http_triggers(db, &cache, work, args.other_jobs, args.builds).await?;
            println!(
                "webhook -> task running, over HTTP, {} other jobs:        {}   (p50 {} the baseline's)",
                args.other_jobs,
                spread(&http.webhook),
                ratio(percentile(&http.webhook, 0.5), base_p50)
            );
            println!(
                "API trigger -> task running, over HTTP, {} other jobs:    {}   (p50 {} the baseline's)",
                args.other_jobs,
                spread(&http.api),
                ratio(percentile(&http.api, 0.5), base_p50)
            );
            println!("idle with {} jobs loaded: {:.2}% CPU, {:.1} SQL statements/s", args.other_jobs + 3, http.idle_cpu * 100.0, http.idle_statements);
        }

        if args.resources > 0 {
            let (cpu, statements, rss) = spawned_runs::idle(db, &cache, work, args.resources).await?;
            println!("idle with {} resources none due: {:.2}% CPU, {:.1} SQL statements/s, RSS {rss:.0} MiB", args.resources, cpu * 100.0, statements);
            let c = spawned_runs::checking(db, &cache, work, args.resources, args.interval, args.window).await?;
            println!(
                "{} resources every {}: {:.0} checks/min done of {:.0} due, {:.1}% started within 1 s of due, {:.0}% CPU, RSS {:.0} MiB",
                c.resources,
                humantime::format_duration(args.interval),
                c.done_per_minute,
                c.due_per_minute,
                c.on_time * 100.0,
                c.cpu_share * 100.0,
                c.rss_mib
            );
            println!(
                "  CPU per check {:.3} ms ({:.1}x the plugin call alone), {:.0} SQL statements/s",
                c.cpu_ms_per_check,
                c.cpu_ms_per_check / (bare_check.as_secs_f64() * 1000.0).max(1e-9),
                c.statements_per_second
            );
            println!("start-up with {} resources: first {}, again (warm cache, same database) {}", c.resources, ms(c.first_start), ms(c.restart));
        }

        if args.log_lines > 0 {
            let l = spawned_runs::log_ingest(db, &cache, work, args.log_lines).await?;
            println!(
                "a build of {} log lines: server {:.2} s, `pikoci run` to a file {:.2} s ({} the baseline)",
                l.lines,
                l.server.as_secs_f64(),
                l.pikoci_run.as_secs_f64(),
                ratio(l.server, l.pikoci_run)
            );
            println!(
                "  RSS idle {:.0} MiB, highest seen {:.0} MiB, after {:.0} MiB ({:+.0}%), after 20 logins {:.0} MiB",
                l.rss_idle,
                l.rss_peak_seen,
                l.rss_after,
                (l.rss_after / l.rss_idle - 1.0) * 100.0,
                l.rss_after_logins
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
