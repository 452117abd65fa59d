//! Publishing to and pulling from OCI registries, through the content-addressed store.

use crate::artifact::{self, ArtifactInfo, WasmArtifact};
use crate::auth::{Auth, Scrubber};
use crate::digest::Digest;
use crate::error::RegistryError;
use crate::pins::{self, Pin, Pins};
use crate::reference::Reference;
use crate::store::ComponentStore;
use futures_util::StreamExt as _;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{DigestError, OciDistributionError, OciErrorCode};
use oci_client::manifest::{IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE};
use std::collections::BTreeMap;
use std::time::Duration;

/// The largest component pikoci will download. Interpreted-language plugins run to tens of
/// MiB; this only stops a hostile manifest from making us buffer without bound.
const MAX_COMPONENT_BYTES: u64 = 512 * 1024 * 1024;
const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Every manifest type is accepted on the wire so that a non-wasm artifact is fetched and
/// rejected with a message saying what it is, instead of a bare "not found".
const ACCEPTED_MANIFEST_TYPES: &[&str] = &[OCI_IMAGE_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, IMAGE_MANIFEST_LIST_MEDIA_TYPE];

/// How a [`RegistryClient`] reaches registries.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub auth: Auth,
    /// Registries (`host:port`, exactly as written in references) reached over plain HTTP
    /// instead of HTTPS. Meant for loopback registries; everything else uses TLS.
    pub plain_http: Vec<String>,
    pub connect_timeout: Duration,
    /// Longest wait for any single read from the registry.
    pub read_timeout: Duration,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings { auth: Auth::Anonymous, plain_http: Vec::new(), connect_timeout: Duration::from_secs(10), read_timeout: Duration::from_secs(60) }
    }
}

impl ClientSettings {
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Talk plain HTTP to `registry` (e.g. `127.0.0.1:5000`), as `--insecure` asks.
    pub fn allow_plain_http(mut self, registry: impl Into<String>) -> Self {
        self.plain_http.push(registry.into());
        self
    }
}

/// Makes ring the process's rustls crypto provider, unless one is installed already.
///
/// reqwest is built without a default provider (see the workspace manifest: the alternative is
/// aws-lc, a large C build), so *any* reqwest client built in this process before a provider is
/// installed panics. [`RegistryClient::new`] calls this; call it first thing in `main` if
/// anything else in the process builds HTTP clients earlier.
pub fn install_tls_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: some provider is then in place.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A component obtained by [`RegistryClient::pull`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// The reference pinned to the manifest digest it resolved to.
    pub reference: Reference,
    pub manifest: Digest,
    /// The digest of `bytes`: the component's identity in the store and the compiled cache.
    pub component: Digest,
    pub bytes: Vec<u8>,
    /// Whether the component bytes came from the store rather than a download. (Only a
    /// digest reference can be served with no network I/O at all: a tag is always resolved.)
    pub from_cache: bool,
}

/// Publishes and pulls plugin components, keeping what it pulls in a [`ComponentStore`].
pub struct RegistryClient {
    oci: oci_client::Client,
    store: ComponentStore,
    auth: Auth,
    plain_http: Vec<String>,
    scrubber: Scrubber,
}

impl RegistryClient {
    pub fn new(store: ComponentStore, settings: ClientSettings) -> Result<Self, RegistryError> {
        install_tls_provider();
        let protocol = if settings.plain_http.is_empty() { ClientProtocol::Https } else { ClientProtocol::HttpsExcept(settings.plain_http.clone()) };
        let config =
            ClientConfig { protocol, connect_timeout: Some(settings.connect_timeout), read_timeout: Some(settings.read_timeout), ..ClientConfig::default() };
        let oci = oci_client::Client::try_from(config).map_err(|e| RegistryError::Client { detail: e.to_string() })?;
        let scrubber = settings.auth.scrubber();
        Ok(RegistryClient { oci, store, auth: settings.auth, plain_http: settings.plain_http, scrubber })
    }

    pub fn store(&self) -> &ComponentStore {
        &self.store
    }

