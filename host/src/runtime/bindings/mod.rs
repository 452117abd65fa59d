//! Host bindings for each released version of the `pikoci:plugin` WIT package.
//!
//! Like Zed's extension API, every released version keeps its own folder under `wit/` and its
//! own module here, so a plugin built against an older contract keeps loading after the
//! contract moves on. [`crate::runtime::manifest`] tells which version a component was built for.

pub mod v0_1;
