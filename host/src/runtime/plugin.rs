//! A loaded plugin and the calls the host makes into it, each in a fresh sandbox.

use super::bindings::v0_1 as wit;
use super::call_error::{grant_hint, CallError};
use super::call_observer::{CallObserver, CallRecord};
use super::capability::Capabilities;
use super::log_sink::LogSink;
use super::manifest::{PluginKind, PluginManifest};
use super::sandbox::{CallReport, PluginState, SharedReport};
use super::values::{Fetched, Notice, StartedService, TaskSpec, Version};
use pikoci_registry::Digest;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use wasmtime::{Engine, Store};

/// The linked, ready-to-instantiate component, by kind.
pub(crate) enum KindPre {
    ResourceType(wit::resource_type::ResourceTypePluginPre<PluginState>),
    Runner(wit::runner::RunnerPluginPre<PluginState>),
    ServiceType(wit::service_type::ServiceTypePluginPre<PluginState>),
    SecretType(wit::secret_type::SecretTypePluginPre<PluginState>),
    NotificationType(wit::notification_type::NotificationTypePluginPre<PluginState>),
}

/// A compiled, linked plugin. Cheap to call many times: each call instantiates it anew in its own
/// store, so no state leaks from one call (or one build) to the next.
pub struct Plugin {
    manifest: PluginManifest,
    digest: Digest,
    pre: KindPre,
    engine: Engine,
    observer: Option<CallObserver>,
}

type CallFuture<'a, R> = Pin<Box<dyn Future<Output = wasmtime::Result<Result<R, wit::PluginError>>> + Send + 'a>>;

/// Checks the plugin is of `$kind`, then runs one export call in a fresh instance:
/// `|instance, store| instance.interface().call_x(store, args...)`.
macro_rules! call_export {
    ($self:ident, $grants:expr, $log:expr, $kind:ident, $function:literal, |$instance:ident, $store:ident| $call:expr) => {{
        if !matches!($self.pre, KindPre::$kind(_)) {
            return Err($self.wrong_kind(PluginKind::$kind));
        }
        $self
            .call($function, $grants, $log, move |store, pre| {
                Box::pin(async move {
                    let KindPre::$kind(pre) = pre else { unreachable!("kind checked above") };
                    let $instance = pre.instantiate_async(&mut *store).await?;
                    let $store = &mut *store;
                    $call.await
                })
            })
            .await
    }};
}

impl Plugin {
    pub(crate) fn new(manifest: PluginManifest, digest: Digest, pre: KindPre, engine: Engine, observer: Option<CallObserver>) -> Self {
        Plugin { manifest, digest, pre, engine, observer }
    }

    pub fn manifest(&self) -> &PluginManifest {
        &self.manifest
    }

    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    pub fn kind(&self) -> PluginKind {
        self.manifest.kind
    }

    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    fn wrong_kind(&self, wanted: PluginKind) -> CallError {
        CallError::Setup { plugin: self.name().to_string(), message: format!("it is a {}, not a {wanted}", self.kind()) }
    }

    /// Run one call in a fresh store with `grants`, and turn every way it can end into a
    /// `CallError` that says what happened.
    async fn call<R>(
        &self,
        function: &'static str,
        grants: &Capabilities,
        log: Arc<dyn LogSink>,
        body: impl for<'a> FnOnce(&'a mut Store<PluginState>, &'a KindPre) -> CallFuture<'a, R>,
    ) -> Result<R, CallError> {
        let started = std::time::Instant::now();
        let result = self.call_in_sandbox(grants, log, body).await;
        if let Some(observer) = &self.observer {
            observer(&CallRecord { kind: self.kind(), function, plugin: self.name(), elapsed: started.elapsed(), succeeded: result.is_ok() });
        }
        result
    }

