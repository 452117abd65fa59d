//! A job block to a [`JobPlan`]: steps in order, hooks, services, in_parallel.

use super::body::{self, LoadResult, Place};
use super::types::{ResourceTypeImpl, RunnerImpl, ServiceTypeImpl};
use super::LoadedPipeline;
use crate::executor::{Action, BuildIdentity, GetStep, Hooks, JobPlan, PutStep, ResourceBackend, ServiceStep, Step, TaskStep};
use crate::runtime::Version;
use hcl::{Block, Body};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// What the gets of a build fetch: a version, or a local directory (`pikoci run --input`).
#[derive(Clone, Debug, Default)]
pub struct JobInputs {
    pub versions: BTreeMap<String, Version>,
    pub local: BTreeMap<String, PathBuf>,
}

/// A job's `get` as the scheduler needs it.
#[derive(Clone, Debug)]
pub struct GetInput {
    pub resource: String,
    pub trigger: bool,
    pub passed: Vec<String>,
}

const HOOKS: &[&str] = &["on_success", "on_failure", "on_error", "on_abort", "ensure"];
const STEPS: &[&str] = &["get", "task", "put", "service", "in_parallel"];

pub fn gets(pipeline: &LoadedPipeline, job: &Block) -> Vec<GetInput> {
    let mut out = Vec::new();
    collect_gets(pipeline, &job.body, &mut out);
    out
}

fn collect_gets(pipeline: &LoadedPipeline, body: &Body, out: &mut Vec<GetInput>) {
    for block in body.blocks() {
        match block.identifier.as_str() {
            "get" => {
                let place = Place::default();
                if let Some(resource) = block.labels.get(1) {
                    out.push(GetInput {
                        resource: resource.as_str().to_string(),
                        trigger: body::bool_attr(&block.body, &pipeline.ctx, &place, "trigger").ok().flatten().unwrap_or(false),
                        passed: body::strings_attr(&block.body, &pipeline.ctx, &place, "passed").unwrap_or_default(),
                    });
                }
            }
            "in_parallel" => collect_gets(pipeline, &block.body, out),
            _ => {}
        }
    }
}

pub fn plan_job(pipeline: &LoadedPipeline, job: &Block, build: BuildIdentity, inputs: &JobInputs) -> LoadResult<JobPlan> {
    let place = Place::default().child(job);
    let planner = Planner { pipeline, inputs, build: &build };
    let steps = planner.steps(&job.body, &place)?;
    let hooks = planner.hooks(&job.body, &place)?;
    Ok(JobPlan { build: build.clone(), steps, hooks, secrets: pipeline.secrets.clone() })
}

pub(super) struct Planner<'a> {
    pub(super) pipeline: &'a LoadedPipeline,
    pub(super) inputs: &'a JobInputs,
    pub(super) build: &'a BuildIdentity,
}

