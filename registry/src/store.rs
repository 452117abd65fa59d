//! The content-addressed on-disk cache of plugin components.
//!
//! Layout under the caller's root:
//!
//! ```text
//! <root>/components/sha256/<hex>.wasm   component bytes, named by their digest
//! <root>/manifests/sha256/<hex>.json    OCI manifests, so a digest-pinned pull needs no network
//! <root>/compiled/                      left to the host's compiled-code cache
//! ```
//!
//! Files are only ever created whole: bytes go to a temporary file in the same directory and
//! are renamed into place, so a crash or a failed verification leaves nothing a reader could
//! mistake for content. Every read is verified against its name, because a cache that serves
//! corrupted bytes under a trusted digest would defeat the point of pinning.

use crate::digest::Digest;
use crate::error::RegistryError;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A component held in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredComponent {
    pub digest: Digest,
    pub size: u64,
}

/// One directory of files named `<hex>.<extension>` after the sha256 of their content.
#[derive(Debug, Clone)]
struct ContentDir {
    dir: PathBuf,
    extension: &'static str,
}

impl ContentDir {
    fn open(dir: PathBuf, extension: &'static str) -> Result<Self, RegistryError> {
        fs::create_dir_all(&dir).map_err(|e| RegistryError::store(&dir, e))?;
        Ok(ContentDir { dir, extension })
    }

    fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!("{}.{}", digest.hex(), self.extension))
    }

    /// Stores `bytes`, which the caller has already checked hash to `digest`.
    fn write(&self, digest: &Digest, bytes: &[u8]) -> Result<(), RegistryError> {
        let path = self.path(digest);
        match self.read(digest) {
            Ok(Some(_)) => return Ok(()),
            // A corrupt copy has just been removed; replace it with the good bytes.
            Ok(None) | Err(RegistryError::StoreCorrupt { .. }) => {}
            Err(e) => return Err(e),
        }
        let fail = |e: io::Error| RegistryError::store(&path, e);
        // The temporary file deletes itself if anything below fails, so a half-written blob is
        // never visible under its final name.
        let mut tmp = tempfile::Builder::new().prefix(".incoming-").tempfile_in(&self.dir).map_err(fail)?;
        tmp.write_all(bytes).map_err(fail)?;
        tmp.as_file().sync_all().map_err(fail)?;
        tmp.persist(&path).map_err(|e| fail(e.error))?;
        Ok(())
    }

    /// Reads and verifies one entry. A corrupt entry is removed so the next pull can repair it.
    fn read(&self, digest: &Digest) -> Result<Option<Vec<u8>>, RegistryError> {
        let path = self.path(digest);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(RegistryError::store(&path, e)),
        };
        if Digest::of(&bytes) != *digest {
            tracing::warn!(%digest, path = %path.display(), "cached content does not match its digest; removing it");
            let _ = fs::remove_file(&path);
            return Err(RegistryError::StoreCorrupt { digest: *digest, path });
        }
        Ok(Some(bytes))
    }

    fn list(&self) -> Result<Vec<StoredComponent>, RegistryError> {
        let entries = fs::read_dir(&self.dir).map_err(|e| RegistryError::store(&self.dir, e))?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| RegistryError::store(&self.dir, e))?;
            let name = entry.file_name();
            // Temporary files and anything else that is not `<hex>.<ext>` is not content.
            let Some(hex) = name.to_str().and_then(|n| n.strip_suffix(self.extension)?.strip_suffix('.')) else {
                continue;
            };
            let Ok(digest) = format!("sha256:{hex}").parse::<Digest>() else { continue };
            let size = entry.metadata().map_err(|e| RegistryError::store(entry.path(), e))?.len();
            found.push(StoredComponent { digest, size });
        }
        found.sort_by_key(|c| c.digest);
        Ok(found)
    }
}

