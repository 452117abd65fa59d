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
    /// Wakes the scheduler at once (a finished build, a webhook, a manual check or trigger);
    /// a wake-up sent while it is busy is kept for its next wait, never lost.
    pub wake: Arc<tokio::sync::Notify>,
    /// Wakes the worker at once (a new build).
    pub wake_worker: Arc<tokio::sync::Notify>,
    /// Resources to check at once (webhooks, manual checks).
    pub check_now: Arc<Mutex<Vec<pikoci_store::ResourceId>>>,
    pub concurrency: usize,
    pub run_worker: bool,
    pub check_limits: super::scheduler::CheckLimits,
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
            wake: Default::default(),
            wake_worker: Default::default(),
            check_now: Default::default(),
            concurrency: concurrency.max(1),
            run_worker,
            check_limits: Default::default(),
        }
    }

    /// Start the scheduler and, when this process runs builds, the embedded worker.
    pub fn spawn_background(&self) {
        tokio::spawn(super::scheduler::run(self.clone()));
        if self.run_worker {
            tokio::spawn(super::worker::run(self.clone()));
        }
    }
}
