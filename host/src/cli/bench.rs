//! `pikoci bench`: what a plugin costs, next to what a process per call costs.
//!
//! Concourse and PikoCI run a resource check by starting a process that reads JSON on stdin and
//! answers on stdout. The same `fs` check is timed both ways in one run, so the ratio holds on
//! whatever machine runs it.

use super::Cli;
use crate::builtin;
use crate::runtime::{Capabilities, LogSink, MemoryLog, PluginEngine};
use anyhow::Context;
use sha2::{Digest as _, Sha256};
use std::io::Write;
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Calls measured for each in-process figure.
    #[arg(long, default_value_t = 200)]
    calls: usize,
    /// Processes started for the baseline.
    #[arg(long, default_value_t = 50)]
    processes: usize,
    /// Extra component files whose warm load time to report (e.g. a Python plugin).
    #[arg(long = "plugin", value_name = "FILE")]
    plugins: Vec<String>,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

pub async fn run(_cli: &Cli, args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let calls = args.calls.max(1);
    let scratch = tempfile::tempdir()?;
    let cache = scratch.path().join("cache");
    let watched = scratch.path().join("watched.txt");
    std::fs::write(&watched, "the file the fs resource watches\n")?;
    let source = serde_json::json!({ "path": watched.display().to_string() });
    let mut grants = Capabilities::default();
    grants.grant(format!("read:{}", scratch.path().display()).parse()?);
    let fs = builtin::lookup("pikoci://fs").context("fs built-in missing")?;

    println!("pikoci plugin benchmark ({calls} calls per in-process figure, {} processes for the baseline)", args.processes);
    println!();

    // Cold: a fresh engine and an empty cache compile the component.
    let engine = PluginEngine::new(Some(&cache))?;
    let (_, cold) = engine.load_timed("pikoci://fs", fs.bytes)?;
    println!("cold load (compile) fs:          {}", ms(cold.compile_or_load + cold.link));

    // Warm: a new engine (as in a new process) finds the compiled artifact on disk.
    let mut warm_by_plugin = Vec::new();
    let mut names: Vec<(String, Vec<u8>)> = builtin::BUILTINS.iter().map(|b| (format!("pikoci://{}", b.name), b.bytes.to_vec())).collect();
    for file in &args.plugins {
        names.push((file.clone(), std::fs::read(file).with_context(|| format!("cannot read {file}"))?));
    }
    for (name, bytes) in &names {
        let engine = PluginEngine::new(Some(&cache))?;
        engine.load(name, bytes)?; // first load of this component fills the cache
        let mut samples = Vec::new();
        for _ in 0..10 {
            let engine = PluginEngine::new(Some(&cache))?;
            let (_, t) = engine.load_timed(name, bytes)?;
            samples.push(t.compile_or_load + t.link);
        }
        let warm = median(samples);
        println!("warm load (compiled cache) {name:<20} {}   (target < 20 ms for built-ins, < 100 ms for large plugins)", ms(warm));
        warm_by_plugin.push((name.clone(), warm));
    }

    // Instantiate + check, in process.
    let plugin = engine.load("pikoci://fs", fs.bytes)?;
    let log: Arc<dyn LogSink> = Arc::new(MemoryLog::default());
    let first = plugin.check(&grants, log.clone(), &source, None).await?;
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        let versions = plugin.check(&grants, log.clone(), &source, None).await?;
        samples.push(started.elapsed());
        assert_eq!(versions, first);
    }
    let in_process = median(samples);
    println!("instantiate + check fs (median): {}   (target < 1 ms)", ms(in_process));

    // Baseline: one process per check, JSON in and out.
    let exe = std::env::current_exe()?;
    let request = serde_json::json!({ "source": source, "version": null }).to_string();
    let mut samples = Vec::with_capacity(args.processes);
    for _ in 0..args.processes.max(1) {
        let started = Instant::now();
        let mut child =
            std::process::Command::new(&exe).arg("bench-process-check").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
        child.stdin.take().unwrap().write_all(request.as_bytes())?;
        let output = child.wait_with_output()?;
        samples.push(started.elapsed());
        let versions: serde_json::Value = serde_json::from_slice(&output.stdout).context("baseline answered no JSON")?;
        anyhow::ensure!(versions[0]["sha256"].is_string(), "baseline answered {versions}");
    }
    let baseline = median(samples);
    println!("process per check (median):      {}", ms(baseline));
    println!();
    println!("ratio: in-process check is {:.1}x faster than a process per check   (target >= 10x)", baseline.as_secs_f64() / in_process.as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

/// The baseline: what a Concourse-style `check` executable does for the fs resource.
pub fn process_check() -> anyhow::Result<ExitCode> {
    let request: serde_json::Value = serde_json::from_reader(std::io::stdin())?;
    let path = request["source"]["path"].as_str().context("source.path missing")?;
    let contents = std::fs::read(path)?;
    // The same digest the fs plugin computes for a single file: an empty relative name, then
    // the length-prefixed contents.
    let mut hasher = Sha256::new();
    hasher.update((0u64).to_le_bytes());
    hasher.update((contents.len() as u64).to_le_bytes());
    hasher.update(&contents);
    println!("{}", serde_json::json!([{ "sha256": hex::encode(hasher.finalize()) }]));
    Ok(ExitCode::SUCCESS)
}
