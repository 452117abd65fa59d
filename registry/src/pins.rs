//! The pins file: which manifest (and component) digest each tag reference resolved to.
//!
//! A pipeline is validated against particular bytes. Tags move, so the first resolution of a
//! tag is recorded here and reused until someone deliberately updates it; the file is meant to
//! be committed next to the pipeline, like a lock file.
//!
//! ```json
//! {
//!   "version": 1,
//!   "pins": {
//!     "registry.example:5000/plugins/git:1.2": {
//!       "manifest": "sha256:…",
//!       "component": "sha256:…"
//!     }
//!   }
//! }
//! ```

use crate::digest::Digest;
use crate::error::RegistryError;
use crate::reference::Reference;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

const FORMAT_VERSION: u32 = 1;

/// What one tag reference is pinned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pin {
    pub manifest: Digest,
    /// The component layer's digest, when it was known at pinning time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<Digest>,
}

/// The pins of one pipeline (or project), keyed by reference without its digest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pins {
    version: u32,
    pins: BTreeMap<String, Pin>,
}

impl Default for Pins {
    fn default() -> Self {
        Pins::new()
    }
}

impl Pins {
    pub fn new() -> Self {
        Pins { version: FORMAT_VERSION, pins: BTreeMap::new() }
    }

    /// Reads a pins file; a missing file is an empty set of pins.
    pub fn load(path: &Path) -> Result<Self, RegistryError> {
        let fail = |reason: String| RegistryError::Pins { path: path.to_path_buf(), reason };
        let text = match std::fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Pins::new()),
            Err(e) => return Err(fail(e.to_string())),
        };
        let pins: Pins = serde_json::from_slice(&text).map_err(|e| fail(format!("not a pins file ({e})")))?;
        if pins.version != FORMAT_VERSION {
            return Err(fail(format!("format version {} is not the supported {FORMAT_VERSION}", pins.version)));
        }
        for key in pins.pins.keys() {
            let reference: Reference = key.parse().map_err(|e| fail(format!("bad entry: {e}")))?;
            if reference.digest().is_some() {
                return Err(fail(format!("entry `{key}` must not carry a digest")));
            }
        }
        Ok(pins)
    }

    /// Writes the pins atomically (temporary file in the same directory, then rename), so a
    /// crash never leaves a truncated lock file behind.
    pub fn save(&self, path: &Path) -> Result<(), RegistryError> {
        let fail = |e: std::io::Error| RegistryError::Pins { path: path.to_path_buf(), reason: e.to_string() };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| fail(e.into()))?;
        json.push(b'\n');
        let mut tmp = tempfile::Builder::new().prefix(".pins-").tempfile_in(dir).map_err(fail)?;
        tmp.write_all(&json).map_err(fail)?;
        tmp.as_file().sync_all().map_err(fail)?;
        tmp.persist(path).map_err(|e| fail(e.error))?;
        Ok(())
    }

    /// The pin recorded for `reference` (its digest, if any, is ignored for the lookup).
    pub fn get(&self, reference: &Reference) -> Option<Pin> {
        self.pins.get(&key(reference)).copied()
    }

    pub fn set(&mut self, reference: &Reference, pin: Pin) {
        self.pins.insert(key(reference), pin);
    }

    pub fn remove(&mut self, reference: &Reference) -> Option<Pin> {
        self.pins.remove(&key(reference))
    }

    /// Every pin, as (reference without digest, pin), in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Pin)> {
        self.pins.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn is_empty(&self) -> bool {
        self.pins.is_empty()
    }
}

pub(crate) fn key(reference: &Reference) -> String {
    reference.without_digest().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_file_and_ignores_the_digest_in_lookups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pikoci.pins.json");
        assert!(Pins::load(&path).unwrap().is_empty());

        let reference: Reference = "127.0.0.1:5000/plugins/git:1".parse().unwrap();
        let pin = Pin { manifest: Digest::of(b"m"), component: Some(Digest::of(b"c")) };
        let mut pins = Pins::new();
        pins.set(&reference, pin);
        pins.save(&path).unwrap();

        let loaded = Pins::load(&path).unwrap();
        assert_eq!(loaded, pins);
        assert_eq!(loaded.get(&reference.with_digest(Digest::of(b"x"))), Some(pin));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"127.0.0.1:5000/plugins/git:1\""), "{text}");
    }

    #[test]
    fn rejects_damaged_files_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pins.json");
        for bad in ["not json", r#"{"version": 2, "pins": {}}"#, r#"{"version": 1, "pins": {"nohost": {"manifest": "sha256:00"}}}"#] {
            std::fs::write(&path, bad).unwrap();
            let message = Pins::load(&path).unwrap_err().to_string();
            assert!(message.contains("pins.json"), "{message}");
        }
    }
}
