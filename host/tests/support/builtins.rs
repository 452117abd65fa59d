//! Calling built-in plugins with exactly the grants a pipeline run gives them: their manifest's
//! requests resolved against the call, as the executor resolves them, plus what the call adds.

use pikoci::executor::grants::{for_call, CallValues};
use pikoci::executor::PluginRef;
use pikoci::runtime::{Capabilities, Plugin};
use std::sync::Arc;
use std::time::Duration;

/// A loaded plugin with the reference a plan would hold for it.
pub struct BoundPlugin {
    pub plugin: Arc<Plugin>,
    pub reference: PluginRef,
}

/// A built-in bound as the planner binds `pikoci://NAME`: trusted, nothing granted by the pipeline.
pub fn bound(name: &str) -> BoundPlugin {
    let plugin = super::builtin(name);
    let reference = PluginRef::of(&plugin, &format!("pikoci://{name}"), Vec::new(), true);
    BoundPlugin { plugin: Arc::new(plugin), reference }
}

/// The grants of one call of `plugin`, as the executor computes them (a minute at most).
pub fn call_grants(plugin: &BoundPlugin, values: &CallValues, extra: &[String]) -> Capabilities {
    let mut grants = for_call(&plugin.reference, values, extra);
    grants.timeout = Duration::from_secs(60);
    grants
}

pub fn plugin(bound: &BoundPlugin) -> &Plugin {
    &bound.plugin
}
