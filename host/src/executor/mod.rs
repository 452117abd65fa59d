//! The build executor: runs one job's plan, step by step, on this machine.
//!
//! One implementation serves `pikoci run` and the server's workers. It owns the build's work
//! directory, its log, its services and its background processes; whatever way the build ends
//! (success, failure, error, timeout, cancellation), hooks run, services stop in reverse start
//! order, and every process a plugin left behind is killed.

pub mod build_log;
pub mod grants;
mod notify;
pub mod outcome;
pub mod plan;
pub mod redact;
pub mod secrets;
mod services;
mod step_outputs;
mod steps;
pub mod team_rules;
pub mod triggers;
pub mod workdirs;

pub use build_log::{BuildEvent, BuildEventSink, BuildLog, MemoryEvents, TerminalEvents};
pub use outcome::{BuildStatus, Outcome};
pub use pikoci_pipeline::secret_placeholder;
pub use plan::{
    Action, AutoNotify, Branch, BuildIdentity, CheckPlan, GetStep, Hooks, JobPlan, NotifyStep, PluginRef, PutStep, ResourceBackend, SecretOrigin, SecretSource,
    SecretVariable, ServiceStep, Step, StepSecret, TaskStep,
};
pub use step_outputs::task_prefix as task_output_prefix;
pub use triggers::TriggerBus;

use crate::runtime::host_process::{within_build, BackgroundProcesses};
use crate::runtime::program_sandbox::Confinement;
use crate::runtime::{Fetched, Plugin, PluginSet, Version};
use futures_util::future::BoxFuture;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How a build ended, and what it used.
#[derive(Debug, Clone)]
pub struct BuildReport {
    pub outcome: Outcome,
    pub duration: Duration,
    /// What each `get` fetched (version and metadata), by resource name.
    pub versions: Vec<(String, Fetched)>,
    /// The work directory, when kept for debugging.
    pub kept_workdir: Option<PathBuf>,
}

pub struct ExecOptions {
    /// Where the plan's plugin references are loaded from.
    pub plugins: Arc<PluginSet>,
    /// Where resources with `cache` keep their `cache_dir`, per team, pipeline and resource.
    pub cache_root: PathBuf,
    /// Where build work directories are made (default: the system's temporary directory).
    pub work_root: Option<PathBuf>,
    /// Keep the work directory after the build, for debugging.
    pub keep_workdir: bool,
    /// Worker environment variables passed on to tasks (PATH, HOME, ...).
    pub task_base_env: Vec<(String, String)>,
    /// Secret values resolved for this build: redacted from every line of its log.
    pub secrets: Vec<String>,
    /// Where `put "trigger"` events go; `None` when no server runs the build.
    pub triggers: Option<std::sync::Arc<dyn TriggerBus>>,
    /// Which worker variables the build's team may read through `env:` grants.
    pub team_env: Arc<team_rules::TeamEnv>,
    /// Which worker directories the build's team may grant its plugins.
    pub team_dirs: Arc<team_rules::TeamDirs>,
    /// Which teams' programs start confined, and in what.
    pub program_sandbox: Arc<crate::runtime::program_sandbox::SandboxPolicy>,
}

impl ExecOptions {
    /// Defaults: work directories in the system's temporary directory, the worker's basic
    /// environment (PATH, HOME...) for tasks, no trigger streams.
    pub fn new(plugins: Arc<PluginSet>, cache_root: PathBuf) -> Self {
        let task_base_env = team_rules::WORKER_BASICS.iter().filter_map(|name| std::env::var(name).ok().map(|v| (name.to_string(), v))).collect();
        ExecOptions {
            plugins,
            cache_root,
            work_root: None,
            keep_workdir: false,
            task_base_env,
            secrets: Vec::new(),
            triggers: None,
            team_env: Default::default(),
            team_dirs: Default::default(),
            program_sandbox: Default::default(),
        }
    }
}

tokio::task_local! {
    /// Inside hooks: how the step or job they follow ended, as `BUILD_STATUS`.
    static HOOK_STATUS: &'static str;
}

/// The state of one running build.
pub(crate) struct Build {
    pub identity: BuildIdentity,
    pub log: BuildLog,
    pub workdir: PathBuf,
    pub background: BackgroundProcesses,
    pub services: services::Services,
    /// Variables services exported, for the steps after them.
    pub exports: Mutex<Vec<(String, String)>>,
    pub versions: Mutex<Vec<(String, Fetched)>>,
    pub secrets: Vec<SecretVariable>,
    /// The plan's own variables ([`JobPlan::env`]).
    pub env: Vec<(String, String)>,
    pub options: ExecOptions,
}

/// Where the log shows what concerns the whole build rather than one of its steps.
pub const JOB_STEP: &str = "job";

