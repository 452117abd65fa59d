//! What every part of the server shares.

use super::metrics::Metrics;
use crate::plugin_source::{PluginLocator, RegistryAccess};
use crate::runtime::{PluginEngine, PluginSet};
use pikoci_store::{BuildId, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub engine: Arc<PluginEngine>,
    /// The plugins compiled pipelines name, by digest.
    pub plugins: Arc<PluginSet>,
    /// Fetches the plugins pipelines name, with the registry flags the server was started with.
    pub locator: Arc<PluginLocator>,
    pub metrics: Arc<Metrics>,
    /// Cancellation of each build running on the embedded worker.
    pub running: Arc<Mutex<HashMap<BuildId, CancellationToken>>>,
    /// Cancelled on SIGTERM/SIGINT/SIGQUIT: no new builds start.
    pub shutdown: CancellationToken,
    pub pipelines: super::active::ActivePipelines,
    /// Where compiled and pulled plugins, and inline types' caches, live.
    pub cache_dir: std::path::PathBuf,
    /// What the scheduler is told of (a pipeline set, a webhook, a build ended...).
    pub scheduler: super::scheduler::Scheduler,
    /// Wakes the worker (a new build, a free slot); a wake-up sent while it is busy is kept for
    /// its next wait, never lost.
    pub wake_worker: Arc<tokio::sync::Notify>,
    pub concurrency: usize,
    pub run_worker: bool,
    pub check_limits: super::scheduler::CheckLimits,
    /// Wrong passwords seen lately, by user name and client address.
    pub login_limit: Arc<super::login_limit::LoginLimit>,
    /// Which worker variables each team's pipelines may read.
    pub team_env: Arc<crate::executor::team_rules::TeamEnv>,
    /// Which worker directories each team's pipelines may grant.
    pub team_dirs: Arc<crate::executor::team_rules::TeamDirs>,
    /// Which teams' programs the embedded worker confines.
    pub program_sandbox: Arc<crate::runtime::program_sandbox::SandboxPolicy>,
}

impl AppState {
    pub fn new(store: Store, engine: Arc<PluginEngine>, cache_dir: std::path::PathBuf, registry: RegistryAccess, concurrency: usize, run_worker: bool) -> Self {
        let metrics = Arc::new(Metrics::new());
        engine.observe_calls(metrics.call_observer());
        AppState {
            store,
            plugins: Arc::new(PluginSet::new(engine.clone(), Some(cache_dir.clone()))),
            locator: Arc::new(PluginLocator::new(&cache_dir, registry)),
            engine,
            metrics,
            running: Default::default(),
            shutdown: CancellationToken::new(),
            pipelines: Default::default(),
            cache_dir,
            scheduler: Default::default(),
            wake_worker: Default::default(),
            concurrency: concurrency.max(1),
            run_worker,
            check_limits: Default::default(),
            login_limit: Default::default(),
            team_env: Default::default(),
            team_dirs: Default::default(),
            program_sandbox: Default::default(),
        }
    }

    /// How this server's builds and checks run: its plugins, cache, team rules and sandbox.
    pub fn exec_options(&self) -> crate::executor::ExecOptions {
        let mut options = crate::executor::ExecOptions::new(self.plugins.clone(), self.cache_dir.join("cache"));
        options.team_env = self.team_env.clone();
        options.team_dirs = self.team_dirs.clone();
        options.program_sandbox = self.program_sandbox.clone();
        options
    }

    /// Start the scheduler and, when this process runs builds, the embedded worker. Both stop
    /// on shutdown; wait for them before closing the store.
    pub fn spawn_background(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = vec![tokio::spawn(super::scheduler::run(self.clone()))];
        if self.run_worker {
            tasks.push(tokio::spawn(super::worker::run(self.clone())));
        }
        tasks
    }
}
