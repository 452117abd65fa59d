//! The Rust SDK for pikoci plugins.
//!
//! A plugin is a WebAssembly component that implements one of pikoci's plugin kinds. With
//! this crate you implement a plain Rust trait and call one export macro:
//!
//! ```ignore
//! use pikoci_sdk::{Fetched, ResourceType, Result, Version};
//! use std::path::Path;
//!
//! #[derive(serde::Deserialize)]
//! struct Source { path: String }
//!
//! struct Counter;
//!
//! impl ResourceType for Counter {
//!     type Source = Source;
//!     type Params = pikoci_sdk::NoParams;
//!     fn check(source: Source, _last: Option<Version>) -> Result<Vec<Version>> {
//!         let n = pikoci_sdk::fs::read_to_string(&source.path)?;
//!         Ok(vec![Version::new().with("count", n.trim())])
//!     }
//!     fn get(_s: Source, version: Version, _p: Self::Params, dir: &Path) -> Result<Fetched> {
//!         pikoci_sdk::fs::write(dir.join("count"), version.field("count").unwrap_or_default())?;
//!         Ok(Fetched::new(version))
//!     }
//!     fn put(_s: Source, _p: Self::Params, _dir: &Path) -> Result<Fetched> {
//!         Err(pikoci_sdk::Error::failed("counter is read-only"))
//!     }
//! }
//!
//! pikoci_sdk::export_resource_type!(Counter, capabilities = ["read:{source.path}"]);
//! ```
//!
//! Build it with `cargo build --target wasm32-wasip2 --release`; the result in
//! `target/wasm32-wasip2/release/` is the component pikoci loads.
//!
//! One module per host facility: [`fs`] (files in granted directories), [`process`] (granted
//! programs), [`log`] (the build log). Each plugin call runs in a fresh sandbox with only what the
//! pipeline granted; see the plugin author's guide for how capabilities are granted.

#![allow(clippy::too_many_arguments)]

mod error;
pub mod fs;
pub mod log;
mod manifest;
#[doc(hidden)]
pub mod __private {
    pub use crate::manifest::to_section;
}
pub mod process;
mod version;

pub mod kinds;

pub use error::{Error, Result};
pub use kinds::{BuildInfo, Notice, NotificationType, ResourceType, Runner, SecretType, ServiceType, Started, Task};
pub use version::{Fetched, Version};

/// The WIT package this SDK implements, as written in each plugin's manifest.
pub const WIT_PACKAGE: &str = "pikoci:plugin@0.1.1";

/// Parameters for a plugin that takes none: accepts any configuration and ignores it.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoParams;

impl<'de> serde::Deserialize<'de> for NoParams {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(NoParams)
    }
}

/// Generated bindings; plugin authors use the re-exported wrappers instead.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/since_v0.1.1",
        world: "host-facilities",
        generate_all,
    });

    pub mod resource_type {
        wit_bindgen::generate!({
            path: "../wit/since_v0.1.1",
            world: "resource-type-plugin",
            with: {
                "pikoci:plugin/types@0.1.1": crate::bindings::pikoci::plugin::types,
                "pikoci:plugin/log@0.1.1": crate::bindings::pikoci::plugin::log,
                "pikoci:plugin/process@0.1.1": crate::bindings::pikoci::plugin::process,
            },
            pub_export_macro: true,
            export_macro_name: "__export_resource_type_world",
            default_bindings_module: "pikoci_sdk::bindings::resource_type",
        });
    }

    pub mod runner {
        wit_bindgen::generate!({
            path: "../wit/since_v0.1.1",
            world: "runner-plugin",
            with: {
                "pikoci:plugin/types@0.1.1": crate::bindings::pikoci::plugin::types,
                "pikoci:plugin/log@0.1.1": crate::bindings::pikoci::plugin::log,
                "pikoci:plugin/process@0.1.1": crate::bindings::pikoci::plugin::process,
            },
            pub_export_macro: true,
            export_macro_name: "__export_runner_world",
            default_bindings_module: "pikoci_sdk::bindings::runner",
        });
    }

    pub mod service_type {
        wit_bindgen::generate!({
            path: "../wit/since_v0.1.1",
            world: "service-type-plugin",
            with: {
                "pikoci:plugin/types@0.1.1": crate::bindings::pikoci::plugin::types,
                "pikoci:plugin/log@0.1.1": crate::bindings::pikoci::plugin::log,
                "pikoci:plugin/process@0.1.1": crate::bindings::pikoci::plugin::process,
            },
            pub_export_macro: true,
            export_macro_name: "__export_service_type_world",
            default_bindings_module: "pikoci_sdk::bindings::service_type",
        });
    }

    pub mod secret_type {
        wit_bindgen::generate!({
            path: "../wit/since_v0.1.1",
            world: "secret-type-plugin",
            with: {
                "pikoci:plugin/types@0.1.1": crate::bindings::pikoci::plugin::types,
                "pikoci:plugin/log@0.1.1": crate::bindings::pikoci::plugin::log,
                "pikoci:plugin/process@0.1.1": crate::bindings::pikoci::plugin::process,
            },
            pub_export_macro: true,
            export_macro_name: "__export_secret_type_world",
            default_bindings_module: "pikoci_sdk::bindings::secret_type",
        });
    }

    pub mod notification_type {
        wit_bindgen::generate!({
            path: "../wit/since_v0.1.1",
            world: "notification-type-plugin",
            with: {
                "pikoci:plugin/types@0.1.1": crate::bindings::pikoci::plugin::types,
                "pikoci:plugin/log@0.1.1": crate::bindings::pikoci::plugin::log,
                "pikoci:plugin/process@0.1.1": crate::bindings::pikoci::plugin::process,
            },
            pub_export_macro: true,
            export_macro_name: "__export_notification_type_world",
            default_bindings_module: "pikoci_sdk::bindings::notification_type",
        });
    }

    pub use pikoci::plugin::types as wit_types;
}

/// Parse a JSON config the host passed into the plugin's typed configuration.
#[doc(hidden)]
pub fn parse_config<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::InvalidConfig(format!("{what}: {e}")))
}