/// The content-addressed cache of component bytes (and the manifests that point at them).
#[derive(Debug, Clone)]
pub struct ComponentStore {
    root: PathBuf,
    components: ContentDir,
    manifests: ContentDir,
}

impl ComponentStore {
    /// Opens (creating if needed) a store under `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, RegistryError> {
        let root = root.into();
        Ok(ComponentStore {
            components: ContentDir::open(root.join("components").join("sha256"), "wasm")?,
            manifests: ContentDir::open(root.join("manifests").join("sha256"), "json")?,
            root,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Stores component bytes and returns their digest.
    pub fn put(&self, bytes: &[u8]) -> Result<Digest, RegistryError> {
        let digest = Digest::of(bytes);
        self.components.write(&digest, bytes)?;
        Ok(digest)
    }

    /// The verified bytes of a component, or `None` if the store does not have it.
    pub fn get(&self, digest: &Digest) -> Result<Option<Vec<u8>>, RegistryError> {
        self.components.read(digest)
    }

    /// Whether the store has a file for `digest` (not verified; `get` verifies).
    pub fn contains(&self, digest: &Digest) -> bool {
        self.components.path(digest).is_file()
    }

    /// Where the component with `digest` lives (or would live).
    pub fn path_of(&self, digest: &Digest) -> PathBuf {
        self.components.path(digest)
    }

    /// Forget a component, e.g. one that downloaded intact but turned out not to be a pikoci
    /// plugin, so that nothing unusable stays cached. Removing what is absent is not an error.
    pub fn remove(&self, digest: &Digest) -> Result<(), RegistryError> {
        let path = self.components.path(digest);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(RegistryError::store(path, e)),
            _ => Ok(()),
        }
    }

    /// Every component in the store, ordered by digest.
    pub fn list(&self) -> Result<Vec<StoredComponent>, RegistryError> {
        self.components.list()
    }

    pub(crate) fn put_manifest(&self, bytes: &[u8]) -> Result<Digest, RegistryError> {
        let digest = Digest::of(bytes);
        self.manifests.write(&digest, bytes)?;
        Ok(digest)
    }

    pub(crate) fn get_manifest(&self, digest: &Digest) -> Result<Option<Vec<u8>>, RegistryError> {
        self.manifests.read(digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_reads_back_and_lists_by_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = ComponentStore::open(dir.path()).unwrap();
        let digest = store.put(b"component").unwrap();
        assert_eq!(digest, Digest::of(b"component"));
        assert_eq!(store.put(b"component").unwrap(), digest, "storing twice is a no-op");
        assert_eq!(store.get(&digest).unwrap().unwrap(), b"component");
        assert_eq!(store.path_of(&digest), dir.path().join(format!("components/sha256/{}.wasm", digest.hex())));
        assert_eq!(store.list().unwrap(), vec![StoredComponent { digest, size: 9 }]);
        assert!(store.get(&Digest::of(b"other")).unwrap().is_none());
        assert!(!dir.path().join("compiled").exists(), "compiled/ belongs to the host");
    }

    #[test]
    fn a_corrupted_entry_is_an_error_and_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = ComponentStore::open(dir.path()).unwrap();
        let digest = store.put(b"component").unwrap();
        fs::write(store.path_of(&digest), b"c0mponent").unwrap();
        assert!(matches!(store.get(&digest), Err(RegistryError::StoreCorrupt { .. })));
        assert!(store.get(&digest).unwrap().is_none());
    }

    #[test]
    fn ignores_temporary_and_foreign_files_when_listing() {
        let dir = tempfile::tempdir().unwrap();
        let store = ComponentStore::open(dir.path()).unwrap();
        let components = dir.path().join("components/sha256");
        fs::write(components.join(".incoming-abc"), b"partial").unwrap();
        fs::write(components.join("README"), b"hi").unwrap();
        fs::write(components.join("xyz.wasm"), b"hi").unwrap();
        assert!(store.list().unwrap().is_empty());
    }
}
