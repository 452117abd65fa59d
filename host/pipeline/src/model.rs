//! The typed pipeline: what a valid pipeline file means, with where each part was written so
//! later checks (and the host) can point at it.
//!
//! Values a plugin interprets (resource params, runner attributes, put params) stay JSON: their
//! shape belongs to the plugin, not to the language.

use crate::catalog::PluginKind;
use crate::diagnostic::Span;
use pikoci_registry::{Digest, Reference};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Attribute values handed to a plugin, by attribute name.
pub type Params = BTreeMap<String, Value>;

/// A name as written, with where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

impl Name {
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Pipeline {
    pub variables: Vec<Variable>,
    pub resource_types: Vec<ResourceType>,
    pub runner_types: Vec<RunnerType>,
    pub service_types: Vec<ServiceType>,
    pub secret_types: Vec<SecretType>,
    pub notification_types: Vec<NotificationType>,
    pub notifications: Vec<Notification>,
    pub resources: Vec<Resource>,
    pub jobs: Vec<Job>,
}

impl Pipeline {
    pub fn job(&self, name: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.name.text == name)
    }

    pub fn resource(&self, type_name: &str, name: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.type_name.text == type_name && r.name.text == name)
    }

    pub fn notification(&self, type_name: &str, name: &str) -> Option<&Notification> {
        self.notifications.iter().find(|n| n.type_name.text == type_name && n.name.text == name)
    }
}

// ---------------------------------------------------------------------------------------------
// Variables

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarType {
    String,
    Number,
    Bool,
    /// No `type`, or `any`: whatever was given.
    Any,
}

#[derive(Clone, Debug)]
pub struct Variable {
    pub name: Name,
    pub var_type: VarType,
    pub default: Option<Value>,
    pub secret: Option<SecretRef>,
    /// What the variable stands for in this load, by PikoCI's precedence: given, else secret,
    /// else default.
    pub value: VariableValue,
}

#[derive(Clone, Debug, PartialEq)]
pub enum VariableValue {
    /// From `--var` or the vars file.
    Given(Value),
    /// From `--var` or the vars file for a variable with a `secret` block or `sensitive = true`:
    /// a secret as a fetched one is (the pipeline holds the placeholder, logs redact it).
    GivenSecret(Value),
    /// Fetched by the secret type at run time; the pipeline holds
    /// [`secret_placeholder`](crate::interpolate::secret_placeholder) in its place.
    Secret,
    Default(Value),
    /// No value anywhere (an error has been reported).
    Missing,
}

/// `secret "TYPE" { path = ..., key = ... }` inside a variable.
#[derive(Clone, Debug)]
pub struct SecretRef {
    pub secret_type: Name,
    pub path: Option<String>,
    pub key: String,
}

// ---------------------------------------------------------------------------------------------
// Types (plugins)

/// Where a type's plugin comes from (`source = "..."`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PluginSource {
    /// `pikoci://NAME`, built into the binary.
    Builtin(String),
    /// `oci://HOST/REPO:TAG`, `oci://HOST/REPO@sha256:...` or both.
    Oci(Reference),
    /// An `https://` URL to a component, pinned by the block's `digest`.
    WasmUrl { url: String, digest: Digest },
    /// A component file, relative paths taken from the pipeline file's directory.
    WasmFile { path: PathBuf, digest: Option<Digest> },
    /// A PikoCI-style HCL definition (inline commands) at an `https://` URL.
    DefinitionUrl(String),
    /// A PikoCI-style HCL definition in a file.
    DefinitionFile(PathBuf),
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginSource::Builtin(n) => write!(f, "pikoci://{n}"),
            PluginSource::Oci(r) => write!(f, "{r}"),
            PluginSource::WasmUrl { url, .. } | PluginSource::DefinitionUrl(url) => f.write_str(url),
            PluginSource::WasmFile { path, .. } | PluginSource::DefinitionFile(path) => write!(f, "{}", path.display()),
        }
    }
}

