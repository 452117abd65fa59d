//! Where `put "trigger" "NAME"` events go. The server keeps one stream per team and name in its
//! database; `pikoci run`, with no server, has none and says so in the log.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

/// The team's trigger streams, as the build's worker reaches them.
pub trait TriggerBus: Send + Sync {
    /// Append an event to `stream`; returns the event's id.
    fn publish<'a>(&'a self, stream: &'a str, payload: BTreeMap<String, String>) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;
}
