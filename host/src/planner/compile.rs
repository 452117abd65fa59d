//! Typed pipeline -> [`CompiledPipeline`]: every type bound to a plugin (fetched and loaded, or
//! only looked up when checking offline), every resource to its backend, every job to its steps.
//!
//! This is the one reader of the typed model: `pikoci pipeline validate`, `pikoci run` and the
//! server all compile through it, so what validates is what runs.

use super::compiled::{CompiledJob, CompiledPipeline, CompiledResource, GetInput};
use crate::builtin;
use crate::executor::{
    Action, AutoNotify, Branch, GetStep, Hooks, NotifyStep, PluginRef, PutStep, ResourceBackend, SecretOrigin, SecretSource, SecretVariable, ServiceStep, Step,
    StepSecret, TaskStep,
};
use crate::plugin_source::PluginLocator;
use crate::runtime::{Capability, PluginKind, PluginManifest, PluginSet};
use pikoci_pipeline::builtins::{inline_adapter, SHELL_RUNNER, TEMPLATE_RUNNER, TRIGGER_TYPE};
use pikoci_pipeline::{self as lang, HookAction, HookEvent, Implementation, Params, PluginSource, Span, TypeDecl};
use pikoci_registry::Digest;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Why a pipeline does not compile, at the part of the file at fault.
#[derive(Debug, Clone)]
pub struct CompileError {
    pub span: Span,
    pub message: String,
}

type Result<T> = std::result::Result<T, CompileError>;

fn fail<T>(span: Span, message: impl Into<String>) -> Result<T> {
    Err(CompileError { span, message: message.into() })
}

/// Whether plugins are fetched and loaded. Offline, a remote type (registry, URL) is compiled
/// from what its block says, without its component, and local components are read for their
/// manifests only: enough to check and show the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fetch {
    Remote,
    Offline,
}

/// What an offline plan holds for an unpinned remote component, whose digest is known once it
/// is fetched: the empty file's, which no component has.
pub fn unfetched_digest() -> Digest {
    Digest::of(b"")
}

pub struct Compiler<'a> {
    pub plugins: &'a PluginSet,
    pub locator: &'a PluginLocator,
    pub fetch: Fetch,
}

/// A resource type bound to what serves it.
#[derive(Clone)]
enum ResourceTypeImpl {
    Plugin { plugin: PluginRef, cache: Option<bool>, wants_cache: bool },
    Inline { adapter: PluginRef, definition: Map<String, Value>, cache: bool },
    Trigger,
}

impl ResourceTypeImpl {
    /// A component type: it caches per resource when it asks to write `{source.cache_dir}`,
    /// unless the type or the resource says otherwise.
    fn plugin(plugin: PluginRef, cache: Option<bool>) -> Self {
        let wants_cache = plugin.requests.iter().any(|c| c.contains("{source.cache_dir}"));
        ResourceTypeImpl::Plugin { plugin, cache, wants_cache }
    }
}

#[derive(Clone)]
enum RunnerImpl {
    Plugin(PluginRef),
    /// `runner_type { run { path, args } }` over the task's run attributes, run by `exec`.
    Template {
        exec: PluginRef,
        path: String,
        args: Vec<String>,
    },
    /// PikoCI's `shell`: `cmd` or `file`, through `shell` (`/bin/sh`), run by `exec`.
    Shell(PluginRef),
}

#[derive(Clone)]
enum ServiceTypeImpl {
    Plugin { plugin: PluginRef, defaults: Params },
    Inline { adapter: PluginRef, definition: Map<String, Value>, interval: Duration, timeout: Duration },
}

#[derive(Clone)]
enum NotificationTypeImpl {
    Plugin(PluginRef),
    /// PikoCI's `notify "exec"`, run by the adapter, which finds the notification's params in
    /// the definition.
    Inline {
        adapter: PluginRef,
        definition: Map<String, Value>,
    },
}

#[derive(Default)]
struct Types {
    resource_types: BTreeMap<String, ResourceTypeImpl>,
    runners: BTreeMap<String, RunnerImpl>,
    service_types: BTreeMap<String, ServiceTypeImpl>,
    secret_types: BTreeMap<String, SecretSource>,
    notification_types: BTreeMap<String, NotificationTypeImpl>,
}

