//! One trait per plugin kind, and the macros that export an implementation as a component.
//!
//! Each export macro takes the implementing type, optionally `name = "..."` (default: the crate's
//! name) and `capabilities = [...]`, the capabilities the plugin asks for, written as a pipeline
//! grants them (`read:PATH`, `write:PATH`, `net:HOST:PORT`, `run:PROGRAM`, `env:NAME`), where
//! `{source.FIELD}` stands for a field of the plugin's configuration.

use crate::bindings::wit_types::{PluginError, Version as WitVersion};
use crate::{parse_config, Fetched, Result, Version};
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// A resource type: check for new versions, get one, put one.
pub trait ResourceType {
    /// The resource's `source`/`params` block in the pipeline.
    type Source: DeserializeOwned;
    /// A `get` or `put` step's `params`.
    type Params: DeserializeOwned;

    /// Versions newer than `last`, oldest first; `last` itself when nothing changed.
    fn check(source: Self::Source, last: Option<Version>) -> Result<Vec<Version>>;
    /// Fetch `version` into the empty directory `dir`.
    fn get(source: Self::Source, version: Version, params: Self::Params, dir: &Path) -> Result<Fetched>;
    /// Push from `dir` and return the version created.
    fn put(source: Self::Source, params: Self::Params, dir: &Path) -> Result<Fetched>;
}

/// A task to run, as a runner receives it.
#[derive(Debug, Clone)]
pub struct Task<P> {
    pub path: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The build's work directory, where the task runs.
    pub dir: PathBuf,
    /// The rest of the task's `run` block.
    pub params: P,
}

/// A runner: execute a task's command somewhere and report its exit code.
pub trait Runner {
    type Params: DeserializeOwned;
    fn run(task: Task<Self::Params>) -> Result<i32>;
}

/// What `ServiceType::start` hands back to the host.
#[derive(Debug, Clone, Default)]
pub struct Started {
    /// Given back to `ready` and `stop`; a process id, a port...
    pub state: String,
    /// Variables for the job's later steps.
    pub exports: Vec<(String, String)>,
}

/// A service type: a process beside a job's tasks.
pub trait ServiceType {
    type Params: DeserializeOwned;
    fn start(name: &str, params: Self::Params) -> Result<Started>;
    fn ready(state: &str, params: Self::Params) -> Result<bool>;
    fn stop(state: &str, params: Self::Params) -> Result<()>;
}

/// A secret type: look a secret up.
pub trait SecretType {
    type Config: DeserializeOwned;
    fn get(config: Self::Config, path: &str, key: &str) -> Result<Option<String>>;
}

/// The build a notification is about.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    pub team: String,
    pub pipeline: String,
    pub job: String,
    pub number: u64,
    /// `success`, `failure` or `cancel` when sent after the build; `None` from a `notify` step.
    pub status: Option<String>,
    /// The build's work directory.
    pub workdir: PathBuf,
}

/// One notification to send.
#[derive(Debug, Clone)]
pub struct Notice<P, O> {
    /// The notification's `params`: where and how to send.
    pub params: P,
    /// A `notify` step's own attributes.
    pub options: O,
    /// The text to send, `$VAR`s expanded; `None` when the pipeline set none.
    pub message: Option<String>,
    pub build: BuildInfo,
    /// The build's environment at this point (`BUILD_*`, `version_*`, step outputs).
    pub env: Vec<(String, String)>,
}

