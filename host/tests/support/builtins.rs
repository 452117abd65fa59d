//! Calling built-in plugins with exactly the grants a pipeline run gives them: their manifest's
//! requests resolved against the call, as the executor resolves them, plus what the call adds.

use pikoci::executor::grants::{for_call, CallValues};
use pikoci::executor::BoundPlugin;
use pikoci::runtime::{Capabilities, Plugin};
use std::sync::Arc;
use std::time::Duration;

/// A built-in bound as the planner binds `pikoci://NAME`: trusted, nothing granted by the pipeline.
pub fn bound(name: &str) -> BoundPlugin {
    let base = Capabilities { timeout: Duration::from_secs(60), ..Default::default() };
    BoundPlugin { plugin: Arc::new(super::builtin(name)), grants: base, trusted: true }
}

/// The grants of one call of `plugin`, as the executor computes them.
pub fn call_grants(plugin: &BoundPlugin, values: &CallValues, extra: &[String]) -> Capabilities {
    for_call(plugin, values, extra)
}

pub fn plugin(bound: &BoundPlugin) -> &Plugin {
    &bound.plugin
}
