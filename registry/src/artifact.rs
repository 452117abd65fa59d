//! The CNCF wasm OCI artifact: an OCI image manifest whose config is
//! `application/vnd.wasm.config.v0+json` and whose only layer is the `application/wasm`
//! component. This module builds one for publishing and checks one that was pulled.

use crate::digest::Digest;
use crate::reference::Reference;
use crate::RegistryError;
use oci_client::manifest::{OciImageManifest, OciManifest};
use oci_wasm::{ToConfig, WasmConfig, WASM_LAYER_MEDIA_TYPE, WASM_MANIFEST_CONFIG_MEDIA_TYPE, WASM_MANIFEST_MEDIA_TYPE};
use std::collections::BTreeMap;

/// Bytes 4..8 of a component binary: version 0x0d, layer 1 (a core module has layer 0).
const COMPONENT_VERSION_AND_LAYER: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];

/// What a pulled manifest says about the component it points at.
#[derive(Debug, Clone)]
pub(crate) struct WasmArtifact {
    pub manifest_digest: Digest,
    pub config_digest: Digest,
    pub component_digest: Digest,
    pub component_size: u64,
    pub annotations: BTreeMap<String, String>,
    pub layer: oci_client::manifest::OciDescriptor,
    pub config: oci_client::manifest::OciDescriptor,
}

/// The WIT interfaces a component imports and exports, as recorded in the artifact config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ComponentInterfaces {
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// What `inspect` reports about a published plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactInfo {
    /// The reference, pinned to the manifest digest it resolved to.
    pub reference: Reference,
    pub manifest_digest: Digest,
    pub component_digest: Digest,
    pub component_size: u64,
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339 creation time from the config.
    pub created: String,
    pub os: String,
    pub interfaces: ComponentInterfaces,
}

/// Everything `publish` uploads, ready to push.
pub(crate) struct Publication {
    pub layer: Vec<u8>,
    pub layer_digest: Digest,
    pub config: Vec<u8>,
    pub config_digest: Digest,
    pub manifest: Vec<u8>,
    pub manifest_digest: Digest,
}

/// The imports and exports of a component, as oci-wasm computes them for the artifact config.
/// Fails if `bytes` are not a component (a core module, a WIT package, or not wasm at all).
pub fn component_interfaces(bytes: &[u8]) -> Result<ComponentInterfaces, String> {
    let (config, _) = wasm_config(bytes)?;
    Ok(interfaces_of(&config))
}

fn wasm_config(bytes: &[u8]) -> Result<(WasmConfig, oci_client::client::ImageLayer), String> {
    if !bytes.starts_with(b"\0asm") {
        return Err("it does not start with the WebAssembly magic bytes".to_string());
    }
    if bytes.get(4..8) != Some(&COMPONENT_VERSION_AND_LAYER) {
        return Err("it is a core WebAssembly module, not a component".to_string());
    }
    // oci-wasm would describe an encoded WIT package as if it were a component, but a package
    // only declares interfaces and cannot run.
    match wit_parser::decoding::decode(bytes) {
        Err(e) => return Err(format!("{e:#}")),
        Ok(wit_parser::decoding::DecodedWasm::WitPackage(..)) => return Err("it is a WIT package (interface definitions only)".to_string()),
        Ok(wit_parser::decoding::DecodedWasm::Component(..)) => {}
    }
    WasmConfig::from_raw_component(bytes.to_vec(), None).map_err(|e| format!("{e:#}"))
}

fn interfaces_of(config: &WasmConfig) -> ComponentInterfaces {
    config.component.as_ref().map(|c| ComponentInterfaces { imports: c.imports.clone(), exports: c.exports.clone() }).unwrap_or_default()
}

