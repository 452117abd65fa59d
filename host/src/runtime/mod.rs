//! The plugin runtime: loading WebAssembly components and calling them in a sandbox.
//!
//! Reading order: [`capability`] (what a call may touch) -> [`engine`] (load a component) ->
//! [`plugin`] (call it) -> [`sandbox`] (the store a call runs in) -> [`host_process`] and
//! [`host_log`] (the host interfaces plugins import) -> [`call_error`] (how calls fail).

pub mod bindings;
pub mod call_error;
pub mod call_observer;
pub mod capability;
pub mod compiled_cache;
mod container;
pub mod engine;
mod file_guard;
mod host_log;
pub mod host_process;
pub mod log_sink;
pub mod plugin;
pub mod plugin_set;
pub mod program_sandbox;
pub mod sandbox;
pub mod values;

pub use call_error::CallError;
pub use call_observer::{CallObserver, CallRecord};
pub use capability::{Capabilities, Capability};
pub use engine::{LoadError, PluginEngine};
pub use log_sink::{LogBacklog, LogLine, LogOrigin, LogSink, MemoryLog, TerminalLog};
pub use pikoci_pipeline::manifest::{self, PluginKind, PluginManifest};
pub use plugin::Plugin;
pub use plugin_set::PluginSet;
pub use values::{Fetched, Notice, NoticeBuild, StartedService, TaskSpec, Version};
