//! The leaf steps: get, put, task, service. Each turns a plugin call into an [`Outcome`].

use super::grants::CallValues;
use super::plan::{GetStep, PluginRef, PutStep, ResourceBackend, ServiceStep, TaskStep};
use super::services::RunningService;
use super::step_outputs::{get_exports, OutputFile, OUTPUT_VARIABLE};
use super::{Build, Outcome};
use crate::runtime::host_process::detaching_into;
use crate::runtime::{CallError, Fetched, TaskSpec, Version};
use serde_json::Value;
use std::path::Path;

/// A plugin resource backend as one call sees it.
struct ResourceCall<'a> {
    plugin: &'a PluginRef,
    /// The resource's configuration with what this call adds (cache directory, environment).
    source: Value,
}

/// A plugin that could not do its job errors the step; only a task's own exit code fails it.
fn errored(e: CallError) -> Outcome {
    Outcome::Errored(e.to_string())
}

impl Build {
    pub(super) fn write_grant(&self, dir: &Path) -> String {
        format!("write:{}", dir.display())
    }

    /// The source a plugin backend is called with: a `cache_dir` kept per resource when the
    /// resource caches, and for inline types the build's environment (`step_env`). `None` for a
    /// trigger stream, which no plugin serves.
    fn resource_call<'a>(&self, resource: &str, backend: &'a ResourceBackend, own_env: &[(String, String)]) -> Result<Option<ResourceCall<'a>>, String> {
        let (plugin, source, cache, inline) = match backend {
            ResourceBackend::Plugin { plugin, source, cache } => (plugin, source, *cache, false),
            ResourceBackend::Inline { adapter, definition, cache } => (adapter, definition, *cache, true),
            ResourceBackend::Trigger { .. } => return Ok(None),
        };
        let mut source = source.clone();
        let Value::Object(map) = &mut source else { return Ok(Some(ResourceCall { plugin, source })) };
        if cache && !map.contains_key("cache_dir") {
            let b = &self.identity;
            let dir = self.options.cache_root.join(&b.team).join(&b.pipeline).join(resource);
            std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create the cache directory {}: {e}", dir.display()))?;
            map.insert("cache_dir".into(), Value::String(dir.display().to_string()));
        }
        if inline {
            map.insert("env".into(), serde_json::to_value(self.step_env(own_env)).unwrap_or_default());
        }
        Ok(Some(ResourceCall { plugin, source }))
    }

    /// The versions of `resource` after `last` (a check), as the scheduler and a get without a
    /// version ask for them.
    pub(super) async fn check(&self, step: &str, resource: &str, backend: &ResourceBackend, last: Option<&Version>) -> Result<Vec<Version>, String> {
        let step_backend = self.with_backend_secrets(step, backend).await?;
        let Some(call) = self.resource_call(resource, &step_backend, &[])? else {
            return Err(format!("resource {resource} is a trigger stream: the server checks it"));
        };
        let plugin = self.plugin(call.plugin)?;
        let grants = self.grants_for(step, call.plugin, &CallValues { source: Some(&call.source), ..Default::default() }, &[]);
        plugin.check(&grants, self.log.step(step), &call.source, last).await.map_err(|e| e.to_string())
    }

    pub(super) async fn get(&self, step: &str, get: &GetStep, own_env: &[(String, String)]) -> Outcome {
        let log = self.log.step(step);
        if let Some(local) = &get.local {
            let target = self.workdir.join(&get.directory);
            if let Err(e) = std::fs::create_dir_all(&target) {
                return Outcome::Errored(format!("cannot create {}: {e}", target.display()));
            }
            return match copy_dir(local, &target) {
                Ok(()) => {
                    self.log.note(step, format!("using local input {} instead of fetching", local.display()));
                    Outcome::Succeeded
                }
                Err(e) => Outcome::Errored(format!("cannot copy local input {}: {e}", local.display())),
            };
        }
        let call = match self.resource_call(&get.resource, &get.backend, own_env) {
            Ok(Some(call)) => call,
            Ok(None) => {
                let ResourceBackend::Trigger { stream } = &get.backend else { unreachable!("only triggers have no plugin") };
                return self.get_trigger_event(step, get, stream);
            }
            Err(why) => return Outcome::Errored(why),
        };
        let plugin = match self.plugin(call.plugin) {
            Ok(p) => p,
            Err(why) => return Outcome::Errored(why),
        };
        let source = &call.source;
        let values = CallValues { source: Some(source), params: Some(&get.params), ..Default::default() };
        let version = match &get.version {
            Some(v) => v.clone(),
            None => {
                let grants = self.grants_for(step, call.plugin, &values, &[]);
                match plugin.check(&grants, log.clone(), source, None).await {
                    Ok(versions) => match versions.last() {
                        Some(v) => v.clone(),
                        None => return Outcome::Errored(format!("resource {} has no version yet", get.resource)),
                    },
                    Err(e) => return errored(e),
                }
            }
        };
        let grants = self.grants_for(step, call.plugin, &values, &[self.write_grant(&self.workdir)]);
        let dir = self.workdir.display().to_string();
        match plugin.get(&grants, log, source, &version, &get.params, &dir).await {
            Ok(fetched) => {
                self.record_version(step, &get.resource, fetched);
                Outcome::Succeeded
            }
            Err(e) => errored(e),
        }
    }

    fn record_version(&self, step: &str, resource: &str, fetched: Fetched) {
        let shown: Vec<_> = fetched.version.0.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        self.log.note(step, format!("fetched {resource} ({})", shown.join(", ")));
        self.exports.lock().unwrap().extend(get_exports(resource, &fetched));
        self.versions.lock().unwrap().push((resource.to_string(), fetched));
    }

    /// A trigger event has nothing to fetch: its fields are the version tasks see.
    fn get_trigger_event(&self, step: &str, get: &GetStep, stream: &str) -> Outcome {
        match &get.version {
            Some(version) => self.record_version(step, &get.resource, Fetched { version: version.clone(), metadata: Vec::new() }),
            None => self.log.note(step, format!("no `{stream}` trigger event to get: trigger streams live on a pikoci server")),
        }
        Outcome::Succeeded
    }

    pub(super) async fn put(&self, step: &str, put: &PutStep, own_env: &[(String, String)]) -> Outcome {
        let call = match self.resource_call(&put.resource, &put.backend, own_env) {
            Ok(Some(call)) => call,
            Ok(None) => {
                let ResourceBackend::Trigger { stream } = &put.backend else { unreachable!("only triggers have no plugin") };
                return self.put_trigger_event(step, put, stream).await;
            }
            Err(why) => return Outcome::Errored(why),
        };
        let plugin = match self.plugin(call.plugin) {
            Ok(p) => p,
            Err(why) => return Outcome::Errored(why),
        };
        let source = &call.source;
        let values = CallValues { source: Some(source), params: Some(&put.params), ..Default::default() };
        let grants = self.grants_for(step, call.plugin, &values, &[self.write_grant(&self.workdir)]);
        let dir = self.workdir.display().to_string();
        match plugin.put(&grants, self.log.step(step), source, &put.params, &dir).await {
            Ok(fetched) => {
                let shown: Vec<_> = fetched.version.0.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                self.log.note(step, format!("pushed {} ({})", put.resource, shown.join(", ")));
                Outcome::Succeeded
            }
            Err(e) => errored(e),
        }
    }

    /// The put's params, and who sent it (PikoCI's `trigger_pipeline`, `trigger_job`,
    /// `trigger_build`), become the event.
    async fn put_trigger_event(&self, step: &str, put: &PutStep, stream: &str) -> Outcome {
        let mut payload: std::collections::BTreeMap<String, String> =
            put.params.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect();
        let b = &self.identity;
        payload.insert("trigger_pipeline".into(), b.pipeline.clone());
        payload.insert("trigger_job".into(), b.job.clone());
        payload.insert("trigger_build".into(), b.number.to_string());
        match &self.options.triggers {
            Some(bus) => match bus.publish(stream, payload).await {
                Ok(event) => {
                    self.log.note(step, format!("sent trigger event {event} to `{stream}`"));
                    Outcome::Succeeded
                }
                Err(e) => Outcome::Errored(format!("cannot send the `{stream}` trigger event: {e}")),
            },
            None => {
                self.log.note(step, format!("trigger event for `{stream}` not sent: trigger streams live on a pikoci server"));
                Outcome::Succeeded
            }
        }
    }

    pub(super) async fn task(&self, step: &str, task: &TaskStep, own_env: &[(String, String)]) -> Outcome {
        for input in &task.inputs {
            if !self.workdir.join(input).exists() {
                return Outcome::Errored(format!("input `{input}` does not exist in the work directory; is there a `get` for it before this task?"));
            }
        }
        let dir = self.workdir.display().to_string();
        let mut env = self.step_env(&[task.env.as_slice(), own_env].concat());
        let output_file = match &task.output_prefix {
            Some(_) => match OutputFile::create(&self.workdir) {
                Ok(file) => {
                    env.push((OUTPUT_VARIABLE.to_string(), file.path().display().to_string()));
                    Some(file)
                }
                Err(e) => return Outcome::Errored(format!("cannot create the task's ${OUTPUT_VARIABLE} file: {e}")),
            },
            None => None,
        };
        let spec = TaskSpec { path: task.path.clone(), args: task.args.clone(), env, dir: dir.clone(), params: task.params.clone() };
        let values = CallValues { params: Some(&task.params), task_path: Some(&task.path), task_dir: Some(&dir), ..Default::default() };
        let grants = self.grants_for(step, &task.runner, &values, &[self.write_grant(&self.workdir)]);
        let runner = match self.plugin(&task.runner) {
            Ok(p) => p,
            Err(why) => return Outcome::Errored(why),
        };
        let code = match runner.run(&grants, self.log.step(step), &spec).await {
            Ok(code) => code,
            Err(e) => return errored(e),
        };
        if code != 0 {
            return Outcome::Failed(format!("exit status {code}"));
        }
        for output in &task.outputs {
            if !self.workdir.join(output).exists() {
                return Outcome::Failed(format!("the task did not produce its output `{output}`"));
            }
        }
        if let (Some(file), Some(prefix)) = (output_file, &task.output_prefix) {
            let (values, problems) = file.read(prefix);
            for problem in problems {
                self.log.note(step, problem);
            }
            self.exports.lock().unwrap().extend(values);
        }
        Outcome::Succeeded
    }

    pub(super) async fn start_service(&self, step: &str, service: &ServiceStep, own_env: &[(String, String)]) -> Outcome {
        let plugin = match self.plugin(&service.plugin) {
            Ok(p) => p,
            Err(why) => return Outcome::Errored(why),
        };
        let mut params = service.params.clone();
        if let (true, Value::Object(map)) = (service.inline, &mut params) {
            map.insert("env".into(), serde_json::to_value(self.step_env(own_env)).unwrap_or_default());
        }
        let values = CallValues { params: Some(&params), ..Default::default() };
        let grants = self.grants_for(step, &service.plugin, &values, &[]);
        let log = self.log.step(step);
        let started = match detaching_into(&self.background, plugin.start(&grants, log.clone(), &service.name, &params)).await {
            Ok(started) => started,
            Err(e) => return errored(e),
        };
        // Registered before the ready check, so a service that never gets ready is still stopped.
        self.services.push(RunningService {
            name: service.name.clone(),
            step: step.to_string(),
            plugin: service.plugin.clone(),
            state: started.state.clone(),
            params: params.clone(),
        });
        let deadline = tokio::time::Instant::now() + service.ready_timeout;
        loop {
            match detaching_into(&self.background, plugin.ready(&grants, log.clone(), &started.state, &params)).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => return errored(e),
            }
            if tokio::time::Instant::now() + service.ready_interval > deadline {
                let after = humantime::format_duration(service.ready_timeout);
                return Outcome::Errored(format!("service {} was not ready after {after}", service.name));
            }
            tokio::time::sleep(service.ready_interval).await;
        }
        self.log.note(step, format!("service {} is ready", service.name));
        self.exports.lock().unwrap().extend(started.exports);
        Outcome::Succeeded
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
