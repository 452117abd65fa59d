//! Bindings for `pikoci:plugin@0.1.1` (wit/since_v0.1.1). Components built against 0.1.0 load
//! through them too: wasmtime matches interface names semver-compatibly, and 0.1.1 only added a
//! world.

/// The interfaces every plugin imports from the host (log, process) and the shared types.
pub mod facilities {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.1",
        world: "host-facilities",
        imports: { default: async | trappable },
        with: {
            "pikoci:plugin/process.child": crate::runtime::host_process::ChildHandle,
        },
    });
}

pub use facilities::pikoci::plugin::types::{MetadataField, PluginError, Version};
pub use facilities::pikoci::plugin::{log, process, types};

macro_rules! kind_world {
    ($module:ident, $world:literal) => {
        pub mod $module {
            wasmtime::component::bindgen!({
                path: "../wit/since_v0.1.1",
                world: $world,
                imports: { default: async | trappable },
                exports: { default: async },
                with: {
                    "pikoci:plugin/types": super::facilities::pikoci::plugin::types,
                    "pikoci:plugin/log": super::facilities::pikoci::plugin::log,
                    "pikoci:plugin/process": super::facilities::pikoci::plugin::process,
                },
            });
        }
    };
}

kind_world!(resource_type, "resource-type-plugin");
kind_world!(runner, "runner-plugin");
kind_world!(service_type, "service-type-plugin");
kind_world!(secret_type, "secret-type-plugin");
kind_world!(notification_type, "notification-type-plugin");
