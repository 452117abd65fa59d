//! What a component is and what it asks for, read from its bytes without running it.
//!
//! Two sources: the component's exports say which plugin kind it implements and against which
//! version of the WIT package; the `pikoci:manifest` custom section (written by the SDK's export
//! macros, or appended by `pikoci plugin` tooling for other languages) gives its name, version,
//! description and the capabilities it requests, one `key=value` per line.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;
use wasmparser::{Parser, Payload};

/// The custom section that carries a plugin's manifest.
pub const MANIFEST_SECTION: &str = "pikoci:manifest";

/// The WIT package versions this host can load.
pub const SUPPORTED_WIT: &[&str] = &["0.1.0", "0.1.1"];

/// The things a plugin can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    ResourceType,
    Runner,
    ServiceType,
    SecretType,
    /// Since WIT 0.1.1.
    NotificationType,
}

impl PluginKind {
    pub const ALL: [PluginKind; 5] =
        [PluginKind::ResourceType, PluginKind::Runner, PluginKind::ServiceType, PluginKind::SecretType, PluginKind::NotificationType];

    /// The interface name a component of this kind exports.
    pub fn interface(self) -> &'static str {
        match self {
            PluginKind::ResourceType => "resource-type",
            PluginKind::Runner => "runner",
            PluginKind::ServiceType => "service-type",
            PluginKind::SecretType => "secret-type",
            PluginKind::NotificationType => "notification-type",
        }
    }

    /// The WIT world a component of this kind targets.
    pub fn world(self) -> &'static str {
        match self {
            PluginKind::ResourceType => "resource-type-plugin",
            PluginKind::Runner => "runner-plugin",
            PluginKind::ServiceType => "service-type-plugin",
            PluginKind::SecretType => "secret-type-plugin",
            PluginKind::NotificationType => "notification-type-plugin",
        }
    }

    /// The pipeline block that declares a type of this kind.
    pub fn keyword(self) -> &'static str {
        match self {
            PluginKind::ResourceType => "resource_type",
            PluginKind::Runner => "runner_type",
            PluginKind::ServiceType => "service_type",
            PluginKind::SecretType => "secret_type",
            PluginKind::NotificationType => "notification_type",
        }
    }
}

/// In messages: "resource type", "runner"...
impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PluginKind::ResourceType => "resource type",
            PluginKind::Runner => "runner",
            PluginKind::ServiceType => "service type",
            PluginKind::SecretType => "secret type",
            PluginKind::NotificationType => "notification type",
        })
    }
}

/// From the interface name (`resource-type`).
impl FromStr for PluginKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        PluginKind::ALL
            .into_iter()
            .find(|k| k.interface() == s)
            .ok_or_else(|| format!("unknown plugin kind `{s}`; expected resource-type, runner, service-type, secret-type or notification-type"))
    }
}

/// What `pikoci plugin inspect` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginManifest {
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    pub kind: PluginKind,
    /// The WIT package version the component was built against, e.g. `0.1.0`.
    pub wit_version: String,
    /// The WIT world, e.g. `pikoci:plugin/resource-type-plugin@0.1.0`.
    pub world: String,
    /// Capabilities the plugin asks for, in their text form (may contain `{source.FIELD}`).
    pub requested_capabilities: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("not a WebAssembly component: {0}")]
    NotAComponent(String),
    #[error("the component exports no pikoci plugin interface (expected one of pikoci:plugin/resource-type, runner, service-type, secret-type or notification-type); is it built against pikoci's WIT?")]
    NoPluginExport,
    #[error("the component exports several plugin kinds ({0}); a plugin implements exactly one")]
    SeveralKinds(String),
    #[error("the component was built against pikoci:plugin@{0}, which this pikoci does not support (supported: {supported})", supported = SUPPORTED_WIT.join(", "))]
    UnsupportedWit(String),
    #[error("the `pikoci:manifest` section says kind={declared}, but the component exports {}", exported.interface())]
    KindMismatch { declared: String, exported: PluginKind },
    #[error("the `pikoci:manifest` section is not UTF-8 text")]
    NotText,
}

