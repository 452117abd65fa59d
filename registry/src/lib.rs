//! OCI distribution of pikoci plugins.
//!
//! A plugin is identified by the [`Digest`] of its component bytes, whatever registry,
//! URL or file it came from.

mod digest;

pub use digest::{Digest, DigestParseError};
