//! `pikoci plugin publish/pull/inspect/list` against a real OCI registry on loopback.

mod support;

use pikoci_registry::testing::{require, TestRegistry};
use std::process::Command;
use support::*;

fn pikoci(cache: &std::path::Path, registry: &TestRegistry, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pikoci"))
        .args(args)
        .env("PIKOCI_CACHE_DIR", cache)
        .env("PIKOCI_INSECURE_REGISTRIES", registry.host())
        .env("DOCKER_CONFIG", cache.join("no-docker-config"))
        .output()
        .expect("run pikoci");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_plugin_is_published_pulled_inspected_and_listed() {
    let registry = TestRegistry::start();
    let publisher = tempfile::tempdir().unwrap();
    let user = tempfile::tempdir().unwrap();
    let counter = repo_root().join("target/test-plugins/counter.wasm");
    let reference = format!("oci://{}/plugins/counter:1.0.0", registry.host());

    let (ok, out, err) = pikoci(publisher.path(), &registry, &["plugin", "publish", counter.to_str().unwrap(), &reference]);
    assert!(ok, "publish failed: {err}");
    let pinned = out.trim().to_string();
    assert!(pinned.starts_with(&format!("oci://{}/plugins/counter:1.0.0@sha256:", registry.host())), "{pinned}");

    let (ok, out, err) = pikoci(user.path(), &registry, &["plugin", "pull", &reference]);
    assert!(ok, "pull failed: {err}");
    let component_digest = pikoci_registry::Digest::of(&std::fs::read(&counter).unwrap());
    assert!(out.starts_with(&component_digest.to_string()), "{out}");
    assert!(out.contains("test-plugin-counter, resource-type"), "{out}");

    let (ok, out, err) = pikoci(user.path(), &registry, &["plugin", "inspect", &pinned]);
    assert!(ok, "inspect failed: {err}");
    assert!(out.contains("kind:        resource-type"), "{out}");
    assert!(out.contains("write:{source.file}"), "{out}");

    let (ok, out, _) = pikoci(user.path(), &registry, &["plugin", "list"]);
    assert!(ok);
    assert!(out.contains(&component_digest.to_string()) && out.contains("test-plugin-counter"), "{out}");

    // Another tool's judgement of what was pushed: a CNCF wasm artifact carrying the manifest.
    let raw = Command::new(require("skopeo"))
        .args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{}/plugins/counter:1.0.0", registry.host())])
        .output()
        .unwrap();
    assert!(raw.status.success(), "{}", String::from_utf8_lossy(&raw.stderr));
    let manifest: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.wasm.config.v0+json");
    assert_eq!(manifest["layers"][0]["mediaType"], "application/wasm");
    assert_eq!(manifest["layers"][0]["digest"], component_digest.to_string());
    assert_eq!(manifest["annotations"]["dev.pikoci.plugin.kind"], "resource-type");
    assert_eq!(manifest["annotations"]["dev.pikoci.plugin.wit"], "pikoci:plugin@0.1.1");
}

#[test]
fn publishing_a_component_that_is_not_a_plugin_is_refused() {
    let registry = TestRegistry::start();
    let cache = tempfile::tempdir().unwrap();
    let not_a_plugin = cache.path().join("core.wasm");
    std::fs::write(&not_a_plugin, b"\0asm\x01\0\0\0").unwrap();
    let reference = format!("oci://{}/plugins/nope:1", registry.host());
    let (ok, _, err) = pikoci(cache.path(), &registry, &["plugin", "publish", not_a_plugin.to_str().unwrap(), &reference]);
    assert!(!ok);
    assert!(err.contains("is not a pikoci plugin") && err.contains("core module"), "{err}");
}

#[test]
fn pulling_an_unknown_reference_names_it() {
    let registry = TestRegistry::start();
    let cache = tempfile::tempdir().unwrap();
    let reference = format!("oci://{}/plugins/missing:1.0.0", registry.host());
    let (ok, _, err) = pikoci(cache.path(), &registry, &["plugin", "pull", &reference]);
    assert!(!ok);
    assert!(err.contains("plugins/missing:1.0.0"), "{err}");
    let (_, out, _) = pikoci(cache.path(), &registry, &["plugin", "list"]);
    assert!(out.trim().is_empty(), "nothing may be cached: {out}");
}
