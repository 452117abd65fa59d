//! Host bindings for each released version of the `pikoci:plugin` WIT package.
//!
//! Like Zed's extension API, every released version keeps its own folder under `wit/` and its
//! own module here, so a plugin built against an older contract keeps loading after the
//! contract moves on. [`crate::runtime::manifest`] tells which version a component was built for.

pub mod v0_1;

/// The newest contract: what the host's own types (versions, errors) are made from. A plugin of
/// an older version is called through its own module.
pub use v0_1 as latest;
