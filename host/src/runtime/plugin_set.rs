//! The plugins a process has loaded, by digest: what a compiled pipeline's plugin references
//! resolve to when a build or a check calls them.
//!
//! A compiled pipeline names its plugins by digest only (it is plain data, stored and shipped);
//! this set turns a digest back into a loaded component: one loaded earlier in this process, a
//! built-in embedded in the binary, or a component in the content-addressed store (pulled from a
//! registry, downloaded, or copied there from a file when the pipeline was compiled).

use super::engine::PluginEngine;
use super::plugin::Plugin;
use pikoci_registry::{ComponentStore, Digest};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

pub struct PluginSet {
    engine: Arc<PluginEngine>,
    /// Where components that are not built in are kept by digest.
    store_root: Option<PathBuf>,
    loaded: RwLock<HashMap<Digest, Arc<Plugin>>>,
}

impl PluginSet {
    pub fn new(engine: Arc<PluginEngine>, store_root: Option<PathBuf>) -> Self {
        PluginSet { engine, store_root, loaded: RwLock::default() }
    }

    pub fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    /// Keep `plugin` for later lookups by its digest; an already loaded one wins.
    pub fn insert(&self, plugin: Plugin) -> Arc<Plugin> {
        let mut loaded = self.loaded.write().unwrap();
        loaded.entry(*plugin.digest()).or_insert_with(|| Arc::new(plugin)).clone()
    }

    /// Load `bytes` (unless a plugin of that digest is loaded already) and keep it.
    pub fn load(&self, origin: &str, bytes: &[u8]) -> Result<Arc<Plugin>, String> {
        if let Some(found) = self.loaded.read().unwrap().get(&Digest::of(bytes)) {
            return Ok(found.clone());
        }
        let plugin = self.engine.load(origin, bytes).map_err(|e| e.to_string())?;
        Ok(self.insert(plugin))
    }

    /// The plugin with `digest`; `origin` names it in errors.
    pub fn get(&self, digest: &Digest, origin: &str) -> Result<Arc<Plugin>, String> {
        if let Some(found) = self.loaded.read().unwrap().get(digest) {
            return Ok(found.clone());
        }
        if let Some(builtin) = crate::builtin::BUILTINS.iter().find(|b| b.digest() == *digest) {
            return self.load(origin, builtin.bytes);
        }
        // A plan compiled by another build of pikoci names its built-ins by that build's digests:
        // built-ins come with the binary, so this binary's one of the same name serves.
        if let Some(builtin) = crate::builtin::lookup(origin) {
            tracing::info!(plugin = origin, planned = %digest, "the plan was compiled with another build of this built-in; using this binary's");
            return self.load(origin, builtin.bytes);
        }
        let stored = match &self.store_root {
            Some(root) => {
                let store = ComponentStore::open(root).map_err(|e| format!("{origin}: {e}"))?;
                store.get(digest).map_err(|e| format!("{origin}: {e}"))?
            }
            None => None,
        };
        match stored {
            Some(bytes) if Digest::of(&bytes) == *digest => self.load(origin, &bytes),
            Some(_) => Err(format!("{origin}: the stored component {digest} does not match its digest; set the pipeline again to fetch it anew")),
            None => Err(format!("{origin}: component {digest} is not on this machine; set the pipeline again to fetch it")),
        }
    }
}
