//! What a plugin source turns out to be, asked of whoever can look: the host can open files and
//! registries; this crate alone knows only the built-ins. Keeping it behind a trait lets the
//! validator report "a runner used as a resource type" without depending on the host.

use crate::builtins;
use crate::model::PluginSource;
use serde::Serialize;

/// The four things a plugin can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum PluginKind {
    ResourceType,
    Runner,
    ServiceType,
    SecretType,
}

impl PluginKind {
    /// The block that declares this kind.
    pub fn keyword(self) -> &'static str {
        match self {
            PluginKind::ResourceType => "resource_type",
            PluginKind::Runner => "runner_type",
            PluginKind::ServiceType => "service_type",
            PluginKind::SecretType => "secret_type",
        }
    }
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PluginKind::ResourceType => "resource type",
            PluginKind::Runner => "runner",
            PluginKind::ServiceType => "service type",
            PluginKind::SecretType => "secret type",
        })
    }
}

/// What a catalog found at a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A plugin providing these kinds (a few built-ins, like `vault`, are more than one).
    Found(Vec<PluginKind>),
    /// Nothing is there.
    NotFound,
    /// This catalog does not look at such sources (an offline check of a registry reference).
    NotChecked,
}

pub trait PluginCatalog {
    /// Look at `source`. `Err` is a failure to look (unreadable file, unreachable registry) and is
    /// reported as an error at the `source` attribute.
    fn lookup(&self, source: &PluginSource) -> Result<Lookup, String>;

    /// Names that `pikoci://NAME` can take, for suggestions.
    fn builtin_names(&self) -> Vec<String> {
        builtins::BUILTIN_SOURCES.iter().map(|(n, _)| n.to_string()).collect()
    }
}

/// Knows the built-ins and checks that files exist; registries and URLs are not checked.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuiltinCatalog;

impl PluginCatalog for BuiltinCatalog {
    fn lookup(&self, source: &PluginSource) -> Result<Lookup, String> {
        Ok(match source {
            PluginSource::Builtin(name) => {
                let kinds = builtins::kinds_of_source(name);
                if kinds.is_empty() {
                    Lookup::NotFound
                } else {
                    Lookup::Found(kinds)
                }
            }
            PluginSource::WasmFile { path, .. } | PluginSource::DefinitionFile(path) => {
                if path.is_file() {
                    Lookup::NotChecked
                } else {
                    Lookup::NotFound
                }
            }
            PluginSource::Oci(_) | PluginSource::WasmUrl { .. } | PluginSource::DefinitionUrl(_) => Lookup::NotChecked,
        })
    }
}