/// How a type is implemented.
#[derive(Clone, Debug)]
pub enum Implementation<Inline> {
    Source {
        source: PluginSource,
        span: Span,
    },
    /// PikoCI's inline exec commands, run by a built-in adapter plugin.
    Inline(Inline),
    /// A block named after a built-in that only configures it (`allow`, `cache`, `runner`).
    Builtin,
}

/// The kinds of capability, in the text form `KIND:VALUE` the CLI's `--allow`, manifests and a
/// pipeline's `allow` block share (the runtime parses the values).
pub const CAPABILITY_KINDS: [&str; 5] = ["read", "write", "net", "run", "env"];

/// What a type's plugin may do beyond what its kind needs: `allow { read write net run env }`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allow {
    /// Directories it may read.
    pub read: Vec<String>,
    /// Directories it may write.
    pub write: Vec<String>,
    /// Network hosts (`host` or `host:port`).
    pub net: Vec<String>,
    /// Programs it may run.
    pub run: Vec<String>,
    /// Environment variable names it may see.
    pub env: Vec<String>,
}

impl Allow {
    /// Each grant in its capability text form (`read:/srv`), in [`CAPABILITY_KINDS`] order.
    pub fn capabilities(&self) -> impl Iterator<Item = String> + '_ {
        CAPABILITY_KINDS
            .iter()
            .zip([&self.read, &self.write, &self.net, &self.run, &self.env])
            .flat_map(|(kind, values)| values.iter().map(move |v| format!("{kind}:{v}")))
    }
}

/// A command run through a runner: `check "exec" { path = ..., args = [...] }`, `run "docker" {
/// image = ..., cmd = ... }`, `on_failure "exec" { ... }`.
#[derive(Clone, Debug)]
pub struct RunnerCall {
    pub runner: Name,
    /// The block's attributes, which the runner substitutes (`$path`, `$args`, `$image`, ...).
    pub params: Params,
    pub span: Span,
}

/// A type declared in the pipeline. `Inline` is what the kind defines inline.
#[derive(Clone, Debug)]
pub struct TypeDecl<Inline> {
    pub name: Name,
    pub implementation: Implementation<Inline>,
    /// The parameter names it accepts (`params = [...]`), when it lists them.
    pub params: Option<Vec<String>>,
    /// Extra configuration attributes (secret types' `address`, services' defaults).
    pub config: Params,
    /// `runner "docker" { image = ... }`: run all its exec commands through this runner instead.
    pub runner: Option<RunnerCall>,
    pub allow: Allow,
    pub span: Span,
    /// The PikoCI definition file (`source = "FILE.hcl"`) its inline commands were read from,
    /// whose text their spans point into.
    pub definition: Option<std::sync::Arc<crate::diagnostic::SourceFile>>,
}

