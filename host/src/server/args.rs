//! `pikoci server` flags: PikoCI's, so an operator's command line and environment carry over.
//! Every flag can also be set as the upper-cased environment variable (`DB_SYSTEM=sqlite`), and in
//! the `--config` file under its own name (`db-system: sqlite`); see config_file.rs.

use pikoci_store::{DbConfig, DbSystem, Secret};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug, Clone)]
pub struct ServerArgs {
    /// A config file (.yaml, .yml, .json, .toml or .env) whose keys are these flags' names
    /// (`port: 9090`); the command line and the environment win over it.
    #[arg(short, long, env = "CONFIG")]
    pub config: Option<PathBuf>,
    /// HTTP port (on all interfaces; use --listen for one address).
    #[arg(short, long, env = "PORT", default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on, overriding --port.
    #[arg(long, env = "LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// Database: mem (nothing on disk, the default), sqlite, postgresql or mysql (MariaDB 10.5+); implied by --db-url.
    #[arg(long, env = "DB_SYSTEM")]
    pub db_system: Option<DbSystem>,
    #[arg(long, env = "DB_HOST")]
    pub db_host: Option<String>,
    #[arg(long, env = "DB_PORT")]
    pub db_port: Option<u16>,
    #[arg(long, env = "DB_USER")]
    pub db_user: Option<String>,
    #[arg(long, env = "DB_PASSWORD", hide_env_values = true)]
    pub db_password: Option<String>,
    /// Database name (for sqlite: the file).
    #[arg(long, env = "DB_NAME")]
    pub db_name: Option<String>,
    /// The whole database URL instead of the --db-* flags (sqlite://FILE, postgres://..., mysql://...).
    #[arg(long, env = "DB_URL", hide_env_values = true)]
    pub db_url: Option<String>,
    /// Apply database migrations on start.
    #[arg(long, env = "RUN_MIGRATIONS", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub run_migrations: bool,
    /// Run builds in this process (`--run-worker` alone, as in PikoCI, or `--run-worker=false`).
    #[arg(long, env = "RUN_WORKER", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub run_worker: bool,
    /// Builds the embedded worker runs at once.
    #[arg(long, env = "CONCURRENCY", default_value_t = 1)]
    pub concurrency: usize,
    /// Resource checks run at once, across all pipelines.
    #[arg(long, env = "MAX_CONCURRENT_CHECKS", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrent_checks: u16,
    /// How long one resource check may take before it fails (and is retried with backoff).
    #[arg(long, env = "CHECK_TIMEOUT", default_value = "2m", value_parser = humantime::parse_duration)]
    pub check_timeout: Duration,
    /// On SIGQUIT, how long running builds may take to finish.
    #[arg(long, env = "DRAIN_TIMEOUT", default_value = "10m", value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,
    /// Team of the pipeline given with --pipeline-config.
    #[arg(long, env = "TEAM_CANONICAL", default_value = "main")]
    pub team_canonical: String,
    /// Worker environment variables a team's pipelines may read (the `env` secret type, `env:`
    /// grants), as TEAM=NAME,PREFIX_*. Repeatable. Without one, the default team reads every
    /// variable and other teams none.
    #[arg(long, env = "TEAM_ENV", value_name = "TEAM=NAMES", value_delimiter = ' ')]
    pub team_env: Vec<String>,
    /// Worker directories a team's pipelines may grant their plugins (`allow`'s `read` and
    /// `write`, a built-in's paths), as TEAM=DIR,DIR. Repeatable. Without one, the default team
    /// grants any directory and other teams only their builds' and caches'.
    #[arg(long, env = "TEAM_DIRS", value_name = "TEAM=DIRS", value_delimiter = ' ')]
    pub team_dirs: Vec<String>,
    /// Whose programs (tasks, `git`, service servers) the embedded worker confines with
    /// bubblewrap: auto (every team's but the default team's; where bubblewrap does not work
    /// here, the other teams start no program), bubblewrap (every team's, or refuse to start)
    /// or none.
    #[arg(long, env = "TASK_SANDBOX", value_enum, default_value = "auto")]
    pub task_sandbox: crate::runtime::program_sandbox::SandboxMode,
    /// A pipeline to set on start.
    #[arg(long, env = "PIPELINE_CONFIG")]
    pub pipeline_config: Option<PathBuf>,
    /// Its name (default: the file's name without extension).
    #[arg(short = 'n', long, env = "PIPELINE_NAME")]
    pub pipeline_name: Option<String>,
    /// A JSON file of variable values for that pipeline.
    #[arg(short = 'v', long, env = "VARS")]
    pub vars: Option<PathBuf>,
    /// A variable value for that pipeline, NAME=VALUE. Repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub var: Vec<String>,
    /// Users as USERNAME:HASH (from `pikoci user-password`). Repeatable; idempotent.
    #[arg(long, env = "USERS")]
    pub users: Vec<String>,
    /// Accepted for PikoCI compatibility: builds wait in pikoci's database, so `mem` is the only
    /// queue there is.
    #[arg(long, env = "PUBSUB_SYSTEM", hide = true, value_parser = only_mem_queue)]
    pub pubsub_system: Option<String>,
    /// Accepted for PikoCI compatibility; pikoci's tokens are random and stored hashed, no JWT.
    #[arg(long, env = "JWT_SECRET", hide = true, hide_env_values = true)]
    pub jwt_secret: Option<String>,
}

impl ServerArgs {
    pub fn db_system(&self) -> DbSystem {
        self.db_system.or_else(|| self.db_url.as_deref().and_then(|u| pikoci_store::system_of_url(u).ok())).unwrap_or(DbSystem::Mem)
    }

    pub fn db_config(&self) -> DbConfig {
        DbConfig {
            system: self.db_system(),
            url: self.db_url.clone().map(Secret::new),
            host: self.db_host.clone(),
            port: self.db_port,
            user: self.db_user.clone(),
            password: self.db_password.clone().map(Secret::new),
            name: self.db_name.clone(),
        }
    }

    pub fn check_limits(&self) -> super::scheduler::CheckLimits {
        super::scheduler::CheckLimits { concurrency: self.max_concurrent_checks.into(), timeout: self.check_timeout }
    }

    pub fn address(&self) -> std::net::SocketAddr {
        self.listen.unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], self.port)))
    }
}

fn only_mem_queue(value: &str) -> Result<String, String> {
    if value == "mem" {
        return Ok(value.to_string());
    }
    Err(format!("pikoci has no separate queue (builds wait in its database): `{value}` is not available; use `mem` or drop the flag"))
}
