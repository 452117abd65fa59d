//! Where plugin components come from: built into the binary, a file, or an OCI registry.
//!
//! Every address a user can write (`pikoci://fs`, `./my-plugin.wasm`,
//! `oci://registry.example.com/team/git:1.2.0`, `oci://...@sha256:...`) is turned into component
//! bytes here, checked to be a pikoci plugin, and, for registries, kept in the content-addressed
//! store so the same digest is never downloaded twice.

use crate::builtin;
use crate::runtime::manifest::PluginManifest;
use anyhow::{bail, Context};
use pikoci_pipeline::plugin_source::{parse_source, DigestAttr};
use pikoci_pipeline::PluginSource;
use pikoci_registry::{Auth, BasicCredentials, ClientSettings, ComponentStore, Digest, DockerConfig, Pins, RegistryClient};
use std::path::{Path, PathBuf};
use tokio::sync::OnceCell;

/// A component fetched from somewhere, ready to load.
pub struct Located {
    /// The address as the user wrote it, for messages.
    pub origin: String,
    pub bytes: Vec<u8>,
    pub digest: Digest,
    pub manifest: PluginManifest,
}

/// How to reach registries.
#[derive(Debug, Clone, Default)]
pub struct RegistryAccess {
    /// Registries (`host:port`) spoken to over plain HTTP: loopback ones, when asked.
    pub insecure: Vec<String>,
    /// Explicit credentials; otherwise the Docker `config.json`, otherwise anonymous.
    pub credentials: Option<(String, String)>,
}

impl RegistryAccess {
    fn settings(&self) -> anyhow::Result<ClientSettings> {
        let auth = match &self.credentials {
            Some((user, password)) => Auth::Basic(BasicCredentials::new(user, password)),
            None => match DockerConfig::load_default()? {
                Some(config) => Auth::DockerConfig(config),
                None => Auth::Anonymous,
            },
        };
        let mut settings = ClientSettings::default().with_auth(auth);
        for registry in &self.insecure {
            settings = settings.allow_plain_http(registry.clone());
        }
        Ok(settings)
    }
}

/// Fetches plugins, keeping registry downloads in `<cache>/components`.
pub struct PluginLocator {
    store_root: PathBuf,
    access: RegistryAccess,
    client: OnceCell<RegistryClient>,
}

impl PluginLocator {
    pub fn new(cache_dir: &Path, access: RegistryAccess) -> Self {
        PluginLocator { store_root: cache_dir.to_path_buf(), access, client: OnceCell::new() }
    }

    pub async fn client(&self) -> anyhow::Result<&RegistryClient> {
        self.client
            .get_or_try_init(|| async {
                let store = ComponentStore::open(&self.store_root)?;
                Ok::<_, anyhow::Error>(RegistryClient::new(store, self.access.settings()?)?)
            })
            .await
    }

    /// Fetch the plugin at `address`; a tag is resolved through `pins` when given (and recorded
    /// there), so the same bytes keep running until the pin is updated.
    pub async fn fetch(&self, address: &str, pins: Option<&mut Pins>) -> anyhow::Result<Located> {
        self.fetch_pinned(address, None, pins).await
    }

    /// As [`Self::fetch`], with the digest a pipeline gave (`digest = "sha256:..."`): required for
    /// a URL, whose bytes are verified against it and kept in the store, so the same digest is
    /// downloaded once.
    pub async fn fetch_pinned(&self, address: &str, digest: Option<Digest>, pins: Option<&mut Pins>) -> anyhow::Result<Located> {
        let pinned = digest.map_or(DigestAttr::Absent, DigestAttr::Valid);
        let source = parse_source(address, pinned, Path::new("")).map_err(|e| anyhow::anyhow!("{}; expected {}", e.message, e.expected))?;
        self.fetch_source_pinned(&source, pins).await
    }

    /// The component `source` names (as the language read it from a pipeline).
    pub async fn fetch_source(&self, source: &PluginSource) -> anyhow::Result<Located> {
        self.fetch_source_pinned(source, None).await
    }

    async fn fetch_source_pinned(&self, source: &PluginSource, pins: Option<&mut Pins>) -> anyhow::Result<Located> {
        let origin = source.to_string();
        let bytes = match source {
            PluginSource::Builtin(name) => match builtin::lookup(&format!("{}{name}", builtin::SCHEME)) {
                Some(b) => b.bytes.to_vec(),
                None => bail!(
                    "`{origin}` is not a built-in plugin; built-ins are: {}",
                    builtin::names().map(|n| format!("pikoci://{n}")).collect::<Vec<_>>().join(", ")
                ),
            },
            PluginSource::WasmUrl { url, digest: expected } => {
                let store = ComponentStore::open(&self.store_root)?;
                match store.get(expected)? {
                    Some(bytes) => bytes,
                    None => {
                        pikoci_registry::install_tls_provider();
                        let response = reqwest::get(url).await.with_context(|| format!("cannot download {url}"))?;
                        anyhow::ensure!(response.status().is_success(), "cannot download {url}: HTTP {}", response.status());
                        let bytes = response.bytes().await.with_context(|| format!("cannot download {url}"))?.to_vec();
                        let actual = Digest::of(&bytes);
                        anyhow::ensure!(actual == *expected, "{url}: the downloaded component is {actual}, not the pinned {expected}; nothing was kept");
                        PluginManifest::from_component(&bytes, "").map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
                        store.put(&bytes)?;
                        bytes
                    }
                }
            }
            PluginSource::WasmFile { path, digest } => {
                let bytes = std::fs::read(path).with_context(|| format!("cannot read plugin file {}", path.display()))?;
                if let Some(expected) = digest {
                    let actual = Digest::of(&bytes);
                    anyhow::ensure!(actual == *expected, "{}: the component is {actual}, not the pinned {expected}", path.display());
                }
                // Kept by digest, so a stored plan that names it still runs when the file changes.
                ComponentStore::open(&self.store_root)?.put(&bytes)?;
                bytes
            }
            PluginSource::Oci(reference) => {
                let client = self.client().await?;
                let pulled = match pins {
                    Some(pins) => client.pull_pinned(reference, pins, false).await?,
                    None => client.pull(reference).await?,
                };
                if let Err(e) = PluginManifest::from_component(&pulled.bytes, "") {
                    // Intact but unusable: keep nothing of it.
                    client.store().remove(&pulled.component)?;
                    bail!("{origin}: {e}");
                }
                pulled.bytes
            }
            PluginSource::DefinitionFile(_) | PluginSource::DefinitionUrl(_) => {
                bail!("`{origin}` is a PikoCI HCL type definition; pikoci does not load those yet (use a component, or define the type inline)")
            }
        };
        let fallback = origin.rsplit('/').next().unwrap_or(&origin).trim_end_matches(".wasm").to_string();
        let manifest = PluginManifest::from_component(&bytes, &fallback).with_context(|| origin.clone())?;
        Ok(Located { digest: Digest::of(&bytes), origin, bytes, manifest })
    }
}
