//! What the executor runs: a job's steps with every plugin resolved and every value interpolated.
//!
//! A plan is plain data: it names plugins by digest ([`PluginRef`]) and holds secret-backed
//! variables as placeholders, so it can be stored with the pipeline version it was compiled from
//! and shipped to a worker. [`crate::planner`] compiles it from the typed pipeline; the executor
//! never looks at HCL, and resolves plugin references through a [`crate::runtime::PluginSet`].

use crate::runtime::{Capabilities, Capability, Plugin, PluginKind, PluginManifest, Version};
use pikoci_registry::Digest;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// Who the build is, as steps see it in `BUILD_*` variables.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BuildIdentity {
    pub team: String,
    pub pipeline: String,
    pub job: String,
    pub number: u64,
}

/// A plugin with the grants the pipeline gave it (beyond what each call adds: its own directory).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PluginRef {
    /// The plugin's own name (its manifest's).
    pub name: String,
    /// Where it came from, for messages: `pikoci://git`, `oci://...`, a path.
    pub origin: String,
    pub digest: Digest,
    pub kind: PluginKind,
    /// Granted to every call of this plugin (the pipeline's `allow` block).
    pub grants: Vec<Capability>,
    /// What the plugin's manifest asks for (`read:{source.path}`), as templates over a call.
    pub requests: Vec<String>,
    /// Whether `requests` are granted, resolved against each call: built-in plugins only; a
    /// third-party plugin gets its `allow` block.
    pub trusted: bool,
    /// A type-level `runner "docker" { image = ... }`: every program the plugin starts runs in
    /// a container of this configuration (the docker runner's params).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Value>,
}

impl PluginRef {
    /// `plugin` with `grants`; `trusted` grants its manifest's requests too.
    pub fn of(plugin: &Plugin, origin: &str, grants: Vec<Capability>, trusted: bool) -> Self {
        Self::from_manifest(plugin.manifest(), *plugin.digest(), origin, grants, trusted)
    }

    /// The same, from what the component says of itself, without loading it.
    pub fn from_manifest(manifest: &PluginManifest, digest: Digest, origin: &str, grants: Vec<Capability>, trusted: bool) -> Self {
        PluginRef {
            name: manifest.name.clone(),
            origin: origin.to_string(),
            digest,
            kind: manifest.kind,
            grants,
            requests: manifest.requested_capabilities.clone(),
            trusted,
            container: None,
        }
    }

    /// The pipeline's grants as a call's starting point.
    pub fn base_grants(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        for cap in &self.grants {
            caps.grant(cap.clone());
        }
        caps.container = self.container.clone();
        caps
    }
}

/// A secret type as a plan uses it: its plugin and configuration (its block's attributes, or an
/// inline type's definition).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SecretSource {
    pub plugin: PluginRef,
    pub config: Value,
}

/// A secret variable: the plan holds its placeholder wherever the pipeline uses it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SecretVariable {
    pub name: String,
    #[serde(flatten)]
    pub origin: SecretOrigin,
}

/// Where a secret variable's value comes from.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SecretOrigin {
    /// Read through a secret type when a step needs it. `path` and `key` may hold other secret
    /// variables' placeholders (PikoCI's secret chaining), resolved first.
    Fetched { source: Box<SecretSource>, path: String, key: String },
    /// Given with `--var` or a vars file. A plan set with values is never stored, so this
    /// stays in memory.
    Given { value: String },
}

/// A step's `secrets = { TYPE = "path" }`: each `$secret_<key>` the step refers to is read at
/// `path` from the first of its secret types that has it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepSecret {
    pub source: SecretSource,
    pub path: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobPlan {
    pub build: BuildIdentity,
    /// The job's `timeout`, over all its steps (hooks run after it).
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// A failure ends the build `warning`, which blocks no job after it.
    #[serde(default)]
    pub allow_failure: bool,
    /// Variables every step sees besides the build's own: the job's `INPUT_<NAME>`s, and for
    /// an `on_trigger` hook the new version's `version_<key>`s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
    pub steps: Vec<Step>,
    pub hooks: Hooks,
    /// Sent after the hooks, by how the build ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<AutoNotify>,
    /// Secret-backed variables the steps refer to by placeholder.
    pub secrets: Vec<SecretVariable>,
}

/// A `notification` with `on`: its step (an [`Action::Notify`]), sent when the build ends in one
/// of the events.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AutoNotify {
    pub on: Vec<pikoci_pipeline::NotifyEvent>,
    pub step: Step,
}

/// Steps run on completion of a step or job, by how it ended (Concourse's hooks).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Hooks {
    pub on_success: Vec<Step>,
    pub on_failure: Vec<Step>,
    pub on_error: Vec<Step>,
    pub on_abort: Vec<Step>,
    pub ensure: Vec<Step>,
}