/// Each `notification` as the step that sends it, by type and name.
type Notifications = BTreeMap<(String, String), NotifyStep>;

fn grants_of(allow: &lang::Allow, span: Span) -> Result<Vec<Capability>> {
    allow.capabilities().map(|text| text.parse::<Capability>().map_err(|e| CompileError { span, message: format!("in `allow`: {e}") })).collect()
}

/// A runner call's `path` and `args`, as the exec adapters read them.
fn command_of(call: &lang::RunnerCall) -> Option<Value> {
    let path = call.params.get("path")?.as_str()?.to_string();
    let args: Vec<String> = match call.params.get("args") {
        Some(Value::Array(items)) => items.iter().map(text).collect(),
        _ => Vec::new(),
    };
    Some(json!({ "path": path, "args": args }))
}

/// The program and arguments of a `run "shell"`: `cmd` through `shell -ec`; a `file` through
/// `shell`, or, with no `shell` given, made executable and run itself so its `#!` line decides.
fn shell_command(call: &lang::RunnerCall) -> Result<(String, Vec<String>)> {
    let given = |key: &str| call.params.get(key).map(text).filter(|v| !v.is_empty());
    let shell = given("shell");
    match (given("cmd"), given("file")) {
        (Some(cmd), None) => Ok((shell.unwrap_or_else(|| DEFAULT_SHELL.into()), vec!["-ec".into(), cmd])),
        (None, Some(file)) => {
            // A bare name would be looked up in PATH; it means the file in the work directory.
            let file = if file.starts_with('/') || file.starts_with("./") || file.starts_with("../") { file } else { format!("./{file}") };
            Ok(match shell {
                Some(shell) => (shell, vec![file]),
                None => (DEFAULT_SHELL.into(), vec!["-ec".into(), "chmod 0755 \"$0\" && exec \"$0\"".into(), file]),
            })
        }
        (Some(_), Some(_)) => fail(call.span, "the shell runner takes `cmd` or `file`, not both"),
        (None, None) => fail(call.span, "the shell runner needs `cmd` (a command line) or `file` (a script in the work directory)"),
    }
}

const DEFAULT_SHELL: &str = "/bin/sh";

fn text(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
}

