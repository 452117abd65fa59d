//! Loading components: manifests read without running, the compiled cache, bad components.

mod support;

use pikoci::runtime::compiled_cache::CacheOutcome;
use pikoci::runtime::manifest::{append_manifest_section, ManifestError, PluginManifest};
use pikoci::runtime::{PluginEngine, PluginKind};
use support::*;

#[test]
fn every_builtin_declares_its_kind_and_wit_version() {
    for b in pikoci::builtin::BUILTINS {
        let m = PluginManifest::from_component(b.bytes, "x").unwrap();
        assert_eq!(m.name, b.name);
        assert_eq!(m.wit_version, "0.1.1");
    }
    let m = PluginManifest::from_component(pikoci::builtin::lookup("pikoci://exec").unwrap().bytes, "x").unwrap();
    assert_eq!(m.kind, PluginKind::Runner);
    assert_eq!(m.world, "pikoci:plugin/runner-plugin@0.1.1");
    assert_eq!(m.requested_capabilities, ["run:{task.path}", "write:{task.dir}"]);
}

#[test]
fn a_second_engine_loads_from_the_compiled_cache() {
    let cache = tempfile::tempdir().unwrap();
    let bytes = pikoci::builtin::lookup("pikoci://cron").unwrap().bytes;
    let (_, first) = PluginEngine::new(Some(cache.path())).unwrap().load_timed("pikoci://cron", bytes).unwrap();
    assert_eq!(first.cache, CacheOutcome::Compiled);
    let (plugin, second) = PluginEngine::new(Some(cache.path())).unwrap().load_timed("pikoci://cron", bytes).unwrap();
    assert_eq!(second.cache, CacheOutcome::Hit);
    assert_eq!(plugin.name(), "cron");
}

#[test]
fn a_corrupt_cache_entry_is_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let bytes = pikoci::builtin::lookup("pikoci://cron").unwrap().bytes;
    PluginEngine::new(Some(cache.path())).unwrap().load("pikoci://cron", bytes).unwrap();
    for entry in std::fs::read_dir(cache.path().join("compiled")).unwrap() {
        std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
    }
    let (_, t) = PluginEngine::new(Some(cache.path())).unwrap().load_timed("pikoci://cron", bytes).unwrap();
    assert_eq!(t.cache, CacheOutcome::Compiled);
}

#[test]
fn a_core_module_or_garbage_is_refused_with_a_reason() {
    let core_module = b"\0asm\x01\0\0\0";
    let err = PluginManifest::from_component(core_module, "m").unwrap_err();
    assert!(err.to_string().contains("core module"), "{err}");
    assert!(matches!(PluginManifest::from_component(b"hello", "m"), Err(ManifestError::NotAComponent(_))));
    let err = engine().load("junk.wasm", b"hello").err().expect("junk must not load");
    assert!(err.to_string().starts_with("junk.wasm: "), "{err}");
}

#[test]
fn an_appended_manifest_section_is_read_back() {
    // What the tooling does for plugins whose language cannot emit custom sections itself.
    let bytes = fixture_bytes("probe");
    let with = append_manifest_section(&bytes, "name=renamed\nversion=9.9.9\ncapability=run:git\n");
    // The SDK's own section comes first and wins; an appended one applies to bare components.
    let m = PluginManifest::from_component(&with, "x").unwrap();
    assert_eq!(m.name, "probe");
    assert!(m.requested_capabilities.is_empty());
}