    /// Pushes `component` to `reference` (which must name a tag) as a CNCF wasm OCI artifact,
    /// with `annotations` on its manifest, and returns the manifest digest.
    pub async fn publish(&self, component: &[u8], reference: &Reference, annotations: BTreeMap<String, String>) -> Result<Digest, RegistryError> {
        if reference.tag().is_none() || reference.digest().is_some() {
            return Err(RegistryError::PublishNeedsTag { reference: reference.clone() });
        }
        let publication = artifact::build(component, reference, annotations)?;
        let image = self.authenticated(reference).await;
        let fail = |e| self.classify(reference, e);
        for (bytes, digest) in [(&publication.layer, publication.layer_digest), (&publication.config, publication.config_digest)] {
            let digest = digest.to_string();
            // Re-publishing the same component under a new tag then uploads only the manifest.
            if !self.oci.blob_exists(&image, &digest).await.map_err(fail)? {
                self.oci.push_blob(&image, bytes.clone(), &digest).await.map_err(fail)?;
            }
        }
        let content_type = reqwest::header::HeaderValue::from_static(oci_wasm::WASM_MANIFEST_MEDIA_TYPE);
        self.oci.push_manifest_raw(&image, publication.manifest, content_type).await.map_err(fail)?;
        tracing::info!(%reference, manifest = %publication.manifest_digest, component = %publication.layer_digest, "published");
        Ok(publication.manifest_digest)
    }

    /// The manifest digest `reference` names now. A digest reference names itself (no I/O).
    pub async fn resolve(&self, reference: &Reference) -> Result<Digest, RegistryError> {
        if let Some(digest) = reference.digest() {
            return Ok(digest);
        }
        let image = self.authenticated(reference).await;
        let digest = self.oci.fetch_manifest_digest(&image, &self.auth.for_registry(reference.registry())).await.map_err(|e| self.classify(reference, e))?;
        digest
            .parse()
            .map_err(|e| RegistryError::Registry { reference: reference.clone(), detail: format!("the registry reported an unusable digest `{digest}` ({e})") })
    }

    /// The component `reference` names, verified against its digests.
    ///
    /// A digest reference whose manifest and component are both in the store is served from it
    /// without network I/O. Anything downloaded is verified before it is stored, and a
    /// mismatch stores nothing.
    pub async fn pull(&self, reference: &Reference) -> Result<Pulled, RegistryError> {
        if let Some(manifest_digest) = reference.digest() {
            if let Some(pulled) = self.pull_from_store(reference, manifest_digest)? {
                tracing::debug!(%reference, "served from the component store");
                return Ok(pulled);
            }
        }
        let (manifest_bytes, manifest_digest) = self.fetch_manifest(reference).await?;
        let artifact = artifact::parse(reference, manifest_digest, &manifest_bytes)?;
        let (bytes, from_cache) = match cache_hit(self.store.get(&artifact.component_digest))? {
            Some(bytes) => (bytes, true),
            None => {
                let bytes = self.fetch_component(reference, &artifact).await?;
                self.store.put(&bytes)?;
                (bytes, false)
            }
        };
        // The manifest goes in last, so a stored manifest is a reliable sign of a complete pull.
        self.store.put_manifest(&manifest_bytes)?;
        Ok(Pulled { reference: reference.with_digest(manifest_digest), manifest: manifest_digest, component: artifact.component_digest, bytes, from_cache })
    }

    /// Resolves `reference` through `pins`: a tag that is pinned stays on its pinned digest
    /// unless `update` is set; a tag that is not pinned yet is resolved and pinned. Returns the
    /// reference pinned to a manifest digest, ready for [`RegistryClient::pull`].
    pub async fn resolve_pinned(&self, reference: &Reference, pins: &mut Pins, update: bool) -> Result<Reference, RegistryError> {
        if reference.tag().is_none() {
            // `REPO@sha256:…` is already exact; there is no name to pin.
            return Ok(reference.clone());
        }
        let existing = pins.get(reference);
        if let Some(requested) = reference.digest() {
            match existing {
                Some(pin) if pin.manifest == requested => {}
                Some(pin) if !update => {
                    return Err(RegistryError::PinMismatch { reference: reference.clone(), name: pins::key(reference), pinned: pin.manifest, requested });
                }
                _ => pins.set(reference, Pin { manifest: requested, component: None }),
            }
            return Ok(reference.clone());
        }
        if let (Some(pin), false) = (existing, update) {
            return Ok(reference.with_digest(pin.manifest));
        }
        let (manifest_bytes, manifest_digest) = self.fetch_manifest(reference).await?;
        let artifact = artifact::parse(reference, manifest_digest, &manifest_bytes)?;
        pins.set(reference, Pin { manifest: manifest_digest, component: Some(artifact.component_digest) });
        if let Some(old) = existing.filter(|old| old.manifest != manifest_digest) {
            tracing::info!(%reference, old = %old.manifest, new = %manifest_digest, "pin updated");
        }
        Ok(reference.with_digest(manifest_digest))
    }

