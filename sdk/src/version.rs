use crate::bindings::wit_types;
use std::collections::BTreeMap;

/// One version of a resource: a small map of string fields (`ref`, `sha256`, `time`...).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub BTreeMap<String, String>);

impl Version {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a field, builder style.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.insert(name.into(), value.into());
        self
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

impl From<wit_types::Version> for Version {
    fn from(v: wit_types::Version) -> Self {
        Version(v.fields.into_iter().collect())
    }
}

impl From<Version> for wit_types::Version {
    fn from(v: Version) -> Self {
        wit_types::Version { fields: v.0.into_iter().collect() }
    }
}

/// A version with the metadata shown beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    pub version: Version,
    pub metadata: Vec<(String, String)>,
}

impl Fetched {
    pub fn new(version: Version) -> Self {
        Fetched { version, metadata: Vec::new() }
    }

    /// Add a metadata field, builder style.
    pub fn with_metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((name.into(), value.into()));
        self
    }
}