fn object(params: &Params) -> Map<String, Value> {
    params.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

impl Compiler<'_> {
    pub async fn compile(&self, p: &lang::Pipeline, name: &str, team: &str) -> Result<CompiledPipeline> {
        let types = self.types(p).await?;
        let mut secrets = Vec::new();
        for v in &p.variables {
            let origin = match (&v.value, &v.secret) {
                (lang::VariableValue::Secret, Some(secret)) => {
                    let source = types.secret_type(self, &secret.secret_type)?;
                    SecretOrigin::Fetched { source: Box::new(source), path: secret.path.clone().unwrap_or_default(), key: secret.key.clone() }
                }
                (lang::VariableValue::GivenSecret(value), _) => SecretOrigin::Given { value: text(value) },
                _ => continue,
            };
            secrets.push(SecretVariable { name: v.name.text.clone(), origin });
        }
        let mut resources = Vec::new();
        for r in &p.resources {
            resources.push(self.resource(&types, r).await?);
        }
        let mut notifications = Notifications::new();
        for n in &p.notifications {
            notifications.insert((n.type_name.text.clone(), n.name.text.clone()), types.notification(self, n)?);
        }
        let mut jobs = Vec::new();
        for job in &p.jobs {
            let ctx = JobCompiler { compiler: self, types: &types, resources: &resources, notifications: &notifications };
            let steps = ctx.steps(&job.steps).await?;
            let hooks = ctx.hooks(&job.hooks).await?;
            let mut on_trigger = Vec::new();
            for notify in &job.on_trigger {
                on_trigger.push(ctx.step(&lang::Step::Notify(notify.clone())).await?);
            }
            let mut gets = Vec::new();
            collect_gets(&job.steps, &mut gets);
            jobs.push(CompiledJob {
                name: job.name.text.clone(),
                concurrency: job.concurrency.map(|n| n as usize),
                timeout: job.timeout,
                serial_groups: job.serial_groups.clone(),
                interruptible: job.interruptible,
                disable_retry: job.disable_retry,
                allow_failure: job.allow_failure,
                inputs: job.inputs.clone(),
                on_trigger,
                gets,
                steps,
                hooks,
                notifications: auto_notifications(p, job, &notifications),
            });
        }
        Ok(CompiledPipeline { name: name.to_string(), team: team.to_string(), resources, jobs, secrets })
    }

    /// The plugin a source names, loaded (or, offline and remote, described by its block).
    async fn plugin(&self, source: &PluginSource, span: Span, kind: PluginKind, grants: Vec<Capability>) -> Result<PluginRef> {
        let origin = source.to_string();
        let remote = matches!(source, PluginSource::Oci(_) | PluginSource::WasmUrl { .. });
        if remote && self.fetch == Fetch::Offline {
            let digest = match source {
                PluginSource::Oci(r) => r.digest(),
                PluginSource::WasmUrl { digest, .. } => Some(*digest),
                _ => None,
            };
            let digest = digest.unwrap_or_else(unfetched_digest);
            return Ok(PluginRef { name: origin.clone(), origin, digest, kind, grants, requests: Vec::new(), trusted: false, container: None });
        }
        let located = self.locator.fetch_source(source).await.map_err(|e| CompileError { span, message: format!("{e:#}") })?;
        if located.manifest.kind != kind {
            return fail(span, format!("`{origin}` is a {}, not a {kind}", located.manifest.kind));
        }
        self.bind(&origin, &located.bytes, span, grants, matches!(source, PluginSource::Builtin(_)))
    }

    fn builtin(&self, name: &str, span: Span, grants: Vec<Capability>) -> Result<PluginRef> {
        let Some(b) = builtin::lookup(&format!("{}{name}", builtin::SCHEME)) else {
            return fail(span, format!("built-in `pikoci://{name}` is missing from this binary"));
        };
        let origin = format!("pikoci://{name}");
        self.bind(&origin, b.bytes, span, grants, true)
    }

    /// The reference to the component `bytes`. To run, it is loaded (compiled and linked) now, so
    /// a component that cannot run fails the set, not its first build; a check offline needs
    /// only its manifest.
    fn bind(&self, origin: &str, bytes: &[u8], span: Span, grants: Vec<Capability>, trusted: bool) -> Result<PluginRef> {
        if self.fetch == Fetch::Offline {
            let manifest = PluginManifest::from_component(bytes, origin).map_err(|e| CompileError { span, message: format!("{origin}: {e}") })?;
            return Ok(PluginRef::from_manifest(&manifest, Digest::of(bytes), origin, grants, trusted));
        }
        let plugin = self.plugins.load(origin, bytes).map_err(|message| CompileError { span, message })?;
        Ok(PluginRef::of(&plugin, origin, grants, trusted))
    }

    fn adapter(&self, kind: PluginKind, span: Span, grants: Vec<Capability>) -> Result<PluginRef> {
        let name = inline_adapter(kind).expect("every kind with inline commands has an adapter");
        self.builtin(name, span, grants)
    }

    async fn types(&self, p: &lang::Pipeline) -> Result<Types> {
        let mut t = Types::default();
        for rt in &p.resource_types {
            let decl = &rt.decl;
            let grants = grants_of(&decl.allow, decl.span)?;
            let bound = match &decl.implementation {
                Implementation::Source { source, span } => {
                    ResourceTypeImpl::plugin(self.plugin(source, *span, PluginKind::ResourceType, grants).await?, rt.cache)
                }
                Implementation::Builtin if decl.name.text == TRIGGER_TYPE => ResourceTypeImpl::Trigger,
                Implementation::Builtin => ResourceTypeImpl::plugin(self.builtin(&decl.name.text, decl.span, grants)?, rt.cache),
                Implementation::Inline(ops) => {
                    let mut definition = Map::new();
                    definition.insert("name".into(), json!(decl.name.text));
                    for (op, call) in [("check", &ops.check), ("pull", &ops.pull), ("push", &ops.push)] {
                        // PikoCI's `push "exec" { }` declares no push at all.
                        if let Some(command) = call.as_ref().and_then(command_of) {
                            definition.insert(op.into(), command);
                        }
                    }
                    let adapter = self.adapter(PluginKind::ResourceType, decl.span, grants)?;
                    ResourceTypeImpl::Inline { adapter, definition, cache: rt.cache.unwrap_or(false) }
                }
            };
            t.resource_types.insert(decl.name.text.clone(), bound);
        }
        for rt in &p.runner_types {
            let grants = grants_of(&rt.allow, rt.span)?;
            let bound = match &rt.implementation {
                Implementation::Source { source, span } => RunnerImpl::Plugin(self.plugin(source, *span, PluginKind::Runner, grants).await?),
                Implementation::Builtin if rt.name.text == SHELL_RUNNER => RunnerImpl::Shell(self.builtin(TEMPLATE_RUNNER, rt.span, grants)?),
                Implementation::Builtin => RunnerImpl::Plugin(self.builtin(&rt.name.text, rt.span, grants)?),
                Implementation::Inline(run) => {
                    RunnerImpl::Template { exec: self.builtin(TEMPLATE_RUNNER, rt.span, grants)?, path: run.path.clone(), args: run.args.clone() }
                }
            };
            t.runners.insert(rt.name.text.clone(), bound);
        }
        for st in &p.service_types {
            let grants = grants_of(&st.allow, st.span)?;
            let bound = match &st.implementation {
                Implementation::Source { source, span } => {
                    ServiceTypeImpl::Plugin { plugin: self.plugin(source, *span, PluginKind::ServiceType, grants).await?, defaults: st.config.clone() }
                }
                Implementation::Builtin => ServiceTypeImpl::Plugin { plugin: self.builtin(&st.name.text, st.span, grants)?, defaults: st.config.clone() },
                Implementation::Inline(ops) => {
                    let mut definition = Map::new();
                    definition.insert("name".into(), json!(st.name.text));
                    let ready = ops.ready_check.as_ref();
                    for (op, call) in [("start", Some(&ops.start)), ("ready_check", ready.map(|r| &r.call)), ("stop", Some(&ops.stop))] {
                        if let Some(command) = call.and_then(command_of) {
                            definition.insert(op.into(), command);
                        }
                    }
                    if !definition.contains_key("start") {
                        return fail(st.span, format!("service type `{}`: `start` needs a `path`", st.name));
                    }
                    let (interval, timeout) = ready.map_or((Duration::from_secs(1), Duration::from_secs(60)), |r| (r.interval, r.timeout));
                    ServiceTypeImpl::Inline { adapter: self.adapter(PluginKind::ServiceType, st.span, grants)?, definition, interval, timeout }
                }
            };
            t.service_types.insert(st.name.text.clone(), bound);
        }
        for st in &p.secret_types {
            let grants = grants_of(&st.allow, st.span)?;
            let config = Value::Object(object(&st.config));
            let bound = match &st.implementation {
                Implementation::Source { source, span } => SecretSource { plugin: self.plugin(source, *span, PluginKind::SecretType, grants).await?, config },
                Implementation::Builtin => SecretSource { plugin: self.builtin(&st.name.text, st.span, grants)?, config },
                Implementation::Inline(ops) => {
                    let Some(get) = command_of(&ops.get) else { return fail(ops.get.span, "`get` needs a `path`") };
                    // The block's other attributes reach the command as $param_<name>.
                    let definition = json!({ "name": st.name.text, "get": get, "params": config });
                    SecretSource { plugin: self.adapter(PluginKind::SecretType, st.span, grants)?, config: definition }
                }
            };
            t.secret_types.insert(st.name.text.clone(), bound);
        }
        for nt in &p.notification_types {
            let grants = grants_of(&nt.allow, nt.span)?;
            let bound = match &nt.implementation {
                Implementation::Source { source, span } => {
                    NotificationTypeImpl::Plugin(self.plugin(source, *span, PluginKind::NotificationType, grants).await?)
                }
                Implementation::Builtin => NotificationTypeImpl::Plugin(self.builtin(&nt.name.text, nt.span, grants)?),
                Implementation::Inline(ops) => {
                    let Some(notify) = command_of(&ops.notify) else { return fail(ops.notify.span, "`notify` needs a `path`") };
                    let definition = json!({ "name": nt.name.text, "notify": notify });
                    let Value::Object(definition) = definition else { unreachable!("an object literal") };
                    NotificationTypeImpl::Inline { adapter: self.adapter(PluginKind::NotificationType, nt.span, grants)?, definition }
                }
            };
            t.notification_types.insert(nt.name.text.clone(), bound);
        }
        apply_runner_overrides(p, &mut t)?;
        Ok(t)
    }

    async fn resource(&self, types: &Types, r: &lang::Resource) -> Result<CompiledResource> {
        let params = object(&r.params);
        let directory = params.get("name").and_then(Value::as_str).unwrap_or(&r.name.text).to_string();
        let backend = match types.resource_type(self, &r.type_name)? {
            ResourceTypeImpl::Plugin { plugin, cache, wants_cache } => {
                ResourceBackend::Plugin { plugin, source: Value::Object(params), cache: r.cache.or(cache).unwrap_or(wants_cache) }
            }
            ResourceTypeImpl::Inline { adapter, mut definition, cache } => {
                definition.insert("params".into(), Value::Object(params));
                ResourceBackend::Inline { adapter, definition: Value::Object(definition), cache: r.cache.unwrap_or(cache) }
            }
            ResourceTypeImpl::Trigger => ResourceBackend::Trigger { stream: r.name.text.clone() },
        };
        Ok(CompiledResource { name: r.name.text.clone(), type_name: r.type_name.text.clone(), backend, directory, check_interval: r.check_interval.clone() })
    }
}