impl Planner<'_> {
    fn ctx(&self) -> &hcl::eval::Context<'static> {
        &self.pipeline.ctx
    }

    fn steps(&self, body: &Body, place: &Place) -> LoadResult<Vec<Step>> {
        let mut steps = Vec::new();
        for block in body.blocks() {
            if STEPS.contains(&block.identifier.as_str()) {
                steps.push(self.step(block, place)?);
            }
        }
        Ok(steps)
    }

    fn step(&self, block: &Block, parent: &Place) -> LoadResult<Step> {
        let place = parent.child(block);
        let ctx = self.ctx();
        let label = |i: usize| block.labels.get(i).map(|l| l.as_str().to_string());
        let (name, action) = match block.identifier.as_str() {
            "get" => {
                let resource = label(1).ok_or_else(|| format!("{place}: get \"TYPE\" \"RESOURCE\" needs both labels"))?;
                (format!("get {resource}"), Action::Get(self.get(&resource, &place)?))
            }
            "put" => {
                let resource = label(1).ok_or_else(|| format!("{place}: put \"TYPE\" \"RESOURCE\" needs both labels"))?;
                // PikoCI writes put params either in a `params` block or as attributes.
                let params = match body::block(&block.body, "params") {
                    Some(p) => Value::Object(body::attributes(&p.body, ctx, &place.child(p), &[])?),
                    None => Value::Object(body::attributes(&block.body, ctx, &place, &["timeout", "attempts", "secrets"])?),
                };
                (format!("put {resource}"), Action::Put(self.put(&resource, params, &place)?))
            }
            "task" => {
                let name = label(0).ok_or_else(|| format!("{place}: name the task: task \"NAME\" {{ ... }}"))?;
                let run = body::block(&block.body, "run").ok_or_else(|| format!("{place}: a task needs a `run \"RUNNER\" {{ ... }}` block"))?;
                let mut task = self.runner_task(run, &place)?;
                task.inputs = body::strings_attr(&block.body, ctx, &place, "inputs")?;
                task.outputs = body::strings_attr(&block.body, ctx, &place, "outputs")?;
                if let Some(Value::Object(env)) = body::attribute(&block.body, ctx, &place, "env")? {
                    task.env.extend(env.into_iter().map(|(k, v)| (k, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))));
                }
                (format!("task {name}"), Action::Task(task))
            }
            "service" => {
                let name = label(0).ok_or_else(|| format!("{place}: name the service type: service \"TYPE\" {{ ... }}"))?;
                let overrides = body::attributes(&block.body, ctx, &place, &["interval", "timeout"])?;
                let (plugin, params, interval, timeout) = match self.pipeline.types.service_type(&name).map_err(|e| format!("{place}: {e}"))? {
                    ServiceTypeImpl::Plugin(plugin, mut params) => {
                        if let Value::Object(map) = &mut params {
                            map.extend(overrides);
                        }
                        (plugin, params, None, None)
                    }
                    ServiceTypeImpl::Inline { adapter, mut definition, interval, timeout } => {
                        let map = definition.as_object_mut().expect("inline definitions are objects");
                        map.insert("params".into(), Value::Object(overrides));
                        map.insert("env".into(), serde_json::to_value(self.inline_env()).unwrap_or_default());
                        (adapter, definition, interval, timeout)
                    }
                };
                let ready_interval = body::duration_attr(&block.body, ctx, &place, "interval")?.or(interval).unwrap_or(Duration::from_secs(1));
                let ready_timeout = body::duration_attr(&block.body, ctx, &place, "timeout")?.or(timeout).unwrap_or(Duration::from_secs(60));
                (format!("service {name}"), Action::Service(ServiceStep { name, plugin, params, ready_interval, ready_timeout }))
            }
            "in_parallel" => {
                let steps = self.steps(&block.body, &place)?;
                let limit = body::u32_attr(&block.body, ctx, &place, "limit")?.map(|l| l as usize);
                let fail_fast = body::bool_attr(&block.body, ctx, &place, "fail_fast")?.unwrap_or(false);
                ("in_parallel".to_string(), Action::InParallel { steps, limit, fail_fast })
            }
            other => return Err(format!("{place}: `{other}` is not a step")),
        };
        Ok(Step {
            name,
            action,
            timeout: body::duration_attr(&block.body, ctx, &place, "timeout")?,
            attempts: body::u32_attr(&block.body, ctx, &place, "attempts")?.unwrap_or(1).max(1),
            hooks: self.hooks(&block.body, &place)?,
        })
    }

    fn hooks(&self, body: &Body, place: &Place) -> LoadResult<Hooks> {
        let mut hooks = Hooks::default();
        for block in body.blocks().filter(|b| HOOKS.contains(&b.identifier.as_str())) {
            let hook_place = place.child(block);
            // `on_failure "exec" { path, args }` runs a command; an unlabelled hook holds steps.
            let steps = if block.labels.is_empty() {
                self.steps(&block.body, &hook_place)?
            } else {
                let task = self.runner_task(block, place)?;
                vec![Step { name: block.identifier.as_str().to_string(), action: Action::Task(task), timeout: None, attempts: 1, hooks: Hooks::default() }]
            };
            let slot = match block.identifier.as_str() {
                "on_success" => &mut hooks.on_success,
                "on_failure" => &mut hooks.on_failure,
                "on_error" => &mut hooks.on_error,
                "on_abort" => &mut hooks.on_abort,
                _ => &mut hooks.ensure,
            };
            slot.extend(steps);
        }
        Ok(hooks)
    }

    /// A `run "RUNNER" { ... }` (or a labelled hook) as a task step.
    fn runner_task(&self, run: &Block, parent: &Place) -> LoadResult<TaskStep> {
        let place = parent.child(run);
        let runner_name = run.labels.first().map(|l| l.as_str()).unwrap_or("exec");
        let attrs = body::attributes(&run.body, self.ctx(), &place, &[])?;
        let text = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
        let args_of = |v: Option<&Value>| -> Vec<String> {
            match v {
                Some(Value::Array(items)) => items.iter().map(text).collect(),
                _ => Vec::new(),
            }
        };
        match self.pipeline.types.runner(runner_name).map_err(|e| format!("{place}: {e}"))? {
            RunnerImpl::Plugin(runner) => {
                let path = attrs.get("path").map(text).unwrap_or_default();
                if runner_name == "exec" && path.is_empty() {
                    return Err(format!("{place}: the exec runner needs `path`"));
                }
                let args = args_of(attrs.get("args"));
                let mut params = attrs.clone();
                params.remove("path");
                params.remove("args");
                Ok(TaskStep { runner, path, args, env: Vec::new(), params: Value::Object(params), inputs: Vec::new(), outputs: Vec::new() })
            }
            RunnerImpl::Template { exec, path, args } => {
                // PikoCI substitutes the task's run attributes into the runner's template.
                let substitute = |s: &str| {
                    let mut out = s.to_string();
                    for (k, v) in &attrs {
                        out = out.replace(&format!("${{{k}}}"), &text(v)).replace(&format!("${k}"), &text(v));
                    }
                    out
                };
                Ok(TaskStep {
                    runner: exec,
                    path: substitute(&path),
                    args: args.iter().map(|a| substitute(a)).collect(),
                    env: Vec::new(),
                    params: serde_json::json!({}),
                    inputs: Vec::new(),
                    outputs: Vec::new(),
                })
            }
        }
    }

    /// Who serves `resource` (a plugin with its configuration, or a trigger stream), and the
    /// directory a get puts it in.
    pub(super) fn resource_call(&self, resource: &str, place: &Place) -> LoadResult<(ResourceBackend, String)> {
        let def = self.pipeline.resource(resource).ok_or_else(|| {
            let names: Vec<&str> = self.pipeline.resources.iter().map(|r| r.name.as_str()).collect();
            format!("{place}: resource `{resource}` is not defined (resources: {})", names.join(", "))
        })?;
        let directory = def.params.get("name").and_then(Value::as_str).unwrap_or(&def.name).to_string();
        let b = self.build;
        let cache_dir = || {
            let dir = self.pipeline.cache_root.join(&b.team).join(&b.pipeline).join(&def.name);
            std::fs::create_dir_all(&dir).map_err(|e| format!("{place}: cannot create the cache directory {}: {e}", dir.display()))?;
            Ok::<_, String>(Value::String(dir.display().to_string()))
        };
        match self.pipeline.types.resource_type(&def.type_name).map_err(|e| format!("{place}: {e}"))? {
            ResourceTypeImpl::Plugin { plugin, cache } => {
                // A plugin that asks to write `{source.cache_dir}` keeps state between calls there;
                // it gets a directory per resource unless the pipeline says `cache = false`.
                let wants_cache = plugin.plugin.manifest().requested_capabilities.iter().any(|c| c.contains("{source.cache_dir}"));
                let mut params = def.params.clone();
                if def.cache.or(cache).unwrap_or(wants_cache) {
                    if let Value::Object(map) = &mut params {
                        if !map.contains_key("cache_dir") {
                            map.insert("cache_dir".into(), cache_dir()?);
                        }
                    }
                }
                Ok((ResourceBackend::Plugin { plugin, source: params }, directory))
            }
            ResourceTypeImpl::Trigger => Ok((ResourceBackend::Trigger { stream: def.name.clone() }, directory)),
            ResourceTypeImpl::Inline { adapter, mut definition, cache } => {
                let env = self.inline_env();
                let map = definition.as_object_mut().expect("inline definitions are objects");
                map.insert("params".into(), def.params.clone());
                map.insert("env".into(), serde_json::to_value(env).unwrap_or_default());
                if def.cache.unwrap_or(cache) {
                    map.insert("cache_dir".into(), cache_dir()?);
                }
                Ok((ResourceBackend::Plugin { plugin: adapter, source: definition }, directory))
            }
        }
    }

    /// What inline exec commands see besides their params: the worker's basics and the build.
    fn inline_env(&self) -> Vec<(String, String)> {
        let b = self.build;
        let mut env: Vec<(String, String)> = ["PATH", "HOME", "USER", "LANG"].iter().filter_map(|n| std::env::var(n).ok().map(|v| (n.to_string(), v))).collect();
        env.extend([
            ("BUILD_NUMBER".to_string(), b.number.to_string()),
            ("BUILD_JOB_NAME".to_string(), b.job.clone()),
            ("BUILD_PIPELINE_NAME".to_string(), b.pipeline.clone()),
            ("BUILD_TEAM_NAME".to_string(), b.team.clone()),
        ]);
        env
    }

    fn get(&self, resource: &str, place: &Place) -> LoadResult<GetStep> {
        let (backend, directory) = self.resource_call(resource, place)?;
        Ok(GetStep {
            resource: resource.to_string(),
            directory,
            backend,
            params: serde_json::json!({}),
            version: self.inputs.versions.get(resource).cloned(),
            local: self.inputs.local.get(resource).cloned(),
        })
    }

    fn put(&self, resource: &str, params: Value, place: &Place) -> LoadResult<PutStep> {
        let (backend, _) = self.resource_call(resource, place)?;
        Ok(PutStep { resource: resource.to_string(), backend, params })
    }
}
