//! The pipeline language: PikoCI's HCL pipelines read into a typed [`Pipeline`], with every
//! problem reported at once, each with its place, what was expected and, for a misspelt name,
//! the name that was probably meant. See docs/language/.
//!
//! ```
//! use pikoci_pipeline::{check_str, BuiltinCatalog, VarValues};
//! let text = r#"
//! resource "cron" "tick" { check_interval = "@every 1m" }
//! job "hello" {
//!   get "cron" "tick" { trigger = true }
//!   task "say" {
//!     run "exec" {
//!       path = "echo"
//!       args = ["hello"]
//!     }
//!   }
//! }
//! "#;
//! let report = check_str("pipeline.hcl".as_ref(), text, &VarValues::new(), &BuiltinCatalog);
//! assert!(report.is_valid(), "{}", pikoci_pipeline::render_human(&report.diagnostics));
//! ```

pub mod build_vars;
pub mod builtins;
pub mod catalog;
pub mod condition;
mod decode;
pub mod diagnostic;
mod functions;
mod instances;
pub mod interpolate;
mod load;
pub mod manifest;
pub mod model;
pub mod plugin_source;
pub mod schedule;
pub mod suggest;
mod validate;

pub use catalog::{BuiltinCatalog, Lookup, PluginCatalog, PluginKind};
pub use diagnostic::{render_human, render_json, Diagnostic, Severity, SourceFile, Span};
pub use interpolate::{secret_placeholder, VarValues};
pub use load::{check_file, check_str, load_pipeline, Report};
pub use model::*;