impl<I> TypeDecl<I> {
    pub fn source(&self) -> Option<&PluginSource> {
        match &self.implementation {
            Implementation::Source { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ResourceCommands {
    pub check: Option<RunnerCall>,
    pub pull: Option<RunnerCall>,
    pub push: Option<RunnerCall>,
}

#[derive(Clone, Debug)]
pub struct ResourceType {
    pub decl: TypeDecl<ResourceCommands>,
    /// `cache = true`: a persistent `$CACHE_DIR` for check and pull.
    pub cache: Option<bool>,
}

/// `run { path = ..., args = [...] }` of an inline runner type; `$NAME` is replaced by the task's
/// `run` attribute NAME, `$WORKDIR` by the build's directory.
#[derive(Clone, Debug)]
pub struct RunTemplate {
    pub path: String,
    pub args: Vec<String>,
}

pub type RunnerType = TypeDecl<RunTemplate>;

#[derive(Clone, Debug)]
pub struct ReadyCheck {
    pub call: RunnerCall,
    /// Between attempts; 1 s unless given.
    pub interval: Duration,
    /// Overall; 60 s unless given.
    pub timeout: Duration,
}

#[derive(Clone, Debug)]
pub struct ServiceCommands {
    pub start: RunnerCall,
    pub ready_check: Option<ReadyCheck>,
    pub stop: RunnerCall,
}

pub type ServiceType = TypeDecl<ServiceCommands>;

/// An inline secret type's `get "RUNNER" { ... }`: prints a JSON object on its last line.
#[derive(Clone, Debug)]
pub struct SecretCommand {
    pub get: RunnerCall,
}

pub type SecretType = TypeDecl<SecretCommand>;

/// An inline notification type's `notify "RUNNER" { ... }`: run with `$param_*`, `$notify_*` and
/// `$NOTIFY_MESSAGE` in its environment.
#[derive(Clone, Debug)]
pub struct NotifyCommand {
    pub notify: RunnerCall,
}

pub type NotificationType = TypeDecl<NotifyCommand>;

// ---------------------------------------------------------------------------------------------
// Notifications

/// How a build ended, as a notification's `on` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    Success,
    /// Failed, or errored: either way the build did not do its job.
    Failure,
    Cancel,
}

impl NotifyEvent {
    pub const ALL: [NotifyEvent; 3] = [NotifyEvent::Success, NotifyEvent::Failure, NotifyEvent::Cancel];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::Success => "success",
            NotifyEvent::Failure => "failure",
            NotifyEvent::Cancel => "cancel",
        }
    }
}

/// `notification "TYPE" "NAME" { params { ... } message = ... on = [...] }`: a destination, sent
/// to by `notify` steps and, with `on`, by the host when a build ends that way.
#[derive(Clone, Debug)]
pub struct Notification {
    pub type_name: Name,
    pub name: Name,
    pub params: Params,
    pub message: Option<String>,
    /// Empty: only `notify` steps send it.
    pub on: Vec<NotifyEvent>,
    /// Only builds of these jobs (empty: every job not excluded).
    pub jobs: Vec<Name>,
    pub exclude: Vec<Name>,
    pub span: Span,
}

impl Notification {
    /// Whether the host sends it when a build of `job` ends with `event`.
    pub fn fires_for(&self, job: &Job, event: NotifyEvent) -> bool {
        let names = |list: &[Name]| list.iter().any(|n| n.text == job.name.text || job.group.as_deref() == Some(n.as_str()));
        self.on.contains(&event) && (self.jobs.is_empty() || names(&self.jobs)) && !names(&self.exclude)
    }
}

// ---------------------------------------------------------------------------------------------
// Resources

/// When a resource is checked for new versions.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckInterval {
    /// `@every 1m`.
    Every(Duration),
    /// A five-field cron expression or a descriptor such as `@hourly`.
    Cron(String),
}

/// The shortest `@every` PikoCI (and pikoci) accept.
pub const MIN_CHECK_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct Resource {
    pub type_name: Name,
    pub name: Name,
    pub params: Params,
    pub check_interval: Option<CheckInterval>,
    /// Overrides the type's `cache`.
    pub cache: Option<bool>,
    /// Only workers with all of these tags check it.
    pub tags: Vec<String>,
    pub span: Span,
}

/// A `get`/`put` naming a resource by type and name, as PikoCI does.
#[derive(Clone, Debug)]
pub struct ResourceRef {
    pub type_name: Name,
    pub name: Name,
}

// ---------------------------------------------------------------------------------------------
// Jobs and steps

#[derive(Clone, Debug)]
pub struct Job {
    pub name: Name,
    /// The job block this is an instance of (`for_each`, `matrix`): what `passed` names to mean
    /// all of its instances.
    pub group: Option<String>,
    /// How many builds may run at once; `None` is unlimited (PikoCI's `0`).
    pub concurrency: Option<u32>,
    /// For the whole build: past it the steps are aborted, the abort hooks and `ensure` run, and
    /// the build fails (PikoCI's semantics).
    pub timeout: Option<Duration>,
    /// While a build of this job runs, no other job of the pipeline sharing one of these groups
    /// starts a build (PikoCI's and Concourse's `serial_groups`).
    pub serial_groups: Vec<String>,
    /// A new build aborts the job's builds still pending or running.
    pub interruptible: bool,
    /// Its builds may not be retried.
    pub disable_retry: bool,
    /// A failed build ends `warning`: its failure hooks run, and the jobs after it are not blocked.
    pub allow_failure: bool,
    pub tags: Vec<String>,
    /// Values a manual trigger gives (`input "NAME" { ... }`), which steps see as `$INPUT_<NAME>`.
    pub inputs: Vec<JobInput>,
    pub steps: Vec<Step>,
    pub hooks: Vec<Hook>,
    /// `on_trigger { notify ... }`: sent when a new version is about to start a build of the job.
    pub on_trigger: Vec<NotifyStep>,
    pub span: Span,
}