/// A type-level `runner "docker" { image = ... }`: every program the type's plugin starts runs in
/// that container (the host's process interface wraps it), with the docker runner's grants.
fn apply_runner_overrides(p: &lang::Pipeline, t: &mut Types) -> Result<()> {
    fn wrap<I>(decl: &TypeDecl<I>, plugin: &mut PluginRef) -> Result<()> {
        // The host starts the engine itself; the plugin's own program grants still apply to what
        // it runs inside the container.
        if let Some(call) = &decl.runner {
            plugin.container = Some(Value::Object(object(&call.params)));
        }
        Ok(())
    }
    for rt in &p.resource_types {
        match t.resource_types.get_mut(&rt.decl.name.text) {
            Some(ResourceTypeImpl::Plugin { plugin, .. }) | Some(ResourceTypeImpl::Inline { adapter: plugin, .. }) => wrap(&rt.decl, plugin)?,
            _ => {}
        }
    }
    for st in &p.service_types {
        match t.service_types.get_mut(&st.name.text) {
            Some(ServiceTypeImpl::Plugin { plugin, .. }) | Some(ServiceTypeImpl::Inline { adapter: plugin, .. }) => wrap(st, plugin)?,
            None => {}
        }
    }
    for st in &p.secret_types {
        if let Some(source) = t.secret_types.get_mut(&st.name.text) {
            wrap(st, &mut source.plugin)?;
        }
    }
    for nt in &p.notification_types {
        match t.notification_types.get_mut(&nt.name.text) {
            Some(NotificationTypeImpl::Plugin(plugin)) | Some(NotificationTypeImpl::Inline { adapter: plugin, .. }) => wrap(nt, plugin)?,
            None => {}
        }
    }
    Ok(())
}

