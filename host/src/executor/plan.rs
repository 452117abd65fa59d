//! What the executor runs: a job's steps with every plugin resolved and every value interpolated.
//!
//! A plan is built from the typed pipeline (`pikoci-pipeline`) by [`crate::planner`]; the
//! executor never looks at HCL.

use crate::runtime::{Capabilities, Plugin, Version};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Who the build is, as steps see it in `BUILD_*` variables.
#[derive(Debug, Clone)]
pub struct BuildIdentity {
    pub team: String,
    pub pipeline: String,
    pub job: String,
    pub number: u64,
}

/// A plugin with the grants the pipeline gave it (beyond what each call adds: its own directory).
#[derive(Clone)]
pub struct BoundPlugin {
    pub plugin: Arc<Plugin>,
    /// Granted to every call of this plugin (the pipeline's `allow` block).
    pub grants: Capabilities,
    /// Whether the plugin's own manifest requests are granted too (built-in plugins).
    pub trusted: bool,
}

#[derive(Clone)]
pub struct JobPlan {
    pub build: BuildIdentity,
    pub steps: Vec<Step>,
    pub hooks: Hooks,
    /// Secret-backed variables the steps refer to by placeholder.
    pub secrets: Vec<super::secrets::SecretVariable>,
}

/// Steps run on completion of a step or job, by how it ended (Concourse's hooks).
#[derive(Clone, Default)]
pub struct Hooks {
    pub on_success: Vec<Step>,
    pub on_failure: Vec<Step>,
    pub on_error: Vec<Step>,
    pub on_abort: Vec<Step>,
    pub ensure: Vec<Step>,
}

impl Hooks {
    pub fn is_empty(&self) -> bool {
        self.on_success.is_empty()
            && self.on_failure.is_empty()
            && self.on_error.is_empty()
            && self.on_abort.is_empty()
            && self.ensure.is_empty()
    }
}

#[derive(Clone)]
pub struct Step {
    /// Shown in the log: `get app`, `task unit`, `put release`.
    pub name: String,
    pub action: Action,
    pub timeout: Option<Duration>,
    /// Total tries (1 = no retry).
    pub attempts: u32,
    pub hooks: Hooks,
}

#[derive(Clone)]
pub enum Action {
    Get(GetStep),
    Put(PutStep),
    Task(TaskStep),
    Service(ServiceStep),
    InParallel { steps: Vec<Step>, limit: Option<usize>, fail_fast: bool },
    /// A sequence, as hooks hold them.
    Do(Vec<Step>),
}

/// Who serves a resource's get and put.
#[derive(Clone)]
pub enum ResourceBackend {
    /// A resource type plugin, configured with the resource's params.
    Plugin { plugin: BoundPlugin, source: serde_json::Value },
    /// PikoCI's built-in `trigger`: an event stream of the team, named after the resource, kept by
    /// the server. A get passes the event's fields on as the version; a put appends an event.
    Trigger { stream: String },
}

#[derive(Clone)]
pub struct GetStep {
    pub resource: String,
    /// Where in the work directory the resource's content lands (PikoCI's `name` param, else the
    /// resource's name): where a `--input` directory is copied instead.
    pub directory: String,
    pub backend: ResourceBackend,
    pub params: serde_json::Value,
    /// The version to fetch; `None` checks for the latest first.
    pub version: Option<Version>,
    /// `--input NAME=DIR`: copy this directory instead of calling the plugin.
    pub local: Option<PathBuf>,
}

#[derive(Clone)]
pub struct PutStep {
    pub resource: String,
    pub backend: ResourceBackend,
    pub params: serde_json::Value,
}

#[derive(Clone)]
pub struct TaskStep {
    pub runner: BoundPlugin,
    pub path: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The rest of the `run` block (an image...), for the runner.
    pub params: serde_json::Value,
    /// Paths (relative to the work dir) that must exist before the task runs.
    pub inputs: Vec<String>,
    /// Paths (relative to the work dir) the task must have produced.
    pub outputs: Vec<String>,
}

#[derive(Clone)]
pub struct ServiceStep {
    pub name: String,
    pub plugin: BoundPlugin,
    pub params: serde_json::Value,
    pub ready_interval: Duration,
    pub ready_timeout: Duration,
}