    /// [`resolve_pinned`](Self::resolve_pinned) then [`pull`](Self::pull), checking the
    /// component against the pinned component digest when the pin records one.
    pub async fn pull_pinned(&self, reference: &Reference, pins: &mut Pins, update: bool) -> Result<Pulled, RegistryError> {
        let pinned = self.resolve_pinned(reference, pins, update).await?;
        let pulled = self.pull(&pinned).await?;
        match pins.get(reference).and_then(|pin| pin.component) {
            Some(expected) if expected != pulled.component => Err(RegistryError::LayerDigestMismatch { reference: pinned, expected, actual: pulled.component }),
            _ => Ok(pulled),
        }
    }

    /// What the registry says about `reference`: digests, annotations and the component's
    /// WIT imports and exports from the artifact config.
    pub async fn inspect(&self, reference: &Reference) -> Result<ArtifactInfo, RegistryError> {
        let (manifest_bytes, manifest_digest) = self.fetch_manifest(reference).await?;
        let artifact = artifact::parse(reference, manifest_digest, &manifest_bytes)?;
        let config = self.fetch_blob(reference, &artifact.config, artifact.config_digest, MAX_CONFIG_BYTES).await?;
        artifact::info(reference, &artifact, &config)
    }

    fn pull_from_store(&self, reference: &Reference, manifest_digest: Digest) -> Result<Option<Pulled>, RegistryError> {
        let Some(manifest) = cache_hit(self.store.get_manifest(&manifest_digest))? else { return Ok(None) };
        let artifact = artifact::parse(reference, manifest_digest, &manifest)?;
        let Some(bytes) = cache_hit(self.store.get(&artifact.component_digest))? else { return Ok(None) };
        Ok(Some(Pulled { reference: reference.clone(), manifest: manifest_digest, component: artifact.component_digest, bytes, from_cache: true }))
    }

    /// The manifest bytes and their verified digest.
    async fn fetch_manifest(&self, reference: &Reference) -> Result<(Vec<u8>, Digest), RegistryError> {
        let image = self.authenticated(reference).await;
        let (bytes, _) = self
            .oci
            .pull_manifest_raw(&image, &self.auth.for_registry(reference.registry()), ACCEPTED_MANIFEST_TYPES)
            .await
            .map_err(|e| self.classify(reference, e))?;
        // oci-client checks the body against the registry's digest header; check it against the
        // digest we asked for ourselves too, since that is the promise pinning makes.
        let actual = Digest::of(&bytes);
        if let Some(expected) = reference.digest().filter(|expected| *expected != actual) {
            return Err(RegistryError::ManifestDigestMismatch { reference: reference.clone(), expected, actual });
        }
        Ok((bytes.to_vec(), actual))
    }

    async fn fetch_component(&self, reference: &Reference, artifact: &WasmArtifact) -> Result<Vec<u8>, RegistryError> {
        if artifact.component_size > MAX_COMPONENT_BYTES {
            return Err(RegistryError::NotWasmArtifact {
                reference: reference.clone(),
                reason: format!("its component is {} bytes, more than the {MAX_COMPONENT_BYTES} pikoci accepts", artifact.component_size),
            });
        }
        self.fetch_blob(reference, &artifact.layer, artifact.component_digest, artifact.component_size).await
    }

