//! The built-in plugins, embedded in the binary and addressed as `pikoci://NAME`.
//!
//! They are ordinary components (built from plugins/ by scripts/build-plugins.sh) and run in the
//! same sandbox as any third-party plugin; being built in only means they need no download.

/// The scheme of built-in plugin addresses.
pub const SCHEME: &str = "pikoci://";

pub struct BuiltinPlugin {
    pub name: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! builtin {
    ($name:literal) => {
        BuiltinPlugin {
            name: $name,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins/dist/", $name, ".wasm")),
        }
    };
}

pub static BUILTINS: &[BuiltinPlugin] = &[builtin!("fs"), builtin!("cron"), builtin!("exec"), builtin!("exec-resource-type"), builtin!("exec-service-type"), builtin!("exec-secret-type"), builtin!("env"), builtin!("file"),
    builtin!("vault"), builtin!("git"), builtin!("postgresql"), builtin!("redis"), builtin!("docker"),
];

/// The built-in plugin at `pikoci://NAME`.
pub fn lookup(address: &str) -> Option<&'static BuiltinPlugin> {
    let name = address.strip_prefix(SCHEME)?;
    BUILTINS.iter().find(|b| b.name == name)
}

/// Names of all built-ins, for "did you mean" messages.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|b| b.name)
}