/// Run a job to its end. Cancelling `cancel` aborts it: the running step is stopped, then the
/// abort hooks, `ensure` hooks and service stops still run.
pub async fn run_job(plan: &JobPlan, events: std::sync::Arc<dyn BuildEventSink>, options: ExecOptions, cancel: CancellationToken) -> BuildReport {
    let started = Instant::now();
    let log = BuildLog::new(events);
    for secret in &options.secrets {
        log.redactor().add(secret);
    }
    let workdir = match workdirs::make(options.work_root.as_deref()) {
        Ok(dir) => dir,
        Err(e) => {
            return BuildReport {
                outcome: Outcome::Errored(format!("cannot create the build's work directory: {e}")),
                duration: started.elapsed(),
                versions: Vec::new(),
                kept_workdir: None,
            }
        }
    };
    let keep = options.keep_workdir;
    let mut build = Build::new(plan.build.clone(), log, workdir.path().to_path_buf(), plan.secrets.clone(), options);
    build.env = plan.env.clone();

    let mut outcome = within_build(&build.workdir, async {
        // The job's timeout aborts its steps as a cancel would, so the abort hooks and `ensure`
        // run; then the build fails, as on PikoCI.
        let steps_cancel = cancel.child_token();
        let deadline = plan.timeout.map(|after| {
            let steps_cancel = steps_cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                steps_cancel.cancel();
            })
        });
        let outcome = build.run_sequence(&plan.steps, &steps_cancel).await;
        if let Some(deadline) = &deadline {
            deadline.abort();
        }
        let timed_out = outcome == Outcome::Aborted && steps_cancel.is_cancelled() && !cancel.is_cancelled();
        // As on PikoCI, the failure hooks run, and see `BUILD_STATUS=warning`.
        let outcome = match outcome {
            Outcome::Failed(why) if plan.allow_failure => Outcome::Warning(why),
            other => other,
        };
        if timed_out {
            build.log.note(JOB_STEP, format!("job timed out after {}", humantime::format_duration(plan.timeout.unwrap_or_default())));
        }
        let outcome = build.run_hooks(&plan.hooks, outcome).await;
        let outcome = match plan.timeout {
            Some(after) if timed_out => Outcome::Failed(format!("job timed out after {}", humantime::format_duration(after))),
            _ => outcome,
        };
        build.send_notifications(&plan.notifications, &outcome).await;
        build.services.stop_all(&build).await;
        outcome
    })
    .await;
    build.background.kill_all();
    workdirs::kill_processes_of(&build.workdir);
    // The reason is stored and shown like a log line: a plugin's error may quote a secret.
    let redact = |why: &String| build.log.redactor().redact(why);
    outcome = match &outcome {
        Outcome::Failed(why) => Outcome::Failed(redact(why)),
        Outcome::Warning(why) => Outcome::Warning(redact(why)),
        Outcome::Errored(why) => Outcome::Errored(redact(why)),
        other => other.clone(),
    };

    let kept_workdir = if keep {
        Some(workdirs::keep(workdir))
    } else {
        drop(workdir);
        None
    };
    let versions = std::mem::take(&mut *build.versions.lock().unwrap());
    BuildReport { outcome, duration: started.elapsed(), versions, kept_workdir }
}

/// Check `plan`'s resource for versions after `last`, as a build's steps call plugins: its
/// secrets resolved (and redacted from the error, if any), its grants and cache the same.
pub async fn run_check(plan: &CheckPlan, last: Option<&Version>, events: Arc<dyn BuildEventSink>, options: ExecOptions) -> Result<Vec<Version>, String> {
    let log = BuildLog::new(events);
    let build = Build::new(plan.build.clone(), log, PathBuf::new(), plan.secrets.clone(), options);
    let step = format!("check {}", plan.resource);
    let result = build.check(&step, &plan.resource, &plan.backend, last).await;
    result.map_err(|e| build.log.redactor().redact(&e))
}

impl Build {
    fn new(identity: BuildIdentity, log: BuildLog, workdir: PathBuf, secrets: Vec<SecretVariable>, options: ExecOptions) -> Self {
        Build {
            identity,
            log,
            workdir,
            background: BackgroundProcesses::default(),
            services: services::Services::default(),
            exports: Mutex::new(Vec::new()),
            versions: Mutex::new(Vec::new()),
            secrets,
            env: Vec::new(),
            options,
        }
    }