    /// Downloads a blob of at most `limit` bytes and checks it against `expected`.
    async fn fetch_blob(
        &self,
        reference: &Reference,
        descriptor: &oci_client::manifest::OciDescriptor,
        expected: Digest,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let image = self.authenticated(reference).await;
        let mut stream = self.oci.pull_blob_stream(&image, descriptor).await.map_err(|e| self.classify(reference, e))?;
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) => {
                    bytes.extend_from_slice(&chunk);
                    // More bytes than the manifest declares can only be wrong content.
                    if bytes.len() as u64 > limit {
                        break;
                    }
                }
                // oci-client verifies too and reports a mismatch as a final stream error; the
                // check below reports it, naming both digests.
                Err(e) if e.get_ref().is_some_and(|inner| inner.is::<DigestError>()) => break,
                Err(e) => return Err(self.unreachable(reference, format!("the download broke off: {}", error_chain(&self.scrubber, &e)))),
            }
        }
        let actual = Digest::of(&bytes);
        if actual != expected {
            return Err(RegistryError::LayerDigestMismatch { reference: reference.clone(), expected, actual });
        }
        Ok(bytes)
    }

    /// The oci-client reference, with this client's credentials registered for its registry
    /// (oci-client keeps them per registry and performs any bearer-token exchange itself).
    async fn authenticated(&self, reference: &Reference) -> oci_client::Reference {
        let image = reference.to_oci();
        let auth = self.auth.for_registry(reference.registry());
        self.oci.store_auth_if_needed(image.resolve_registry(), &auth).await;
        image
    }

    fn unreachable(&self, reference: &Reference, detail: String) -> RegistryError {
        let registry = reference.registry().to_string();
        let hint = if self.plain_http.contains(&registry) { "" } else { "; if it is a plain-HTTP registry on loopback, allow that explicitly (--insecure)" };
        RegistryError::Unreachable { reference: reference.clone(), registry, detail, hint }
    }

    fn classify(&self, reference: &Reference, error: OciDistributionError) -> RegistryError {
        let registry = reference.registry().to_string();
        let detail = self.scrubber.scrub(&error);
        let unauthorized = || RegistryError::Unauthorized {
            reference: reference.clone(),
            registry: registry.clone(),
            detail: detail.clone(),
            hint: if self.auth.is_anonymous_for(reference.registry()) {
                "it needs credentials: give a user and password, or add the registry to your Docker config.json"
            } else {
                "check the user name and password (or the registry's `auths` entry in your Docker config.json) and that they may access this repository"
            },
        };
        let not_found = || RegistryError::NotFound { reference: reference.clone() };
        match &error {
            OciDistributionError::UnauthorizedError { .. } | OciDistributionError::AuthenticationFailure(_) => unauthorized(),
            OciDistributionError::ServerError { code: 401 | 403, .. } => unauthorized(),
            OciDistributionError::ServerError { code: 404, .. } | OciDistributionError::ImageManifestNotFoundError(_) => not_found(),
            OciDistributionError::RegistryError { envelope, .. } => {
                let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
                if codes.iter().any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied)) {
                    unauthorized()
                } else if codes
                    .iter()
                    .any(|c| matches!(c, OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown | OciErrorCode::BlobUnknown | OciErrorCode::NotFound))
                {
                    not_found()
                } else {
                    RegistryError::Registry { reference: reference.clone(), detail }
                }
            }
            OciDistributionError::DigestError(DigestError::VerificationError { expected, actual }) => match (expected.parse(), actual.parse()) {
                (Ok(expected), Ok(actual)) => RegistryError::ManifestDigestMismatch { reference: reference.clone(), expected, actual },
                _ => RegistryError::Registry { reference: reference.clone(), detail },
            },
            OciDistributionError::RequestError(e) => match e.status().map(|s| s.as_u16()) {
                Some(401 | 403) => unauthorized(),
                Some(404) => not_found(),
                Some(_) => RegistryError::Registry { reference: reference.clone(), detail: error_chain(&self.scrubber, e) },
                None => self.unreachable(reference, error_chain(&self.scrubber, e)),
            },
            _ => RegistryError::Registry { reference: reference.clone(), detail },
        }
    }
}

/// A corrupt store entry has already been removed by the store; treat it as absent so it is
/// fetched again rather than failing the pipeline.
fn cache_hit(read: Result<Option<Vec<u8>>, RegistryError>) -> Result<Option<Vec<u8>>, RegistryError> {
    match read {
        Err(RegistryError::StoreCorrupt { .. }) => Ok(None),
        other => other,
    }
}

/// reqwest's top-level message ("error sending request") hides the cause (connection
/// refused, TLS handshake failure); show the whole chain.
fn error_chain(scrubber: &Scrubber, error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    scrubber.scrub(text)
}