impl Types {
    fn resource_type(&self, c: &Compiler<'_>, name: &lang::Name) -> Result<ResourceTypeImpl> {
        if let Some(found) = self.resource_types.get(&name.text) {
            return Ok(found.clone());
        }
        if name.text == TRIGGER_TYPE {
            return Ok(ResourceTypeImpl::Trigger);
        }
        Ok(ResourceTypeImpl::plugin(c.builtin(&name.text, name.span, Vec::new())?, None))
    }

    fn runner(&self, c: &Compiler<'_>, name: &lang::Name) -> Result<RunnerImpl> {
        match self.runners.get(&name.text) {
            Some(found) => Ok(found.clone()),
            None if name.text == SHELL_RUNNER => Ok(RunnerImpl::Shell(c.builtin(TEMPLATE_RUNNER, name.span, Vec::new())?)),
            None => Ok(RunnerImpl::Plugin(c.builtin(&name.text, name.span, Vec::new())?)),
        }
    }

    fn service_type(&self, c: &Compiler<'_>, name: &lang::Name) -> Result<ServiceTypeImpl> {
        match self.service_types.get(&name.text) {
            Some(found) => Ok(found.clone()),
            None => Ok(ServiceTypeImpl::Plugin { plugin: c.builtin(&name.text, name.span, Vec::new())?, defaults: Params::new() }),
        }
    }