impl<P, O> Notice<P, O> {
    /// A variable of the build's environment.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A notification type: send a build's news somewhere.
pub trait NotificationType {
    /// The `notification` block's `params`.
    type Params: DeserializeOwned;
    /// A `notify` step's attributes.
    type Options: DeserializeOwned;
    fn notify(notice: Notice<Self::Params, Self::Options>) -> Result<()>;
}

type WitResult<T> = std::result::Result<T, PluginError>;

fn wit_fetched(f: Fetched) -> crate::bindings::resource_type::exports::pikoci::plugin::resource_type::Fetched {
    crate::bindings::resource_type::exports::pikoci::plugin::resource_type::Fetched {
        version: f.version.into(),
        metadata: f.metadata.into_iter().map(|(name, value)| crate::bindings::wit_types::MetadataField { name, value }).collect(),
    }
}

// The functions below adapt the WIT signatures to the traits; the export macros call them.

#[doc(hidden)]
pub fn resource_check<T: ResourceType>(source: String, last: Option<WitVersion>) -> WitResult<Vec<WitVersion>> {
    let source = parse_config::<T::Source>("source", &source)?;
    let versions = T::check(source, last.map(Version::from))?;
    Ok(versions.into_iter().map(Into::into).collect())
}

#[doc(hidden)]
pub fn resource_get<T: ResourceType>(
    source: String,
    version: WitVersion,
    params: String,
    dir: String,
) -> WitResult<crate::bindings::resource_type::exports::pikoci::plugin::resource_type::Fetched> {
    let source = parse_config::<T::Source>("source", &source)?;
    let params = parse_config::<T::Params>("params", &params)?;
    Ok(wit_fetched(T::get(source, version.into(), params, Path::new(&dir))?))
}

#[doc(hidden)]
pub fn resource_put<T: ResourceType>(
    source: String,
    params: String,
    dir: String,
) -> WitResult<crate::bindings::resource_type::exports::pikoci::plugin::resource_type::Fetched> {
    let source = parse_config::<T::Source>("source", &source)?;
    let params = parse_config::<T::Params>("params", &params)?;
    Ok(wit_fetched(T::put(source, params, Path::new(&dir))?))
}

#[doc(hidden)]
pub fn runner_run<T: Runner>(task: crate::bindings::runner::exports::pikoci::plugin::runner::Task) -> WitResult<i32> {
    let params = parse_config::<T::Params>("run", &task.params)?;
    Ok(T::run(Task { path: task.path, args: task.args, env: task.env, dir: task.dir.into(), params })?)
}

#[doc(hidden)]
pub fn service_start<T: ServiceType>(name: String, params: String) -> WitResult<crate::bindings::service_type::exports::pikoci::plugin::service_type::Started> {
    let params = parse_config::<T::Params>("params", &params)?;
    let started = T::start(&name, params)?;
    Ok(crate::bindings::service_type::exports::pikoci::plugin::service_type::Started { state: started.state, exports: started.exports })
}

#[doc(hidden)]
pub fn service_ready<T: ServiceType>(state: String, params: String) -> WitResult<bool> {
    Ok(T::ready(&state, parse_config::<T::Params>("params", &params)?)?)
}

#[doc(hidden)]
pub fn service_stop<T: ServiceType>(state: String, params: String) -> WitResult<()> {
    Ok(T::stop(&state, parse_config::<T::Params>("params", &params)?)?)
}

#[doc(hidden)]
pub fn secret_get<T: SecretType>(config: String, path: String, key: String) -> WitResult<Option<String>> {
    Ok(T::get(parse_config::<T::Config>("config", &config)?, &path, &key)?)
}

#[doc(hidden)]
pub fn notification_notify<T: NotificationType>(
    notice: crate::bindings::notification_type::exports::pikoci::plugin::notification_type::Notice,
) -> WitResult<()> {
    let build = notice.build;
    Ok(T::notify(Notice {
        params: parse_config::<T::Params>("params", &notice.params)?,
        options: parse_config::<T::Options>("notify", &notice.options)?,
        message: notice.message,
        build: BuildInfo {
            team: build.team,
            pipeline: build.pipeline,
            job: build.job,
            number: build.number,
            status: build.status,
            workdir: build.workdir.into(),
        },
        env: notice.env,
    })?)
}

/// Export a [`ResourceType`] implementation as this component's resource type.
#[macro_export]
macro_rules! export_resource_type {
    ($ty:ty $(, name = $name:literal)? $(, capabilities = [$($cap:literal),* $(,)?])? $(,)?) => {
        $crate::__manifest!("resource-type", name = [$($name)?], caps = [$($($cap),*)?]);
        const _: () = {
            struct PikociExport;
            use $crate::bindings::resource_type::exports::pikoci::plugin::resource_type as wit;
            use $crate::bindings::wit_types as types;
            impl wit::Guest for PikociExport {
                fn check(source: String, last: Option<types::Version>) -> Result<Vec<types::Version>, types::PluginError> {
                    $crate::kinds::resource_check::<$ty>(source, last)
                }
                fn get(source: String, version: types::Version, params: String, dir: String) -> Result<wit::Fetched, types::PluginError> {
                    $crate::kinds::resource_get::<$ty>(source, version, params, dir)
                }
                fn put(source: String, params: String, dir: String) -> Result<wit::Fetched, types::PluginError> {
                    $crate::kinds::resource_put::<$ty>(source, params, dir)
                }
            }
            $crate::bindings::resource_type::__export_resource_type_world!(PikociExport with_types_in $crate::bindings::resource_type);
        };
    };
}

/// Export a [`Runner`] implementation as this component's runner.
#[macro_export]
macro_rules! export_runner {
    ($ty:ty $(, name = $name:literal)? $(, capabilities = [$($cap:literal),* $(,)?])? $(,)?) => {
        $crate::__manifest!("runner", name = [$($name)?], caps = [$($($cap),*)?]);
        const _: () = {
            struct PikociExport;
            use $crate::bindings::runner::exports::pikoci::plugin::runner as wit;
            impl wit::Guest for PikociExport {
                fn run(task: wit::Task) -> Result<i32, $crate::bindings::wit_types::PluginError> {
                    $crate::kinds::runner_run::<$ty>(task)
                }
            }
            $crate::bindings::runner::__export_runner_world!(PikociExport with_types_in $crate::bindings::runner);
        };
    };
}

/// Export a [`ServiceType`] implementation as this component's service type.
#[macro_export]
macro_rules! export_service_type {
    ($ty:ty $(, name = $name:literal)? $(, capabilities = [$($cap:literal),* $(,)?])? $(,)?) => {
        $crate::__manifest!("service-type", name = [$($name)?], caps = [$($($cap),*)?]);
        const _: () = {
            struct PikociExport;
            use $crate::bindings::service_type::exports::pikoci::plugin::service_type as wit;
            use $crate::bindings::wit_types::PluginError;
            impl wit::Guest for PikociExport {
                fn start(name: String, params: String) -> Result<wit::Started, PluginError> {
                    $crate::kinds::service_start::<$ty>(name, params)
                }
                fn ready(state: String, params: String) -> Result<bool, PluginError> {
                    $crate::kinds::service_ready::<$ty>(state, params)
                }
                fn stop(state: String, params: String) -> Result<(), PluginError> {
                    $crate::kinds::service_stop::<$ty>(state, params)
                }
            }
            $crate::bindings::service_type::__export_service_type_world!(PikociExport with_types_in $crate::bindings::service_type);
        };
    };
}

/// Export a [`SecretType`] implementation as this component's secret type.
#[macro_export]
macro_rules! export_secret_type {
    ($ty:ty $(, name = $name:literal)? $(, capabilities = [$($cap:literal),* $(,)?])? $(,)?) => {
        $crate::__manifest!("secret-type", name = [$($name)?], caps = [$($($cap),*)?]);
        const _: () = {
            struct PikociExport;
            use $crate::bindings::secret_type::exports::pikoci::plugin::secret_type as wit;
            impl wit::Guest for PikociExport {
                fn get(config: String, path: String, key: String) -> Result<Option<String>, $crate::bindings::wit_types::PluginError> {
                    $crate::kinds::secret_get::<$ty>(config, path, key)
                }
            }
            $crate::bindings::secret_type::__export_secret_type_world!(PikociExport with_types_in $crate::bindings::secret_type);
        };
    };
}

/// Export a [`NotificationType`] implementation as this component's notification type.
#[macro_export]
macro_rules! export_notification_type {
    ($ty:ty $(, name = $name:literal)? $(, capabilities = [$($cap:literal),* $(,)?])? $(,)?) => {
        $crate::__manifest!("notification-type", name = [$($name)?], caps = [$($($cap),*)?]);
        const _: () = {
            struct PikociExport;
            use $crate::bindings::notification_type::exports::pikoci::plugin::notification_type as wit;
            impl wit::Guest for PikociExport {
                fn notify(notice: wit::Notice) -> Result<(), $crate::bindings::wit_types::PluginError> {
                    $crate::kinds::notification_notify::<$ty>(notice)
                }
            }
            $crate::bindings::notification_type::__export_notification_type_world!(PikociExport with_types_in $crate::bindings::notification_type);
        };
    };
}