pub(crate) fn build(component: &[u8], reference: &Reference, annotations: BTreeMap<String, String>) -> Result<Publication, RegistryError> {
    let not_a_component = |reason: String| RegistryError::NotAComponent { reference: reference.clone(), reason };
    let (config, layer) = wasm_config(component).map_err(not_a_component)?;
    let config = config.to_config().map_err(|e| not_a_component(format!("{e:#}")))?;
    let mut manifest = OciImageManifest::build(std::slice::from_ref(&layer), &config, Some(annotations));
    manifest.media_type = Some(WASM_MANIFEST_MEDIA_TYPE.to_string());
    let manifest =
        serde_json::to_vec(&manifest).map_err(|e| RegistryError::Registry { reference: reference.clone(), detail: format!("encoding the manifest: {e}") })?;
    Ok(Publication {
        layer_digest: Digest::of(&layer.data),
        layer: layer.data.to_vec(),
        config_digest: Digest::of(&config.data),
        config: config.data.to_vec(),
        manifest_digest: Digest::of(&manifest),
        manifest,
    })
}

/// Checks that `manifest` (whose digest the caller has verified) describes a wasm component.
pub(crate) fn parse(reference: &Reference, manifest_digest: Digest, manifest: &[u8]) -> Result<WasmArtifact, RegistryError> {
    let reject = |reason: String| RegistryError::NotWasmArtifact { reference: reference.clone(), reason };
    let manifest: OciManifest = serde_json::from_slice(manifest).map_err(|e| reject(format!("its manifest is not an OCI manifest ({e})")))?;
    let manifest = match manifest {
        OciManifest::Image(m) => m,
        OciManifest::ImageIndex(_) => return Err(reject("it is an image index (a multi-platform image), not a single artifact".into())),
    };
    if let Some(media_type) = manifest.media_type.as_deref() {
        if media_type != WASM_MANIFEST_MEDIA_TYPE {
            return Err(reject(format!("its manifest media type is `{media_type}`, not `{WASM_MANIFEST_MEDIA_TYPE}`")));
        }
    }
    if manifest.config.media_type != WASM_MANIFEST_CONFIG_MEDIA_TYPE {
        return Err(reject(format!("its config media type is `{}`, not `{WASM_MANIFEST_CONFIG_MEDIA_TYPE}`", manifest.config.media_type)));
    }
    let [layer] = manifest.layers.as_slice() else {
        return Err(reject(format!("it has {} layers; a wasm artifact has exactly one", manifest.layers.len())));
    };
    if layer.media_type != WASM_LAYER_MEDIA_TYPE {
        return Err(reject(format!("its layer media type is `{}`, not `{WASM_LAYER_MEDIA_TYPE}`", layer.media_type)));
    }
    let digest = |d: &str, what: &str| d.parse::<Digest>().map_err(|e| reject(format!("its {what} digest is unusable ({e})")));
    let size = |s: i64, what: &str| u64::try_from(s).map_err(|_| reject(format!("its {what} size {s} is negative")));
    Ok(WasmArtifact {
        manifest_digest,
        config_digest: digest(&manifest.config.digest, "config")?,
        component_digest: digest(&layer.digest, "layer")?,
        component_size: size(layer.size, "layer")?,
        annotations: manifest.annotations.clone().unwrap_or_default(),
        layer: layer.clone(),
        config: manifest.config.clone(),
    })
}

/// Reads the config blob of an artifact into what `inspect` shows.
pub(crate) fn info(reference: &Reference, artifact: &WasmArtifact, config: &[u8]) -> Result<ArtifactInfo, RegistryError> {
    let config = WasmConfig::try_from(config)
        .map_err(|e| RegistryError::NotWasmArtifact { reference: reference.clone(), reason: format!("its config is not a wasm config ({e:#})") })?;
    Ok(ArtifactInfo {
        reference: reference.with_digest(artifact.manifest_digest),
        manifest_digest: artifact.manifest_digest,
        component_digest: artifact.component_digest,
        component_size: artifact.component_size,
        annotations: artifact.annotations.clone(),
        created: config.created.to_rfc3339(),
        os: config.os.clone(),
        interfaces: interfaces_of(&config),
    })
}