    async fn call_in_sandbox<R>(
        &self,
        grants: &Capabilities,
        log: Arc<dyn LogSink>,
        body: impl for<'a> FnOnce(&'a mut Store<PluginState>, &'a KindPre) -> CallFuture<'a, R>,
    ) -> Result<R, CallError> {
        let plugin = self.name().to_string();
        let report: SharedReport = Arc::new(Mutex::new(CallReport::default()));
        let state = PluginState::new(Arc::new(grants.clone()), log, report.clone()).map_err(|message| CallError::Setup { plugin: plugin.clone(), message })?;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        // Yield to the executor every tick: a plugin spinning in a loop then cannot hold a thread
        // past its timeout or a cancellation, which both work by dropping this future.
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);

        let outcome = tokio::time::timeout(grants.timeout, body(&mut store, &self.pre)).await;
        // Drop the store first: it kills any process the plugin left running.
        drop(store);
        let report = std::mem::take(&mut *report.lock().unwrap());

        let denied = |what: String| CallError::Denied { hint: grant_hint(&what), plugin: plugin.clone(), what };
        match outcome {
            Err(_elapsed) => Err(CallError::Timeout { plugin, after: grants.timeout }),
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(result) => {
                if let Some(requested) = report.memory_refused {
                    return Err(CallError::MemoryLimit { plugin, limit: grants.memory_limit, requested: requested as u64 });
                }
                // A refusal the host saw is more precise than what the plugin made of it.
                if let Some(what) = report.denials.into_iter().next() {
                    return Err(denied(what));
                }
                if let Some(what) = report.refusals.into_iter().next() {
                    return Err(CallError::Refused { plugin, what });
                }
                match result {
                    Ok(Err(wit::PluginError::CapabilityDenied(what))) => Err(denied(what)),
                    Ok(Err(wit::PluginError::InvalidConfig(message))) => Err(CallError::InvalidConfig { plugin, message }),
                    Ok(Err(wit::PluginError::Failed(message))) => Err(CallError::Failed { plugin, message }),
                    Err(trap) => Err(CallError::Crashed { plugin, message: describe_trap(&trap) }),
                    Ok(Ok(_)) => unreachable!("handled above"),
                }
            }
        }
    }

    /// Resource type: versions newer than `last`.
    pub async fn check(
        &self,
        grants: &Capabilities,
        log: Arc<dyn LogSink>,
        source: &serde_json::Value,
        last: Option<&Version>,
    ) -> Result<Vec<Version>, CallError> {
        let source = source.to_string();
        let last = last.map(wit::Version::from);
        let versions = call_export!(self, grants, log, ResourceType, "check", |instance, store| instance.pikoci_plugin_resource_type().call_check(
            store,
            &source,
            last.as_ref()
        ))?;
        Ok(versions.into_iter().map(Version::from).collect())
    }

    /// Resource type: fetch `version` into `dir`.
    pub async fn get(
        &self,
        grants: &Capabilities,
        log: Arc<dyn LogSink>,
        source: &serde_json::Value,
        version: &Version,
        params: &serde_json::Value,
        dir: &str,
    ) -> Result<Fetched, CallError> {
        let (source, params, dir) = (source.to_string(), params.to_string(), dir.to_string());
        let version = wit::Version::from(version);
        let fetched = call_export!(self, grants, log, ResourceType, "get", |instance, store| instance
            .pikoci_plugin_resource_type()
            .call_get(store, &source, &version, &params, &dir))?;
        Ok(fetched.into())
    }

    /// Resource type: push from `dir`.
    pub async fn put(
        &self,
        grants: &Capabilities,
        log: Arc<dyn LogSink>,
        source: &serde_json::Value,
        params: &serde_json::Value,
        dir: &str,
    ) -> Result<Fetched, CallError> {
        let (source, params, dir) = (source.to_string(), params.to_string(), dir.to_string());
        let fetched = call_export!(self, grants, log, ResourceType, "put", |instance, store| instance
            .pikoci_plugin_resource_type()
            .call_put(store, &source, &params, &dir))?;
        Ok(fetched.into())
    }

    /// Runner: run a task, returning its exit code.
    pub async fn run(&self, grants: &Capabilities, log: Arc<dyn LogSink>, task: &TaskSpec) -> Result<i32, CallError> {
        let task = wit::runner::exports::pikoci::plugin::runner::Task {
            path: task.path.clone(),
            args: task.args.clone(),
            env: task.env.clone(),
            dir: task.dir.clone(),
            params: task.params.to_string(),
        };
        call_export!(self, grants, log, Runner, "run", |instance, store| instance.pikoci_plugin_runner().call_run(store, &task))
    }

    /// Service type: start the service.
    pub async fn start(&self, grants: &Capabilities, log: Arc<dyn LogSink>, name: &str, params: &serde_json::Value) -> Result<StartedService, CallError> {
        let (name, params) = (name.to_string(), params.to_string());
        let started =
            call_export!(self, grants, log, ServiceType, "start", |instance, store| instance.pikoci_plugin_service_type().call_start(store, &name, &params))?;
        Ok(StartedService { state: started.state, exports: started.exports })
    }

    /// Service type: is the started service ready?
    pub async fn ready(&self, grants: &Capabilities, log: Arc<dyn LogSink>, state: &str, params: &serde_json::Value) -> Result<bool, CallError> {
        let (state, params) = (state.to_string(), params.to_string());
        call_export!(self, grants, log, ServiceType, "ready", |instance, store| instance.pikoci_plugin_service_type().call_ready(store, &state, &params))
    }

    /// Service type: stop the service.
    pub async fn stop(&self, grants: &Capabilities, log: Arc<dyn LogSink>, state: &str, params: &serde_json::Value) -> Result<(), CallError> {
        let (state, params) = (state.to_string(), params.to_string());
        call_export!(self, grants, log, ServiceType, "stop", |instance, store| instance.pikoci_plugin_service_type().call_stop(store, &state, &params))
    }

    /// Secret type: look a secret up.
    pub async fn get_secret(
        &self,
        grants: &Capabilities,
        log: Arc<dyn LogSink>,
        config: &serde_json::Value,
        path: &str,
        key: &str,
    ) -> Result<Option<String>, CallError> {
        let (config, path, key) = (config.to_string(), path.to_string(), key.to_string());
        call_export!(self, grants, log, SecretType, "get", |instance, store| instance.pikoci_plugin_secret_type().call_get(store, &config, &path, &key))
    }

    /// Notification type: send one notification.
    pub async fn notify(&self, grants: &Capabilities, log: Arc<dyn LogSink>, notice: &Notice) -> Result<(), CallError> {
        use wit::notification_type::exports::pikoci::plugin::notification_type as nt;
        let notice = nt::Notice {
            params: notice.params.to_string(),
            options: notice.options.to_string(),
            message: notice.message.clone(),
            build: nt::BuildInfo {
                team: notice.build.team.clone(),
                pipeline: notice.build.pipeline.clone(),
                job: notice.build.job.clone(),
                number: notice.build.number,
                status: notice.status.clone(),
                workdir: notice.workdir.clone(),
            },
            env: notice.env.clone(),
        };
        call_export!(self, grants, log, NotificationType, "notify", |instance, store| instance.pikoci_plugin_notification_type().call_notify(store, &notice))
    }
}

/// A trap's reason without wasmtime's multi-line backtrace; the plugin's own panic message, if
/// any, is already in the log (it went to stderr).
fn describe_trap(error: &wasmtime::Error) -> String {
    if let Some(trap) = error.downcast_ref::<wasmtime::Trap>() {
        let hint = if *trap == wasmtime::Trap::UnreachableCodeReached { " (a panic or abort; see the plugin's output above)" } else { "" };
        return format!("{trap}{hint}");
    }
    format!("{error:#}").lines().next().unwrap_or_default().to_string()
}