    /// A `notification` as the step that sends it, without a `notify` step's options.
    fn notification(&self, c: &Compiler<'_>, n: &lang::Notification) -> Result<NotifyStep> {
        let bound = match self.notification_types.get(&n.type_name.text) {
            Some(found) => found.clone(),
            None => NotificationTypeImpl::Plugin(c.builtin(&n.type_name.text, n.type_name.span, Vec::new())?),
        };
        let (plugin, params) = match bound {
            NotificationTypeImpl::Plugin(plugin) => (plugin, Value::Object(object(&n.params))),
            NotificationTypeImpl::Inline { adapter, mut definition } => {
                definition.insert("params".into(), Value::Object(object(&n.params)));
                (adapter, Value::Object(definition))
            }
        };
        Ok(NotifyStep { plugin, params, options: json!({}), message: n.message.clone() })
    }

    fn secret_type(&self, c: &Compiler<'_>, name: &lang::Name) -> Result<SecretSource> {
        match self.secret_types.get(&name.text) {
            Some(found) => Ok(found.clone()),
            None => Ok(SecretSource { plugin: c.builtin(&name.text, name.span, Vec::new())?, config: json!({}) }),
        }
    }
}

/// The notifications the host sends after a build of `job`: those with `on` whose `jobs` and
/// `exclude` let the job in.
fn auto_notifications(p: &lang::Pipeline, job: &lang::Job, compiled: &Notifications) -> Vec<AutoNotify> {
    let mut out = Vec::new();
    for n in &p.notifications {
        let on: Vec<lang::NotifyEvent> = n.on.iter().copied().filter(|e| n.fires_for(job, *e)).collect();
        if let (false, Some(step)) = (on.is_empty(), compiled.get(&(n.type_name.text.clone(), n.name.text.clone()))) {
            out.push(AutoNotify { on, step: Step::new(format!("notify {}", n.name), Action::Notify(step.clone())) });
        }
    }
    out
}

fn collect_gets(steps: &[lang::Step], out: &mut Vec<GetInput>) {
    for step in steps {
        match step {
            lang::Step::Get(g) => {
                out.push(GetInput { resource: g.resource.name.text.clone(), trigger: g.trigger, passed: g.passed.iter().map(|n| n.text.clone()).collect() })
            }
            lang::Step::InParallel(p) => collect_gets(&p.steps, out),
            lang::Step::If(chain) => chain.branches.iter().for_each(|b| collect_gets(&b.steps, out)),
            _ => {}
        }
    }
}

struct JobCompiler<'a> {
    compiler: &'a Compiler<'a>,
    types: &'a Types,
    resources: &'a [CompiledResource],
    notifications: &'a Notifications,
}

