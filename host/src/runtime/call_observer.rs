//! Who wants to know how long plugin calls take (the server's `/metrics`), without the runtime
//! depending on a metrics library.

use super::manifest::PluginKind;
use std::sync::Arc;
use std::time::Duration;

/// One finished plugin call.
#[derive(Debug, Clone, Copy)]
pub struct CallRecord<'a> {
    pub kind: PluginKind,
    /// The export called: `check`, `get`, `put`, `run`, `start`, `ready`, `stop`, or the secret
    /// type's `get`.
    pub function: &'static str,
    pub plugin: &'a str,
    pub elapsed: Duration,
    pub succeeded: bool,
}

/// Told of every call of the plugins an engine loads from the moment it is set.
pub type CallObserver = Arc<dyn Fn(&CallRecord<'_>) + Send + Sync>;
