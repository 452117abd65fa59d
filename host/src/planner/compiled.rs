//! The compiled pipeline: what a typed pipeline means once every type is bound to a plugin,
//! every value interpolated and every job turned into step templates. Plain data, stored with the
//! pipeline version it was compiled from, so a build runs the plan of the version that created it.

use crate::executor::{AutoNotify, BuildIdentity, Hooks, JobPlan, ResourceBackend, SecretVariable, Step};
use crate::runtime::Version;
use pikoci_pipeline::CheckInterval;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompiledPipeline {
    pub name: String,
    pub team: String,
    pub resources: Vec<CompiledResource>,
    pub jobs: Vec<CompiledJob>,
    /// Secret-backed variables, which plans hold as placeholders.
    pub secrets: Vec<SecretVariable>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompiledResource {
    pub name: String,
    pub type_name: String,
    pub backend: ResourceBackend,
    /// Where a get puts it in the work directory (the `name` param, else the resource's name).
    pub directory: String,
    /// `None`: the server's default interval.
    pub check_interval: Option<CheckInterval>,
}

/// A job's `get` as the scheduler needs it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetInput {
    pub resource: String,
    pub trigger: bool,
    pub passed: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompiledJob {
    pub name: String,
    /// How many builds may run at once; `None` is no cap.
    pub concurrency: Option<usize>,
    #[serde(default)]
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub serial_groups: Vec<String>,
    #[serde(default)]
    pub interruptible: bool,
    #[serde(default)]
    pub disable_retry: bool,
    #[serde(default)]
    pub allow_failure: bool,
    /// What a manual trigger may give.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<pikoci_pipeline::JobInput>,
    /// Notify steps sent when a new version is about to start a build (PikoCI's `on_trigger`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_trigger: Vec<Step>,
    /// Every get of the job, nested ones included, in order.
    pub gets: Vec<GetInput>,
    pub steps: Vec<Step>,
    pub hooks: Hooks,
    /// The pipeline's notifications with `on` that cover this job.
    #[serde(default)]
    pub notifications: Vec<AutoNotify>,
}

/// What the gets of a build fetch: a version, or a local directory (`pikoci run --input`).
#[derive(Clone, Debug, Default)]
pub struct JobInputs {
    pub versions: BTreeMap<String, Version>,
    pub local: BTreeMap<String, PathBuf>,
    /// Values of the job's `input` blocks a trigger gave; the others take their default, or
    /// their type's zero value (`""`, `0`, `false`) as on PikoCI.
    pub values: BTreeMap<String, String>,
}

impl CompiledPipeline {
    pub fn job(&self, name: &str) -> Option<&CompiledJob> {
        self.jobs.iter().find(|j| j.name == name)
    }

    pub fn resource(&self, name: &str) -> Option<&CompiledResource> {
        self.resources.iter().find(|r| r.name == name)
    }

    pub fn job_names(&self) -> Vec<String> {
        self.jobs.iter().map(|j| j.name.clone()).collect()
    }

    /// The plan of build `number` of `job`: its templates with the chosen versions (or local
    /// directories). No file, environment or HCL is read.
    pub fn plan(&self, job: &str, inputs: &JobInputs, number: u64) -> Result<JobPlan, String> {
        let compiled = self.job(job).ok_or_else(|| format!("job `{job}` is not defined; the pipeline's jobs are: {}", self.job_names().join(", ")))?;
        let mut steps = compiled.steps.clone();
        let mut hooks = compiled.hooks.clone();
        for step in steps.iter_mut().chain(hooks.all_mut().into_iter().flatten()) {
            fill_inputs(step, inputs);
        }
        let build = BuildIdentity { team: self.team.clone(), pipeline: self.name.clone(), job: job.to_string(), number };
        let values = input_env(compiled, &inputs.values);
        Ok(JobPlan {
            build,
            timeout: compiled.timeout,
            allow_failure: compiled.allow_failure,
            env: values,
            steps,
            hooks,
            notifications: compiled.notifications.clone(),
            secrets: self.secrets.clone(),
        })
    }

    /// A plan for each of `job`'s `on_trigger` notifications for a new version (its fields
    /// `version`), before any build exists: number 0, the inputs' defaults. One plan each, so
    /// one that fails does not keep the others from being sent.
    pub fn on_trigger_plans(&self, job: &str, version: &Version) -> Vec<JobPlan> {
        let Some(compiled) = self.job(job) else { return Vec::new() };
        let mut env = input_env(compiled, &BTreeMap::new());
        env.extend(version.0.iter().map(|(k, v)| (format!("version_{k}"), v.clone())));
        let plan = |step: &Step| JobPlan {
            build: BuildIdentity { team: self.team.clone(), pipeline: self.name.clone(), job: job.to_string(), number: 0 },
            timeout: None,
            allow_failure: false,
            env: env.clone(),
            steps: vec![step.clone()],
            hooks: Hooks::default(),
            notifications: Vec::new(),
            secrets: self.secrets.clone(),
        };
        compiled.on_trigger.iter().map(plan).collect()
    }

    /// How the scheduler checks `resource`.
    pub fn check_plan(&self, resource: &str) -> Option<crate::executor::CheckPlan> {
        self.resource(resource).map(|r| self.check_plan_of(r))
    }

    /// [`Self::check_plan`] of a resource already found (the scheduler knows its place).
    pub fn check_plan_of(&self, r: &CompiledResource) -> crate::executor::CheckPlan {
        let build = BuildIdentity { team: self.team.clone(), pipeline: self.name.clone(), job: String::new(), number: 0 };
        crate::executor::CheckPlan { build, resource: r.name.clone(), backend: r.backend.clone(), secrets: self.secrets.clone() }
    }
}

/// `INPUT_<NAME>` of each of the job's inputs: the value given, else its default, else its
/// type's zero value.
fn input_env(job: &CompiledJob, given: &BTreeMap<String, String>) -> Vec<(String, String)> {
    job.inputs
        .iter()
        .map(|i| {
            let value = given.get(&i.name).cloned().or_else(|| i.default.clone()).unwrap_or_else(|| i.input_type.zero().to_string());
            (format!("INPUT_{}", i.name), value)
        })
        .collect()
}

fn fill_inputs(step: &mut Step, inputs: &JobInputs) {
    use crate::executor::Action;
    match &mut step.action {
        Action::Get(get) => {
            get.version = inputs.versions.get(&get.resource).cloned();
            get.local = inputs.local.get(&get.resource).cloned();
        }
        Action::InParallel { steps, .. } | Action::Do(steps) => steps.iter_mut().for_each(|s| fill_inputs(s, inputs)),
        Action::If(branches) => branches.iter_mut().flat_map(|b| b.steps.iter_mut()).for_each(|s| fill_inputs(s, inputs)),
        Action::Put(_) | Action::Task(_) | Action::Service(_) | Action::Notify(_) => {}
    }
    for hook in step.hooks.all_mut().into_iter().flatten() {
        fill_inputs(hook, inputs);
    }
}