impl Hooks {
    pub fn is_empty(&self) -> bool {
        self.on_success.is_empty() && self.on_failure.is_empty() && self.on_error.is_empty() && self.on_abort.is_empty() && self.ensure.is_empty()
    }

    pub fn all(&self) -> [&Vec<Step>; 5] {
        [&self.on_success, &self.on_failure, &self.on_error, &self.on_abort, &self.ensure]
    }

    pub fn all_mut(&mut self) -> [&mut Vec<Step>; 5] {
        [&mut self.on_success, &mut self.on_failure, &mut self.on_error, &mut self.on_abort, &mut self.ensure]
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Step {
    /// Shown in the log: `get app`, `task unit`, `put release`.
    pub name: String,
    pub action: Action,
    pub timeout: Option<Duration>,
    /// Total tries (1 = no retry).
    pub attempts: u32,
    pub hooks: Hooks,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<StepSecret>,
}

impl Step {
    pub fn new(name: impl Into<String>, action: Action) -> Self {
        Step { name: name.into(), action, timeout: None, attempts: 1, hooks: Hooks::default(), secrets: Vec::new() }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Action {
    Get(GetStep),
    Put(PutStep),
    Task(TaskStep),
    Service(ServiceStep),
    Notify(NotifyStep),
    InParallel {
        steps: Vec<Step>,
        limit: Option<usize>,
        fail_fast: bool,
    },
    /// A sequence, as hooks hold them.
    Do(Vec<Step>),
    /// The first branch whose condition holds runs; none may.
    If(Vec<Branch>),
}

/// One block of an `if` chain.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Branch {
    /// `if`, `else_if`, `else`, and its label: how the log names it.
    pub name: String,
    /// `None`: `else`.
    pub condition: Option<pikoci_pipeline::condition::Condition>,
    pub steps: Vec<Step>,
}

/// Who serves a resource's check, get and put.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ResourceBackend {
    /// A resource type plugin, configured with the resource's params. With `cache`, the call's
    /// source gets a `cache_dir` kept per resource.
    Plugin { plugin: PluginRef, source: Value, cache: bool },
    /// PikoCI's inline check/pull/push commands run by the adapter plugin; the executor adds the
    /// build's environment (and the cache directory) to the definition at each call.
    Inline { adapter: PluginRef, definition: Value, cache: bool },
    /// PikoCI's built-in `trigger`: an event stream of the team, named after the resource, kept by
    /// the server. A get passes the event's fields on as the version; a put appends an event.
    Trigger { stream: String },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetStep {
    pub resource: String,
    /// Where in the work directory the resource's content lands (PikoCI's `name` param, else the
    /// resource's name): where a `--input` directory is copied instead.
    pub directory: String,
    pub backend: ResourceBackend,
    pub params: Value,
    /// The version to fetch; `None` checks for the latest first.
    pub version: Option<Version>,
    /// `--input NAME=DIR`: copy this directory instead of calling the plugin.
    pub local: Option<PathBuf>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PutStep {
    pub resource: String,
    pub backend: ResourceBackend,
    pub params: Value,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskStep {
    pub runner: PluginRef,
    pub path: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The rest of the `run` block (an image...), for the runner.
    pub params: Value,
    /// Paths (relative to the work dir) that must exist before the task runs.
    pub inputs: Vec<String>,
    /// Paths (relative to the work dir) the task must have produced.
    pub outputs: Vec<String>,
    /// The names its `$PIKOCI_OUTPUT` values take for later steps (`TASK_<STEP>`): a task step's;
    /// a hook's command has none.
    #[serde(default)]
    pub output_prefix: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceStep {
    pub name: String,
    pub plugin: PluginRef,
    pub params: Value,
    /// PikoCI's inline start/ready_check/stop commands: the executor adds the build's
    /// environment to the definition (`params`) at each call.
    pub inline: bool,
    pub ready_interval: Duration,
    pub ready_timeout: Duration,
}

/// A notification sent through its notification type's plugin.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NotifyStep {
    pub plugin: PluginRef,
    /// The notification's params; for an inline type, the adapter's definition holding them.
    pub params: Value,
    /// The `notify` step's attributes.
    pub options: Value,
    /// The step's, else the notification's; `$VAR`s are expanded when it is sent.
    pub message: Option<String>,
}

/// One check of a resource, as the scheduler runs it: through the executor, like a build's
/// steps, so secrets, grants and caches work the same.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckPlan {
    /// The resource's pipeline (the job is empty, the number 0).
    pub build: BuildIdentity,
    pub resource: String,
    pub backend: ResourceBackend,
    pub secrets: Vec<SecretVariable>,
}