    /// The grants of one call of `plugin` in `step` ([`grants::for_call`]), less the worker
    /// variables and directories the build's team may not use, which the step's log names, with
    /// the sandbox the team's programs start in.
    pub(crate) fn grants_for(&self, step: &str, plugin: &PluginRef, values: &grants::CallValues, extra: &[String]) -> crate::runtime::Capabilities {
        let mut grants = grants::for_call(plugin, values, extra);
        let team = &self.identity.team;
        match self.options.program_sandbox.for_team(team) {
            Confinement::Unconfined => {}
            Confinement::Confined(sandbox) => grants.sandbox = Some(sandbox),
            Confinement::Impossible(why) if !grants.programs.is_empty() => {
                grants.programs = Default::default();
                self.log.note(step, format!("{} may not start programs for team {team}: they must run confined, and {why}", plugin.name));
            }
            Confinement::Impossible(_) => {}
        }
        for name in self.options.team_env.withhold(team, &mut grants.env) {
            self.log
                .note(step, format!("{} may not read the worker's variable {name}: team {team} was not given it (`--team-env {team}={name}`)", plugin.name));
        }
        let team_cache = self.options.cache_root.join(team);
        for dir in self.options.team_dirs.withhold(team, &mut grants.directories, &[&self.workdir, &team_cache]) {
            let dir = dir.display();
            self.log.note(step, format!("{} may not use the worker's directory {dir}: team {team} was not given it (`--team-dirs {team}={dir}`)", plugin.name));
        }
        grants
    }

    /// The loaded plugin a plan's reference names.
    pub(crate) fn plugin(&self, plugin: &PluginRef) -> Result<Arc<Plugin>, String> {
        self.options.plugins.get(&plugin.digest, &plugin.origin)
    }

    /// Steps in order until one does not succeed.
    async fn run_sequence(&self, steps: &[Step], cancel: &CancellationToken) -> Outcome {
        for step in steps {
            let outcome = self.run_step(step, cancel).await;
            if !outcome.is_success() {
                return outcome;
            }
        }
        Outcome::Succeeded
    }