impl JobCompiler<'_> {
    fn steps<'s>(&'s self, steps: &'s [lang::Step]) -> futures_util::future::BoxFuture<'s, Result<Vec<Step>>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for step in steps {
                out.push(self.step(step).await?);
            }
            Ok(out)
        })
    }

    fn resource(&self, r: &lang::ResourceRef) -> Result<&CompiledResource> {
        match self.resources.iter().find(|x| x.name == r.name.text) {
            Some(found) => Ok(found),
            None => fail(r.name.span, format!("resource `{}` is not defined", r.name)),
        }
    }

    async fn step(&self, step: &lang::Step) -> Result<Step> {
        let (name, action) = match step {
            lang::Step::Get(g) => {
                let r = self.resource(&g.resource)?;
                let get = GetStep {
                    resource: r.name.clone(),
                    directory: r.directory.clone(),
                    backend: r.backend.clone(),
                    params: Value::Object(object(&g.params)),
                    version: None,
                    local: None,
                };
                (format!("get {}", r.name), Action::Get(get))
            }
            lang::Step::Put(s) => {
                let r = self.resource(&s.resource)?;
                (
                    format!("put {}", r.name),
                    Action::Put(PutStep { resource: r.name.clone(), backend: r.backend.clone(), params: Value::Object(object(&s.params)) }),
                )
            }
            lang::Step::Task(t) => {
                let mut task = self.runner_task(&t.run).await?;
                task.inputs = t.inputs.clone();
                task.outputs = t.outputs.clone();
                task.output_prefix = Some(crate::executor::task_output_prefix(&t.name.text));
                task.env.extend(t.env.iter().map(|(k, v)| (k.clone(), v.clone())));
                (format!("task {}", t.name), Action::Task(task))
            }
            lang::Step::Service(s) => (format!("service {}", s.service_type), Action::Service(self.service(s)?)),
            lang::Step::Notify(n) => {
                let Some(template) = self.notifications.get(&(n.type_name.text.clone(), n.name.text.clone())) else {
                    return fail(n.name.span, format!("notification `{}` of type `{}` is not defined", n.name, n.type_name));
                };
                let mut notify = template.clone();
                notify.options = Value::Object(object(&n.options));
                notify.message = n.message.clone().or(notify.message);
                (format!("notify {}", n.name), Action::Notify(notify))
            }
            lang::Step::InParallel(p) => {
                let steps = self.steps(&p.steps).await?;
                ("in_parallel".to_string(), Action::InParallel { steps, limit: p.limit.map(|l| l as usize), fail_fast: p.fail_fast })
            }
            lang::Step::If(chain) => {
                let mut branches = Vec::new();
                for b in &chain.branches {
                    let name = b.label.as_ref().map_or_else(|| b.keyword.to_string(), |l| format!("{} {l}", b.keyword));
                    branches.push(Branch { name, condition: b.condition.clone(), steps: self.steps(&b.steps).await? });
                }
                let name = branches.first().map_or_else(|| "if".to_string(), |b| b.name.clone());
                (name, Action::If(branches))
            }
        };
        let mut compiled = Step::new(name, action);
        if let Some(common) = step.common() {
            compiled.timeout = common.timeout;
            compiled.attempts = common.attempts.max(1);
            compiled.hooks = self.hooks(&common.hooks).await?;
            for (secret_type, path) in &common.secrets {
                let source = self.types.secret_type(self.compiler, secret_type)?;
                compiled.secrets.push(StepSecret { source, path: path.clone() });
            }
            // An `in_parallel`'s or an `if`'s secrets are its steps': each resolves them when it
            // starts.
            let children: Vec<&mut Step> = match &mut compiled.action {
                Action::InParallel { steps, .. } => steps.iter_mut().collect(),
                Action::If(branches) => branches.iter_mut().flat_map(|b| b.steps.iter_mut()).collect(),
                _ => Vec::new(),
            };
            for child in children {
                child.secrets.extend(compiled.secrets.iter().cloned());
            }
        }
        Ok(compiled)
    }

    fn service(&self, s: &lang::ServiceStep) -> Result<ServiceStep> {
        let name = s.service_type.text.clone();
        let mut overrides = object(&s.params);
        let duration = |v: Option<Value>| -> Result<Option<Duration>> {
            match v.as_ref().and_then(Value::as_str) {
                Some(text) => pikoci_pipeline::schedule::parse_duration(text).map(Some).map_err(|message| CompileError { span: s.span, message }),
                None => Ok(None),
            }
        };
        let interval = duration(overrides.remove("interval"))?;
        let timeout = duration(overrides.remove("timeout"))?;
        Ok(match self.types.service_type(self.compiler, &s.service_type)? {
            ServiceTypeImpl::Plugin { plugin, defaults } => {
                let mut params = object(&defaults);
                params.extend(overrides);
                ServiceStep {
                    name,
                    plugin,
                    params: Value::Object(params),
                    inline: false,
                    ready_interval: interval.unwrap_or(Duration::from_secs(1)),
                    ready_timeout: timeout.unwrap_or(Duration::from_secs(60)),
                }
            }
            ServiceTypeImpl::Inline { adapter, mut definition, interval: type_interval, timeout: type_timeout } => {
                definition.insert("params".into(), Value::Object(overrides));
                ServiceStep {
                    name,
                    plugin: adapter,
                    params: Value::Object(definition),
                    inline: true,
                    ready_interval: interval.unwrap_or(type_interval),
                    ready_timeout: timeout.unwrap_or(type_timeout),
                }
            }
        })
    }

    fn hooks<'s>(&'s self, hooks: &'s [lang::Hook]) -> futures_util::future::BoxFuture<'s, Result<Hooks>> {
        Box::pin(async move {
            let mut out = Hooks::default();
            for hook in hooks {
                // `on_failure "exec" { path, args }` runs a command; an unlabelled hook holds steps.
                let steps = match &hook.action {
                    HookAction::Run(call) => vec![Step::new(hook.event.keyword(), Action::Task(self.runner_task(call).await?))],
                    HookAction::Steps(steps) => self.steps(steps).await?,
                };
                let slot = match hook.event {
                    HookEvent::Success => &mut out.on_success,
                    HookEvent::Failure => &mut out.on_failure,
                    HookEvent::Error => &mut out.on_error,
                    HookEvent::Abort => &mut out.on_abort,
                    HookEvent::Ensure => &mut out.ensure,
                };
                slot.extend(steps);
            }
            Ok(out)
        })
    }

    /// A `run "RUNNER" { ... }` (or a labelled hook) as a task.
    async fn runner_task(&self, call: &lang::RunnerCall) -> Result<TaskStep> {
        let attrs = &call.params;
        let args_of = |v: Option<&Value>| -> Vec<String> {
            match v {
                Some(Value::Array(items)) => items.iter().map(text).collect(),
                _ => Vec::new(),
            }
        };
        match self.types.runner(self.compiler, &call.runner)? {
            RunnerImpl::Plugin(runner) => {
                let path = attrs.get("path").map(text).unwrap_or_default();
                if runner.name == TEMPLATE_RUNNER && path.is_empty() {
                    return fail(call.span, "the exec runner needs `path`, the program to run");
                }
                let mut params = object(attrs);
                params.remove("path");
                params.remove("args");
                Ok(TaskStep {
                    runner,
                    path,
                    args: args_of(attrs.get("args")),
                    env: Vec::new(),
                    params: Value::Object(params),
                    inputs: Vec::new(),
                    outputs: Vec::new(),
                    output_prefix: None,
                })
            }
            RunnerImpl::Template { exec, path, args } => {
                // PikoCI substitutes the task's run attributes into the runner's template.
                let substitute = |s: &str| {
                    let mut out = s.to_string();
                    for (k, v) in attrs {
                        out = out.replace(&format!("${{{k}}}"), &text(v)).replace(&format!("${k}"), &text(v));
                    }
                    out
                };
                Ok(TaskStep {
                    runner: exec,
                    path: substitute(&path),
                    args: args.iter().map(|a| substitute(a)).collect(),
                    env: Vec::new(),
                    params: json!({}),
                    inputs: Vec::new(),
                    outputs: Vec::new(),
                    output_prefix: None,
                })
            }
            RunnerImpl::Shell(exec) => {
                let (path, args) = shell_command(call)?;
                // As in PikoCI, the block's attributes are also the command's environment.
                let env = attrs.iter().filter(|(k, _)| k.as_str() != "file").map(|(k, v)| (k.clone(), text(v))).collect();
                Ok(TaskStep { runner: exec, path, args, env, params: json!({}), inputs: Vec::new(), outputs: Vec::new(), output_prefix: None })
            }
        }
    }
}
