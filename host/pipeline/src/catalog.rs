//! What a plugin source turns out to be, asked of whoever can look: the host can open files and
//! registries; this crate alone knows only the built-ins. Keeping it behind a trait lets the
//! validator report "a runner used as a resource type" without depending on the host.

use crate::builtins;
pub use crate::manifest::PluginKind;
use crate::model::PluginSource;

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
        builtins::source_names().into_iter().map(str::to_string).collect()
    }
}

/// Knows the built-ins and checks that files exist; registries and URLs are not checked.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuiltinCatalog;

impl PluginCatalog for BuiltinCatalog {
    fn lookup(&self, source: &PluginSource) -> Result<Lookup, String> {
        Ok(match source {
            PluginSource::Builtin(name) => match builtins::kind_of(name) {
                Some(kind) => Lookup::Found(vec![kind]),
                None => Lookup::NotFound,
            },
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