    /// One step with its attempts, timeout and hooks.
    fn run_step<'a>(&'a self, step: &'a Step, cancel: &'a CancellationToken) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let attempts = step.attempts.max(1);
            let mut outcome = Outcome::Succeeded;
            for attempt in 1..=attempts {
                if attempts > 1 {
                    self.log.note(&step.name, format!("--- attempt {attempt}/{attempts} ---"));
                }
                outcome = self.run_once(step, cancel).await;
                if matches!(outcome, Outcome::Succeeded | Outcome::Aborted) {
                    break;
                }
            }
            self.run_hooks(&step.hooks, outcome).await
        })
    }

    async fn run_once(&self, step: &Step, cancel: &CancellationToken) -> Outcome {
        // Structural steps report through their children; only leaves get a header.
        let leaf = !matches!(step.action, Action::InParallel { .. } | Action::Do(_));
        if leaf {
            self.log.started(&step.name);
        }
        let started = Instant::now();
        let (step, secret_env) = match self.with_secrets(step).await {
            Ok(resolved) => resolved,
            Err(why) => {
                let outcome = Outcome::Errored(why);
                if leaf {
                    self.log.finished(&step.name, &outcome, started.elapsed());
                }
                return outcome;
            }
        };
        let step = &step;
        let action = self.run_action(step, &secret_env, cancel);
        let outcome = tokio::select! {
            _ = cancel.cancelled() => Outcome::Aborted,
            result = with_timeout(step.timeout, action) => match result {
                Some(outcome) => outcome,
                None => {
                    let after = humantime::format_duration(step.timeout.unwrap_or_default());
                    self.log.note(&step.name, format!("step timed out after {after}"));
                    Outcome::Failed(format!("step timed out after {after}"))
                }
            },
        };
        if leaf {
            self.log.finished(&step.name, &outcome, started.elapsed());
        }
        outcome
    }

    /// `env`: what the step's own `secrets` resolved to (`secret_<key>`).
    fn run_action<'a>(&'a self, step: &'a Step, env: &'a [(String, String)], cancel: &'a CancellationToken) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            match &step.action {
                Action::Get(get) => self.get(&step.name, get, env).await,
                Action::Put(put) => self.put(&step.name, put, env).await,
                Action::Task(task) => self.task(&step.name, task, env).await,
                Action::Service(service) => self.start_service(&step.name, service, env).await,
                Action::Notify(notify) => self.notify(&step.name, notify, env).await,
                Action::Do(steps) => self.run_sequence(steps, cancel).await,
                Action::InParallel { steps, limit, fail_fast } => self.in_parallel(steps, *limit, *fail_fast, cancel).await,
                Action::If(branches) => self.run_if(&step.name, branches, env, cancel).await,
            }
        })
    }

    /// Hooks run whatever happened, even after an abort, so they are not cancellable.
    fn run_hooks<'a>(&'a self, hooks: &'a Hooks, outcome: Outcome) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            if hooks.is_empty() {
                return outcome;
            }
            let uncancelled = CancellationToken::new();
            let by_outcome = match &outcome {
                Outcome::Succeeded => &hooks.on_success,
                Outcome::Failed(_) | Outcome::Warning(_) => &hooks.on_failure,
                Outcome::Errored(_) => &hooks.on_error,
                Outcome::Aborted => &hooks.on_abort,
            };
            let status = outcome.status().as_str();
            // A failing on_success or ensure hook fails the step; what failure hooks do cannot make
            // a failed step any better or worse.
            let hook_outcome = HOOK_STATUS.scope(status, self.run_sequence(by_outcome, &uncancelled)).await;
            let mut outcome = if outcome.is_success() { hook_outcome } else { outcome };
            let ensured = HOOK_STATUS.scope(status, self.run_sequence(&hooks.ensure, &uncancelled)).await;
            if outcome.is_success() {
                outcome = ensured;
            }
            outcome
        })
    }

    /// The first branch whose condition holds, over the build's variables as a task would see
    /// them now; the log says which ran and which were skipped.
    async fn run_if(&self, step: &str, branches: &[plan::Branch], own: &[(String, String)], cancel: &CancellationToken) -> Outcome {
        let env = self.step_env(own);
        let var = |name: &str| env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let chosen = branches.iter().position(|b| b.condition.as_ref().is_none_or(|c| c.holds(&var)));
        for (i, b) in branches.iter().enumerate() {
            let said = match (chosen == Some(i), &b.condition) {
                (true, Some(_)) => "its condition holds: it runs",
                (true, None) => "no condition before it held: it runs",
                (false, _) => "skipped",
            };
            self.log.note(step, format!("{}: {said}", b.name));
        }
        match chosen {
            Some(i) => self.run_sequence(&branches[i].steps, cancel).await,
            None => Outcome::Succeeded,
        }
    }

    async fn in_parallel(&self, steps: &[Step], limit: Option<usize>, fail_fast: bool, cancel: &CancellationToken) -> Outcome {
        use futures_util::stream::{FuturesUnordered, StreamExt};
        let permits = tokio::sync::Semaphore::new(limit.unwrap_or(steps.len()).max(1));
        let siblings = cancel.child_token();
        let mut running: FuturesUnordered<_> = steps
            .iter()
            .map(|step| {
                let (permits, siblings) = (&permits, &siblings);
                async move {
                    let Ok(_permit) = permits.acquire().await else { return Outcome::Aborted };
                    if siblings.is_cancelled() {
                        return Outcome::Aborted;
                    }
                    self.run_step(step, siblings).await
                }
            })
            .collect();
        let mut first_problem: Option<Outcome> = None;
        while let Some(outcome) = running.next().await {
            if outcome.is_success() {
                continue;
            }
            if first_problem.is_none() {
                // Siblings stopped by fail_fast report Aborted; the build reports what caused it.
                first_problem = Some(outcome);
                if fail_fast {
                    siblings.cancel();
                }
            }
        }
        if cancel.is_cancelled() {
            return Outcome::Aborted;
        }
        first_problem.unwrap_or(Outcome::Succeeded)
    }

    /// The environment of a task or an exec-defined plugin step: the worker's basics, the build's
    /// metadata, PikoCI's `version_<key>` of each version fetched so far (a later get's key wins),
    /// what services exported, then the step's own variables.
    pub(crate) fn step_env(&self, own: &[(String, String)]) -> Vec<(String, String)> {
        let mut env = self.options.task_base_env.clone();
        let id = &self.identity;
        env.extend([
            ("BUILD_NUMBER".to_string(), id.number.to_string()),
            ("BUILD_JOB_NAME".to_string(), id.job.clone()),
            ("BUILD_PIPELINE_NAME".to_string(), id.pipeline.clone()),
            ("BUILD_TEAM_NAME".to_string(), id.team.clone()),
            ("WORKDIR".to_string(), self.workdir.display().to_string()),
        ]);
        env.extend(self.env.iter().cloned());
        if let Ok(status) = HOOK_STATUS.try_with(|s| *s) {
            env.push(("BUILD_STATUS".to_string(), status.to_string()));
        }
        for (_, fetched) in self.versions.lock().unwrap().iter() {
            env.extend(fetched.version.0.iter().map(|(k, v)| (format!("version_{k}"), v.clone())));
        }
        env.extend(self.exports.lock().unwrap().iter().cloned());
        env.extend(own.iter().cloned());
        env
    }
}

async fn with_timeout<F: std::future::Future<Output = Outcome>>(timeout: Option<Duration>, f: F) -> Option<Outcome> {
    match timeout {
        Some(t) => tokio::time::timeout(t, f).await.ok(),
        None => Some(f.await),
    }
}