impl PluginManifest {
    /// Read the manifest of a component; `fallback_name` names a plugin whose component carries
    /// no manifest section (its kind still comes from its exports).
    pub fn from_component(bytes: &[u8], fallback_name: &str) -> Result<Self, ManifestError> {
        let mut depth = 0usize;
        let mut exported = Vec::new();
        let mut section: Option<Vec<u8>> = None;
        for payload in Parser::new(0).parse_all(bytes) {
            let payload = payload.map_err(|e| ManifestError::NotAComponent(e.message().to_string()))?;
            match payload {
                Payload::Version { encoding, .. } if depth == 0 && encoding != wasmparser::Encoding::Component => {
                    return Err(ManifestError::NotAComponent("it is a core module; build it as a component (wasm32-wasip2)".into()));
                }
                Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
                Payload::End(_) => depth = depth.saturating_sub(1),
                Payload::ComponentExportSection(reader) if depth == 0 => {
                    for export in reader {
                        let export = export.map_err(|e| ManifestError::NotAComponent(e.message().to_string()))?;
                        exported.push(export.name.name.to_string());
                    }
                }
                Payload::CustomSection(reader) if reader.name() == MANIFEST_SECTION => {
                    // wasm-ld concatenates same-named sections; the first manifest wins.
                    section.get_or_insert_with(|| reader.data().to_vec());
                }
                _ => {}
            }
        }

        let mut kinds = Vec::new();
        for name in &exported {
            let Some(rest) = name.strip_prefix("pikoci:plugin/") else { continue };
            let (interface, version) = rest.split_once('@').unwrap_or((rest, ""));
            if let Ok(kind) = interface.parse::<PluginKind>() {
                kinds.push((kind, version.to_string()));
            }
        }
        let (kind, wit_version) = match kinds.as_slice() {
            [] => return Err(ManifestError::NoPluginExport),
            [one] => one.clone(),
            several => {
                let names: Vec<_> = several.iter().map(|(k, _)| k.interface().to_string()).collect();
                return Err(ManifestError::SeveralKinds(names.join(", ")));
            }
        };
        if !SUPPORTED_WIT.contains(&wit_version.as_str()) {
            return Err(ManifestError::UnsupportedWit(wit_version));
        }

        Self::from_parts(kind, wit_version, section.as_deref(), fallback_name)
    }

    /// Combine the kind a component exports with its manifest section's text.
    fn from_parts(kind: PluginKind, wit_version: String, section: Option<&[u8]>, fallback_name: &str) -> Result<Self, ManifestError> {
        let mut manifest = PluginManifest {
            name: fallback_name.to_string(),
            version: None,
            description: None,
            kind,
            world: format!("pikoci:plugin/{}@{wit_version}", kind.world()),
            wit_version,
            requested_capabilities: Vec::new(),
        };
        if let Some(section) = section {
            let text = std::str::from_utf8(section).map_err(|_| ManifestError::NotText)?;
            for line in text.lines() {
                let Some((key, value)) = line.split_once('=') else { continue };
                let value = value.trim().to_string();
                match key.trim() {
                    "name" if !value.is_empty() => manifest.name = value,
                    "version" if !value.is_empty() => manifest.version = Some(value),
                    "description" if !value.is_empty() => manifest.description = Some(value),
                    "capability" if !value.is_empty() => manifest.requested_capabilities.push(value),
                    "kind" if value != kind.interface() => {
                        return Err(ManifestError::KindMismatch { declared: value, exported: kind });
                    }
                    // Unknown keys are for newer hosts; an older host ignores them.
                    _ => {}
                }
            }
        }
        Ok(manifest)
    }
}

/// Append a `pikoci:manifest` custom section to a component, for plugins built by toolchains that
/// cannot emit one themselves (componentize-py, componentize-js). A custom section at the end of
/// a component is valid wherever it stands.
pub fn append_manifest_section(component: &[u8], manifest_text: &str) -> Vec<u8> {
    let mut out = component.to_vec();
    let mut payload = Vec::new();
    write_leb128(&mut payload, MANIFEST_SECTION.len() as u64);
    payload.extend_from_slice(MANIFEST_SECTION.as_bytes());
    payload.extend_from_slice(manifest_text.as_bytes());
    out.push(0); // custom section id
    write_leb128(&mut out, payload.len() as u64);
    out.extend_from_slice(&payload);
    out
}

fn write_leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_fills_in_name_version_and_capabilities() {
        let text = b"name=git\nversion=1.2.0\nkind=resource-type\nfuture-key=x\ncapability=run:git\ncapability=net:{source.host}\n";
        let m = PluginManifest::from_parts(PluginKind::ResourceType, "0.1.0".into(), Some(text), "fallback").unwrap();
        assert_eq!(m.name, "git");
        assert_eq!(m.version.as_deref(), Some("1.2.0"));
        assert_eq!(m.requested_capabilities, ["run:git", "net:{source.host}"]);
    }

    #[test]
    fn a_declared_kind_must_match_the_exports() {
        let err = PluginManifest::from_parts(PluginKind::ResourceType, "0.1.0".into(), Some(b"kind=runner\n"), "x").unwrap_err();
        assert_eq!(err.to_string(), "the `pikoci:manifest` section says kind=runner, but the component exports resource-type");
    }

    #[test]
    fn without_a_section_the_fallback_name_is_used() {
        let m = PluginManifest::from_parts(PluginKind::Runner, "0.1.0".into(), None, "my-runner").unwrap();
        assert_eq!((m.name.as_str(), m.version), ("my-runner", None));
    }
}
