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
    /// Cancelled on SIGTERM/SIGINT: every running build is aborted.
    pub shutdown: CancellationToken,
}
