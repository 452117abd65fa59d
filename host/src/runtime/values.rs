//! The host's own types for what crosses the plugin boundary, independent of WIT versions.

use super::bindings::latest as wit;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One version of a resource: its identifying fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Version(pub BTreeMap<String, String>);

impl Version {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

impl From<wit::Version> for Version {
    fn from(v: wit::Version) -> Self {
        Version(v.fields.into_iter().collect())
    }
}

impl From<&Version> for wit::Version {
    fn from(v: &Version) -> Self {
        wit::Version { fields: v.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect() }
    }
}

/// A version with its display metadata, as `get` and `put` return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fetched {
    pub version: Version,
    pub metadata: Vec<(String, String)>,
}

impl From<wit::resource_type::exports::pikoci::plugin::resource_type::Fetched> for Fetched {
    fn from(f: wit::resource_type::exports::pikoci::plugin::resource_type::Fetched) -> Self {
        Fetched { version: f.version.into(), metadata: f.metadata.into_iter().map(|m| (m.name, m.value)).collect() }
    }
}

/// What a runner executes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskSpec {
    pub path: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: Vec<(String, String)>,
    pub dir: String,
    /// The rest of the task's `run` block, as JSON.
    #[serde(default = "empty_object")]
    pub params: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::json!({})
}

/// What a service's `start` returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartedService {
    pub state: String,
    pub exports: Vec<(String, String)>,
}

/// One notification for a notification type to send (the WIT `notice`).
#[derive(Debug, Clone, Default)]
pub struct Notice {
    /// The notification's `params`: where and how to send.
    pub params: serde_json::Value,
    /// A `notify` step's own attributes.
    pub options: serde_json::Value,
    pub message: Option<String>,
    pub build: NoticeBuild,
    /// How the build ended, when sent after it.
    pub status: Option<String>,
    pub workdir: String,
    pub env: Vec<(String, String)>,
}

/// Which build a notice is about.
#[derive(Debug, Clone, Default)]
pub struct NoticeBuild {
    pub team: String,
    pub pipeline: String,
    pub job: String,
    pub number: u64,
}
