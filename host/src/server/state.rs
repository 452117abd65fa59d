//! What every part of the server shares.

use super::metrics::Metrics;
use crate::runtime::PluginEngine;
use pikoci_store::{BuildId, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub engine: Arc<PluginEngine>,
    pub metrics: Arc<Metrics>,
    /// Cancellation of each build running on the embedded worker.
    pub running: Arc<Mutex<HashMap<BuildId, CancellationToken>>>,
    /// Cancelled on SIGTERM/SIGINT/SIGQUIT: no new builds start.
    pub shutdown: CancellationToken,
    pub pipelines: super::active::ActivePipelines,
    /// Where compiled and pulled plugins, and inline types' caches, live.
    pub cache_dir: std::path::PathBuf,
    /// Wakes the scheduler at once (a new version, a finished build, a webhook, a trigger).
    pub wake: Arc<tokio::sync::Notify>,
    /// Resources to check at once (webhooks, manual checks).
    pub check_now: Arc<Mutex<Vec<pikoci_store::ResourceId>>>,
    pub concurrency: usize,
    pub run_worker: bool,
}
