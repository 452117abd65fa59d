//! A `pikoci server` run as its own process, as users run it, and measured from outside: its CPU
//! time and memory from `/proc`, its figures from `/metrics`, its API over HTTP.

use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const USER: &str = "bench";
const PASSWORD: &str = "bench-password";

pub struct Spawned {
    child: Child,
    pub base: String,
    http: reqwest::Client,
    token: String,
    /// How long it took from spawning to answering `/health`.
    pub started_in: Duration,
}

/// The database a spawned server uses.
#[derive(Clone)]
pub enum Database {
    Sqlite(std::path::PathBuf),
    Url(String),
}

impl Database {
    fn args(&self) -> Vec<String> {
        match self {
            Database::Sqlite(file) => vec!["--db-system".into(), "sqlite".into(), "--db-name".into(), file.display().to_string()],
            Database::Url(url) => vec!["--db-url".into(), url.clone()],
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Spawned {
    /// Start this binary's `pikoci server` on `db` with `pipeline` (if any), the plugin cache in
    /// `cache`, and wait until it answers.
    pub async fn start(db: &Database, pipeline: Option<&Path>, cache: &Path, extra: &[&str]) -> anyhow::Result<Spawned> {
        let port = free_port()?;
        let users = format!("{USER}:{}", pikoci_store::hash_password(PASSWORD)?);
        let mut command = Command::new(std::env::current_exe()?);
        command.arg("server").args(db.args()).args(["--listen", &format!("127.0.0.1:{port}"), "--users", &users]).args(extra);
        if let Some(pipeline) = pipeline {
            command.arg("--pipeline-config").arg(pipeline);
        }
        command.arg("--cache-dir").arg(cache).env("RUST_LOG", "warn").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let started = Instant::now();
        let child = command.spawn().context("cannot start pikoci server")?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
        let base = format!("http://127.0.0.1:{port}");
        let mut server = Spawned { child, base, http, token: String::new(), started_in: Duration::ZERO };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = server.http.get(format!("{}/health", server.base)).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if let Some(status) = server.child.try_wait()? {
                bail!("pikoci server exited with {status} before it answered");
            }
            anyhow::ensure!(Instant::now() < deadline, "pikoci server did not answer within 2 minutes");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        server.started_in = started.elapsed();
        let login: Value =
            server.http.post(format!("{}/api/v1/login", server.base)).json(&json!({"username": USER, "password": PASSWORD})).send().await?.json().await?;
        server.token = login["token"].as_str().context("no token from login")?.to_string();
        Ok(server)
    }

    /// User plus system CPU time the process has used.
    pub fn cpu(&self) -> anyhow::Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // The fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat.rsplit_once(')').context("unreadable /proc stat")?.1.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        // SAFETY: sysconf reads a constant of the running system.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        Ok(Duration::from_secs_f64(ticks as f64 / per_second))
    }

    /// Resident memory, in MiB.
    pub fn rss_mib(&self) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib: f64 = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).context("no VmRSS")?.trim().trim_end_matches("kB").trim().parse()?;
        Ok(kib / 1024.0)
    }

    pub async fn metrics(&self) -> anyhow::Result<Metrics> {
        Ok(Metrics(self.http.get(format!("{}/metrics", self.base)).send().await?.text().await?))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let r = self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await?;
        anyhow::ensure!(r.status().is_success(), "GET {path}: {}", r.status());
        Ok(r.json().await?)
    }

    pub async fn post(&self, path: &str) -> anyhow::Result<Value> {
        let r = self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await?;
        anyhow::ensure!(r.status().is_success(), "POST {path}: {}", r.status());
        Ok(r.json().await.unwrap_or(Value::Null))
    }

    /// Remove a pipeline, so that the next server on the same database starts without it.
    pub async fn delete_pipeline(&self, name: &str) -> anyhow::Result<()> {
        let r = self.http.delete(format!("{}/api/v1/teams/main/pipelines/{name}", self.base)).bearer_auth(&self.token).send().await?;
        anyhow::ensure!(r.status().is_success(), "DELETE pipeline {name}: {}", r.status());
        Ok(())
    }

    /// A post without credentials (a webhook).
    pub async fn post_anonymous(&self, path: &str) -> anyhow::Result<()> {
        let r = self.http.post(format!("{}{path}", self.base)).send().await?;
        anyhow::ensure!(r.status().is_success(), "POST {path}: {}", r.status());
        Ok(())
    }

    pub async fn login(&self) -> anyhow::Result<()> {
        let r = self.http.post(format!("{}/api/v1/login", self.base)).json(&json!({"username": USER, "password": PASSWORD})).send().await?;
        anyhow::ensure!(r.status().is_success(), "login: {}", r.status());
        Ok(())
    }

    /// The finished build `number` of `job` in pipeline `pipeline`, waiting for it.
    pub async fn finished_build(&self, pipeline: &str, job: &str, number: i64, within: Duration) -> anyhow::Result<Value> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(build) = self.get(&format!("/api/v1/teams/main/pipelines/{pipeline}/jobs/{job}/builds/{number}")).await {
                if build["finished_at"].is_number() {
                    return Ok(build);
                }
            }
            anyhow::ensure!(Instant::now() < deadline, "{job} #{number} did not finish within {within:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// SIGTERM, and wait for it to exit.
    pub fn stop(mut self) -> anyhow::Result<()> {
        // SAFETY: signalling the child this process started and has not yet reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `/metrics` page.
pub struct Metrics(String);

impl Metrics {
    /// The value of the sample named exactly `sample` (with its labels, if any), or 0.
    pub fn value(&self, sample: &str) -> f64 {
        self.0.lines().find_map(|l| l.strip_prefix(sample).and_then(|rest| rest.strip_prefix(' '))).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0)
    }
}
