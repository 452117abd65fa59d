//! What is built in: the `pikoci://NAME` plugins (generated from plugins/dist/ by build.rs), the
//! adapters that run PikoCI's inline exec types, and `trigger`, which the server serves itself.

use crate::manifest::PluginKind;

include!(concat!(env!("OUT_DIR"), "/builtin_catalog.rs"));

/// The built-ins that run a pipeline's inline commands for each kind; never named in a pipeline.
pub const INLINE_ADAPTERS: &[(PluginKind, &str)] = &[
    (PluginKind::ResourceType, "exec-resource-type"),
    (PluginKind::ServiceType, "exec-service-type"),
    (PluginKind::SecretType, "exec-secret-type"),
    (PluginKind::NotificationType, "exec-notification-type"),
];

/// The runner a `runner_type { run { ... } }` template runs through.
pub const TEMPLATE_RUNNER: &str = "exec";

/// PikoCI's `shell` runner: a command line or a script, run by `exec` through a shell; the
/// planner writes its program and arguments, no plugin of its own.
pub const SHELL_RUNNER: &str = "shell";

/// PikoCI's `trigger` resource type: the server's team-wide event streams, no plugin.
pub const TRIGGER_TYPE: &str = "trigger";

/// Built-ins of PikoCI that pikoci does not ship yet, so a pipeline naming one is told so.
pub const PIKOCI_ONLY: &[&str] = &["kafka", "keycloak", "artifact"];

/// The adapter that runs inline commands of `kind`.
pub fn inline_adapter(kind: PluginKind) -> Option<&'static str> {
    INLINE_ADAPTERS.iter().find(|(k, _)| *k == kind).map(|(_, n)| *n)
}

fn is_adapter(name: &str) -> bool {
    INLINE_ADAPTERS.iter().any(|(_, n)| *n == name)
}

/// The kind of `pikoci://NAME`, when it exists and may be named in a pipeline.
pub fn kind_of(name: &str) -> Option<PluginKind> {
    BUILTINS.iter().find(|(n, _)| *n == name && !is_adapter(n)).map(|(_, k)| *k)
}

/// The names usable for `kind` without a declaration, as in PikoCI; a block of the same name
/// replaces them.
pub fn undeclared(kind: PluginKind) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = BUILTINS.iter().filter(|(n, k)| *k == kind && !is_adapter(n)).map(|(n, _)| *n).collect();
    match kind {
        PluginKind::ResourceType => names.push(TRIGGER_TYPE),
        PluginKind::Runner => names.push(SHELL_RUNNER),
        _ => {}
    }
    names.sort_unstable();
    names
}

/// Every name `pikoci://NAME` can take, for suggestions.
pub fn source_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|(n, _)| *n).filter(|n| !is_adapter(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_knows_the_embedded_plugins() {
        assert_eq!(kind_of("git"), Some(PluginKind::ResourceType));
        assert_eq!(kind_of("docker"), Some(PluginKind::Runner));
        assert_eq!(kind_of("exec-resource-type"), None, "adapters are not for pipelines");
        assert!(undeclared(PluginKind::ResourceType).contains(&"trigger"));
        assert!(undeclared(PluginKind::Runner).contains(&"shell"));
        for (_, adapter) in INLINE_ADAPTERS {
            assert!(BUILTINS.iter().any(|(n, _)| n == adapter), "{adapter} is not built in");
        }
    }
}
