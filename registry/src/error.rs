//! The one error type of this crate. Each message names the reference (or file) involved and
//! says what to do about it, because these reach pipeline authors, not crate authors.
//!
//! No variant ever holds a credential: text that comes from the network or from oci-client is
//! scrubbed of the configured secrets before it is stored here (see `auth::Scrubber`).

use crate::digest::Digest;
use crate::reference::{Reference, ReferenceError};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    InvalidReference(#[from] ReferenceError),

    #[error("cannot publish to {reference}: publishing needs a tag and no digest (the registry computes the digest); use HOST/REPO:TAG")]
    PublishNeedsTag { reference: Reference },

    #[error(
        "cannot publish to {reference}: the file is not a WebAssembly component ({reason}); build it for wasm32-wasip2 or adapt a core module with wasm-tools"
    )]
    NotAComponent { reference: Reference, reason: String },

    #[error("{reference} was not found in its registry; check the repository and tag, or publish it first")]
    NotFound { reference: Reference },

    #[error("registry {registry} refused access to {reference} ({detail}); {hint}")]
    Unauthorized { reference: Reference, registry: String, detail: String, hint: &'static str },

    #[error("could not reach registry {registry} for {reference}: {detail}; check that it is running and reachable{hint}")]
    Unreachable { reference: Reference, registry: String, detail: String, hint: &'static str },

    #[error("registry error for {reference}: {detail}")]
    Registry { reference: Reference, detail: String },

    #[error(
        "{reference} is not a wasm component artifact: {reason}; publish components with `pikoci plugin publish` (or another CNCF wasm OCI tool such as wkg)"
    )]
    NotWasmArtifact { reference: Reference, reason: String },

    #[error("the component layer of {reference} does not match its digest (manifest says {expected}, the registry served {actual}): the blob was tampered with or corrupted in the registry; nothing was stored. Re-publish the plugin or ask the registry's operator")]
    LayerDigestMismatch { reference: Reference, expected: Digest, actual: Digest },

    #[error("the manifest the registry served for {reference} has digest {actual}, not {expected}: the registry's content does not match the pinned digest; nothing was stored. If the plugin was deliberately re-published, update the pin")]
    ManifestDigestMismatch { reference: Reference, expected: Digest, actual: Digest },

    #[error(
        "{reference} asks for {requested} but the pins file records {pinned} for {name}; run with --update-pins to accept the new digest, or fix the reference"
    )]
    PinMismatch { reference: Reference, name: String, pinned: Digest, requested: Digest },

    #[error("component store at {path}: {source}; check that the directory exists and is writable")]
    Store { path: PathBuf, source: std::io::Error },

    #[error("cached component {digest} at {path} does not match its digest; it has been removed, pull it again")]
    StoreCorrupt { digest: Digest, path: PathBuf },

    #[error("pins file {path}: {reason}; fix or delete it (deleting re-resolves every tag on next use)")]
    Pins { path: PathBuf, reason: String },

    #[error("Docker credentials file {path}: {reason}; fix it or choose credentials explicitly")]
    DockerConfig { path: PathBuf, reason: String },

    #[error("cannot set up the registry HTTP client: {detail}")]
    Client { detail: String },
}

impl RegistryError {
    pub(crate) fn store(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RegistryError::Store { path: path.into(), source }
    }
}
