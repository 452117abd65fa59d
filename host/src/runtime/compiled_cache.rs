//! Compiled plugins on disk, so a second process start does not compile a component again.
//!
//! Compiling a component with Cranelift costs about a second per MiB (a Python plugin: seconds);
//! loading the precompiled artifact costs milliseconds. An artifact is keyed by the component's
//! sha256 and the engine's compatibility hash (wasmtime version, target, settings), so an
//! upgraded pikoci never loads an artifact another engine wrote.

use pikoci_registry::Digest;
use sha2::{Digest as _, Sha256};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::Engine;

/// How a component was obtained, for logs and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from a precompiled artifact.
    Hit,
    /// Compiled now (and written to the cache when there is one).
    Compiled,
}

pub struct CompiledCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

/// Feeds `Hash` output into sha256, giving a key that is stable across processes
/// (std's `DefaultHasher` makes no such promise).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(&self) -> u64 {
        unreachable!("only the full digest is used")
    }
}

impl CompiledCache {
    /// A cache under `dir/compiled`; `None` compiles every time (nothing is written).
    pub fn new(engine: &Engine, dir: Option<&Path>) -> Self {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = hex::encode(&hasher.0.finalize()[..8]);
        CompiledCache { dir: dir.map(|d| d.join("compiled")), engine_key }
    }

    fn artifact_path(&self, digest: &Digest) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(format!("{}-{}.cwasm", digest.hex(), self.engine_key)))
    }

    /// The compiled component for `bytes`, from the cache when present.
    pub fn load(&self, engine: &Engine, digest: &Digest, bytes: &[u8]) -> wasmtime::Result<(Component, CacheOutcome)> {
        let Some(path) = self.artifact_path(digest) else {
            return Ok((Component::new(engine, bytes)?, CacheOutcome::Compiled));
        };
        if path.exists() {
            // SAFETY: the file was written by `store` below, by an engine with the same
            // compatibility hash, into a directory only pikoci writes; a file that is not a valid
            // artifact for this engine is rejected by wasmtime's header checks and recompiled.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, CacheOutcome::Hit)),
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "discarding unusable compiled plugin"),
            }
        }
        let artifact = engine.precompile_component(bytes)?;
        if let Err(e) = store(&path, &artifact) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the compiled plugin cache");
        }
        // SAFETY: `artifact` was produced just now by this engine.
        let component = unsafe { Component::deserialize(engine, &artifact)? };
        Ok((component, CacheOutcome::Compiled))
    }
}

/// Write atomically: a reader sees the whole artifact or none.
fn store(path: &Path, artifact: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("artifact paths have a parent");
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(artifact)?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}