/// What an `input` block accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    String,
    Number,
    Bool,
}

impl InputType {
    /// The value an automatic build gets for an input without a default.
    pub fn zero(self) -> &'static str {
        match self {
            InputType::String => "",
            InputType::Number => "0",
            InputType::Bool => "false",
        }
    }
}

/// `input "NAME" { type, description, default, options, multiple }` of a job, as PikoCI has it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JobInput {
    pub name: String,
    #[serde(rename = "type")]
    pub input_type: InputType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Without one, a manual trigger must give the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The values allowed (strings only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Several of `options`, comma-separated.
    #[serde(default)]
    pub multiple: bool,
}

impl JobInput {
    /// Why `value` is not one this input takes.
    pub fn refuses(&self, value: &str) -> Option<String> {
        match self.input_type {
            InputType::Number if value.trim().parse::<f64>().is_err() => return Some(format!("input `{}` is a number, not `{value}`", self.name)),
            InputType::Bool if value != "true" && value != "false" => return Some(format!("input `{}` is true or false, not `{value}`", self.name)),
            _ => {}
        }
        if self.options.is_empty() {
            return None;
        }
        let values: Vec<&str> = if self.multiple { value.split(',').map(str::trim).collect() } else { vec![value] };
        let wrong = values.into_iter().find(|v| !self.options.iter().any(|o| o == v))?;
        Some(format!("input `{}` takes {}, not `{wrong}`", self.name, self.options.iter().map(|o| format!("`{o}`")).collect::<Vec<_>>().join(", ")))
    }
}

#[derive(Clone, Debug)]
pub enum Step {
    Get(GetStep),
    Task(TaskStep),
    Put(PutStep),
    Service(ServiceStep),
    InParallel(InParallel),
    Notify(NotifyStep),
    If(IfStep),
}

impl Step {
    /// The settings every step but `service` has.
    pub fn common(&self) -> Option<&StepCommon> {
        match self {
            Step::Get(s) => Some(&s.common),
            Step::Task(s) => Some(&s.common),
            Step::Put(s) => Some(&s.common),
            Step::InParallel(s) => Some(&s.common),
            Step::If(s) => Some(&s.common),
            Step::Service(_) | Step::Notify(_) => None,
        }
    }

    pub fn common_mut(&mut self) -> Option<&mut StepCommon> {
        match self {
            Step::Get(s) => Some(&mut s.common),
            Step::Task(s) => Some(&mut s.common),
            Step::Put(s) => Some(&mut s.common),
            Step::InParallel(s) => Some(&mut s.common),
            Step::If(s) => Some(&mut s.common),
            Step::Service(_) | Step::Notify(_) => None,
        }
    }
}

