//! pikoci: a CI/CD server whose integrations are sandboxed WebAssembly components.
//!
//! The data path reads one way: a pipeline (HCL) becomes a typed model (`pikoci-pipeline`),
//! steps call plugins through the [`runtime`], which runs each call in a sandbox that grants
//! exactly the capabilities the pipeline gave.

pub mod build_info;
pub mod builtin;
pub mod cli;
pub mod executor;
pub mod planner;
pub mod plugin_source;
pub mod runtime;
pub mod server;
