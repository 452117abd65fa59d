//! Real parts for the integration tests: Debian's `docker-registry` (CNCF distribution) on a
//! loopback port, and small but genuine WebAssembly components.

#![allow(dead_code)] // each test binary uses a different subset

pub use pikoci_registry::testing::{require, TestRegistry};
use pikoci_registry::{Digest, Reference, RegistryClient};
use std::collections::BTreeMap;
use std::path::Path;

/// A fresh registry with `component(version)` published to `repository_and_tag`.
pub struct Published {
    pub registry: TestRegistry,
    pub reference: Reference,
    pub wasm: Vec<u8>,
    pub manifest: Digest,
    /// The client that published, with its own store.
    pub publisher: RegistryClient,
    pub publisher_store: tempfile::TempDir,
}

pub async fn publish_fixture(repository_and_tag: &str, version: u32, annotations: BTreeMap<String, String>) -> Published {
    let registry = TestRegistry::start();
    let wasm = component(version);
    let reference = registry.reference(repository_and_tag);
    let (publisher, publisher_store) = registry.client(registry.settings());
    let manifest = publisher.publish(&wasm, &reference, annotations).await.expect("publish the fixture");
    Published { registry, reference, wasm, manifest, publisher, publisher_store }
}

/// A real, validated WebAssembly component that imports `pikoci:fixture/log` and exports
/// `pikoci:fixture/greet`; `version` changes its bytes (and package version).
pub fn component(version: u32) -> Vec<u8> {
    let wit = format!(
        "package pikoci:fixture@0.{version}.0;\n\
         interface greet {{ hello: func(name: string) -> string; }}\n\
         interface log {{ write: func(line: string); }}\n\
         world plugin {{ import log; export greet; }}\n"
    );
    let mut resolve = wit_parser::Resolve::default();
    let package = resolve.push_str("fixture.wit", &wit).expect("fixture WIT parses");
    let world = resolve.select_world(&[package], Some("plugin")).expect("fixture world");
    let mangling = wit_parser::ManglingAndAbi::Legacy(wit_parser::LiftLowerAbi::Sync);
    let mut module = wit_component::dummy_module(&resolve, world, mangling);
    wit_component::embed_component_metadata(&mut module, &resolve, world, wit_component::StringEncoding::UTF8).expect("embed component metadata");
    wit_component::ComponentEncoder::default().module(&module).expect("fixture module").validate(true).encode().expect("fixture component")
}

/// Flips one byte in the middle of a file, keeping its length.
pub fn corrupt(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(path, bytes).unwrap();
}
