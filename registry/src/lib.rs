//! OCI distribution of pikoci plugins.
//!
//! A plugin is identified by the [`Digest`] of its component bytes, whatever registry,
//! URL or file it came from. [`RegistryClient`] publishes components as CNCF wasm OCI
//! artifacts and pulls them into a [`ComponentStore`]; [`Pins`] keeps a pipeline on the
//! exact bytes it was validated with.

// Errors carry the whole `Reference` so callers can match on it and messages can name it; they
// occur once per failed operation, so their size is not worth boxing.
#![allow(clippy::result_large_err)]

/// `Debug` and serde through a type's text form (`Display` + `FromStr`), for identifiers whose
/// text form is what people read and what files store.
macro_rules! text_form_traits {
    ($type:ident) => {
        impl std::fmt::Debug for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({self})", stringify!($type))
            }
        }

        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

mod artifact;
mod auth;
mod client;
mod digest;
mod error;
mod pins;
mod reference;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use artifact::{component_interfaces, ArtifactInfo, ComponentInterfaces};
pub use auth::{Auth, BasicCredentials, DockerConfig};
pub use client::{install_tls_provider, ClientSettings, Pulled, RegistryClient};
pub use digest::{Digest, DigestParseError};
pub use error::RegistryError;
pub use pins::{Pin, Pins};
pub use reference::{Reference, ReferenceError};
pub use store::{ComponentStore, StoredComponent};