/// Settings shared by steps.
#[derive(Clone, Debug, Default)]
pub struct StepCommon {
    /// Per attempt; no limit unless given.
    pub timeout: Option<Duration>,
    /// How many times to try; 1 unless given.
    pub attempts: u32,
    /// Secret type name → path, fetched for the step and exposed as `secret_<key>`.
    pub secrets: Vec<(Name, String)>,
    pub hooks: Vec<Hook>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct GetStep {
    pub resource: ResourceRef,
    /// Start the job on a new version.
    pub trigger: bool,
    /// Only versions that went through all these jobs.
    pub passed: Vec<Name>,
    pub params: Params,
    pub common: StepCommon,
}

#[derive(Clone, Debug)]
pub struct TaskStep {
    pub name: Name,
    pub run: RunnerCall,
    /// Paths under `$WORKDIR` that must exist before it runs.
    pub inputs: Vec<String>,
    /// Paths under `$WORKDIR` that must exist after it ran.
    pub outputs: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub common: StepCommon,
}

#[derive(Clone, Debug)]
pub struct PutStep {
    pub resource: ResourceRef,
    /// `$put_<key>` for the push command.
    pub params: Params,
    pub common: StepCommon,
}

/// `service "TYPE" { overrides }`: started before the job's other steps, stopped after.
#[derive(Clone, Debug)]
pub struct ServiceStep {
    pub service_type: Name,
    pub params: Params,
    pub span: Span,
}

/// `notify "TYPE" "NAME" { status = ... message = ... }`: send a notification now.
#[derive(Clone, Debug)]
pub struct NotifyStep {
    pub type_name: Name,
    pub name: Name,
    /// The step's attributes but `message` (`$notify_<name>` for inline types).
    pub options: Params,
    /// Overrides the notification's.
    pub message: Option<String>,
    pub span: Span,
}

/// `if "LABEL" { condition = ... }`, then any `else_if "LABEL" { condition = ... }`, then maybe
/// `else { ... }`: the steps of the first branch whose condition holds when the build reaches it.
#[derive(Clone, Debug)]
pub struct IfStep {
    pub branches: Vec<Branch>,
    /// The `if` block's own hooks, timeout and attempts.
    pub common: StepCommon,
}

#[derive(Clone, Debug)]
pub struct Branch {
    /// `if`, `else_if` or `else`, as written.
    pub keyword: &'static str,
    pub label: Option<Name>,
    /// `None` for `else`.
    pub condition: Option<crate::condition::Condition>,
    pub steps: Vec<Step>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct InParallel {
    /// At most this many at once; all at once unless given.
    pub limit: Option<u32>,
    /// Stop the others when one fails.
    pub fail_fast: bool,
    pub steps: Vec<Step>,
    pub common: StepCommon,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookEvent {
    /// The step or job succeeded.
    Success,
    /// It failed (a command exited non-zero, a check failed).
    Failure,
    /// It could not run (a plugin or the host broke, a timeout in a hook).
    Error,
    /// Someone aborted it.
    Abort,
    /// Always, last.
    Ensure,
}

impl HookEvent {
    /// Each hook keyword and its event; the first keyword of an event is its name.
    /// `on_cancel` is PikoCI's name for `on_abort`.
    pub const ALL: [(&'static str, HookEvent); 6] = [
        ("on_success", HookEvent::Success),
        ("on_failure", HookEvent::Failure),
        ("on_error", HookEvent::Error),
        ("on_abort", HookEvent::Abort),
        ("on_cancel", HookEvent::Abort),
        ("ensure", HookEvent::Ensure),
    ];

    /// Every hook keyword, for the block lists of jobs and steps.
    pub const KEYWORDS: [&'static str; 6] = {
        let mut keywords = [""; 6];
        let mut i = 0;
        while i < keywords.len() {
            keywords[i] = HookEvent::ALL[i].0;
            i += 1;
        }
        keywords
    };

    pub fn keyword(self) -> &'static str {
        HookEvent::ALL.iter().find(|(_, e)| *e == self).map_or("ensure", |(k, _)| k)
    }
}

#[derive(Clone, Debug)]
pub struct Hook {
    pub event: HookEvent,
    pub action: HookAction,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum HookAction {
    /// `on_failure "exec" { path = ..., args = [...] }`.
    Run(RunnerCall),
    /// `on_failure { put ... task ... }`.
    Steps(Vec<Step>),
}

/// For the kind each type block declares.
pub fn kind_of_block(keyword: &str) -> Option<PluginKind> {
    match keyword {
        "resource_type" => Some(PluginKind::ResourceType),
        "runner_type" => Some(PluginKind::Runner),
        "service_type" => Some(PluginKind::ServiceType),
        "secret_type" => Some(PluginKind::SecretType),
        "notification_type" => Some(PluginKind::NotificationType),
        _ => None,
    }
}
