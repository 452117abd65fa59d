//! The types a pipeline may use without declaring them, and the `pikoci://` sources that exist.

use crate::catalog::PluginKind;

/// Usable by name with no block, as in PikoCI; a block of the same name replaces them.
pub const RESOURCE_TYPES: &[&str] = &["git", "cron", "fs", "trigger"];
pub const RUNNERS: &[&str] = &["exec", "docker"];
pub const SERVICE_TYPES: &[&str] = &["postgresql", "redis"];
pub const SECRET_TYPES: &[&str] = &["env", "file", "vault"];

/// Every `pikoci://NAME` and what it provides. Besides the undeclared built-ins above, PikoCI
/// ships service definitions that pipelines name through `service_type { source = ... }`.
pub const BUILTIN_SOURCES: &[(&str, &[PluginKind])] = &[
    ("git", &[PluginKind::ResourceType]),
    ("cron", &[PluginKind::ResourceType]),
    ("fs", &[PluginKind::ResourceType]),
    ("trigger", &[PluginKind::ResourceType]),
    ("exec", &[PluginKind::Runner]),
    ("docker", &[PluginKind::Runner]),
    ("postgresql", &[PluginKind::ServiceType]),
    ("redis", &[PluginKind::ServiceType]),
    ("mariadb", &[PluginKind::ServiceType]),
    ("nats", &[PluginKind::ServiceType]),
    ("rabbitmq", &[PluginKind::ServiceType]),
    ("kafka", &[PluginKind::ServiceType]),
    ("env", &[PluginKind::SecretType]),
    ("file", &[PluginKind::SecretType]),
    // Vault is both a secret store to read from and a server to start for tests.
    ("vault", &[PluginKind::SecretType, PluginKind::ServiceType]),
];

/// The names usable without a declaration for `kind`.
pub fn undeclared(kind: PluginKind) -> &'static [&'static str] {
    match kind {
        PluginKind::ResourceType => RESOURCE_TYPES,
        PluginKind::Runner => RUNNERS,
        PluginKind::ServiceType => SERVICE_TYPES,
        PluginKind::SecretType => SECRET_TYPES,
    }
}

/// What `pikoci://NAME` provides; empty when there is no such built-in.
pub fn kinds_of_source(name: &str) -> Vec<PluginKind> {
    BUILTIN_SOURCES.iter().find(|(n, _)| *n == name).map(|(_, k)| k.to_vec()).unwrap_or_default()
}
