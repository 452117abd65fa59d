//! pikoci-registry against a real OCI registry (Debian's `docker-registry`) on loopback.

mod common;

use common::{component, corrupt, publish_fixture, require, Published, TestRegistry};
use pikoci_registry::{Auth, BasicCredentials, ComponentStore, Digest, DockerConfig, Pins, Reference, RegistryClient, RegistryError};
use std::collections::BTreeMap;

fn annotations() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("org.opencontainers.image.title".to_string(), "fixture".to_string()),
        ("org.opencontainers.image.version".to_string(), "0.1.0".to_string()),
        ("dev.pikoci.plugin.kind".to_string(), "resource".to_string()),
    ])
}

#[tokio::test]
async fn publish_then_pull_by_tag_and_by_digest() {
    let Published { registry, reference, wasm, manifest, .. } = publish_fixture("plugins/fixture:1.0.0", 1, annotations()).await;

    let (by_tag, _t) = registry.client(registry.settings());
    let pulled = by_tag.pull(&reference).await.unwrap();
    assert_eq!(pulled.bytes, wasm);
    assert_eq!(pulled.component, Digest::of(&wasm));
    assert_eq!(pulled.manifest, manifest);
    assert_eq!(pulled.reference, reference.with_digest(manifest));
    assert!(!pulled.from_cache);
    assert_eq!(by_tag.store().get(&pulled.component).unwrap().unwrap(), wasm);
    assert_eq!(by_tag.resolve(&reference).await.unwrap(), manifest);

    let (by_digest, _d) = registry.client(registry.settings());
    let pinned: Reference = format!("{}/plugins/fixture@{manifest}", registry.host()).parse().unwrap();
    let pulled = by_digest.pull(&pinned).await.unwrap();
    assert_eq!((pulled.bytes, pulled.manifest, pulled.from_cache), (wasm.clone(), manifest, false));

    // A damaged cache entry is not served: it is dropped and fetched again.
    corrupt(&by_digest.store().path_of(&Digest::of(&wasm)));
    let repaired = by_digest.pull(&pinned).await.unwrap();
    assert_eq!((repaired.bytes.as_slice(), repaired.from_cache), (wasm.as_slice(), false));
    assert!(by_digest.pull(&pinned).await.unwrap().from_cache);

    let info = by_digest.inspect(&reference).await.unwrap();
    assert_eq!(info.manifest_digest, manifest);
    assert_eq!(info.component_digest, Digest::of(&wasm));
    assert_eq!(info.component_size, wasm.len() as u64);
    assert_eq!(info.annotations, annotations());
    assert_eq!(info.os, "wasip2");
    assert_eq!(info.interfaces.exports, vec!["pikoci:fixture/greet@0.1.0".to_string()]);
    assert_eq!(info.interfaces.imports, vec!["pikoci:fixture/log@0.1.0".to_string()]);
}

#[tokio::test]
async fn pulling_a_stored_digest_needs_no_registry() {
    let Published { registry, reference, wasm, manifest, publisher: client, publisher_store: _store, .. } =
        publish_fixture("plugins/cached:v1", 2, BTreeMap::new()).await;
    let pinned = reference.with_digest(manifest);
    assert!(!client.pull(&pinned).await.unwrap().from_cache);

    drop(registry); // nothing listens any more: any network I/O would fail

    let again = client.pull(&pinned).await.unwrap();
    assert!(again.from_cache);
    assert_eq!(again.bytes, wasm);
    // A tag must be resolved, which needs the registry; the error says which one and why.
    let error = client.pull(&reference).await.unwrap_err();
    assert!(matches!(error, RegistryError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains(&reference.to_string()), "{error}");
}

#[tokio::test]
async fn a_moved_tag_does_not_move_a_pinned_pipeline() {
    let Published { registry, reference, wasm: old, manifest: old_manifest, publisher, .. } =
        publish_fixture("plugins/moving:stable", 3, BTreeMap::new()).await;
    let new = component(4);

    let pins_dir = tempfile::tempdir().unwrap();
    let pins_path = pins_dir.path().join("pikoci.pins.json");
    let (ci, _c) = registry.client(registry.settings());
    let mut pins = Pins::load(&pins_path).unwrap();
    let first = ci.pull_pinned(&reference, &mut pins, false).await.unwrap();
    assert_eq!((first.bytes.as_slice(), first.manifest), (old.as_slice(), old_manifest));
    pins.save(&pins_path).unwrap();

    let new_manifest = publisher.publish(&new, &reference, BTreeMap::new()).await.unwrap();
    assert_ne!(new_manifest, old_manifest);
    assert_eq!(ci.resolve(&reference).await.unwrap(), new_manifest, "the tag really moved");

    let mut pins = Pins::load(&pins_path).unwrap();
    let kept = ci.pull_pinned(&reference, &mut pins, false).await.unwrap();
    assert_eq!(kept.bytes, old, "the pipeline keeps the bytes it was validated with");
    assert_eq!(kept.manifest, old_manifest);

    // Asking for the new digest explicitly while the pin says otherwise is refused...
    let explicit = reference.with_digest(new_manifest);
    let error = ci.resolve_pinned(&explicit, &mut pins, false).await.unwrap_err();
    assert!(matches!(error, RegistryError::PinMismatch { .. }), "{error:?}");
    assert!(error.to_string().contains(&old_manifest.to_string()), "{error}");

    // ...until someone updates the pins.
    let updated = ci.pull_pinned(&reference, &mut pins, true).await.unwrap();
    assert_eq!((updated.bytes, updated.manifest), (new, new_manifest));
    assert_eq!(pins.get(&reference).unwrap().manifest, new_manifest);
    assert_eq!(pins.get(&reference).unwrap().component, Some(Digest::of(&component(4))));
}

#[tokio::test]
async fn a_tampered_component_blob_is_rejected_and_nothing_is_stored() {
    let Published { registry, reference, wasm, .. } = publish_fixture("plugins/tampered:1", 5, BTreeMap::new()).await;
    corrupt(&registry.blob_path(&Digest::of(&wasm)));

    let (client, store_root) = registry.client(registry.settings());
    let error = client.pull(&reference).await.unwrap_err();
    match &error {
        RegistryError::LayerDigestMismatch { expected, .. } => assert_eq!(*expected, Digest::of(&wasm)),
        other => panic!("expected a layer digest mismatch, got {other:?}"),
    }
    assert!(error.to_string().contains(&reference.to_string()), "{error}");
    assert!(client.store().list().unwrap().is_empty());
    assert!(client.store().get(&Digest::of(&wasm)).unwrap().is_none());
    let leftovers: Vec<_> = walk(store_root.path()).into_iter().filter(|p| p.is_file()).collect();
    assert!(leftovers.is_empty(), "nothing partial may be left: {leftovers:?}");
}

#[tokio::test]
async fn a_tampered_manifest_is_a_digest_mismatch() {
    let Published { registry, reference, manifest, .. } = publish_fixture("plugins/manifest:1", 6, BTreeMap::new()).await;
    corrupt(&registry.blob_path(&manifest));

    let (client, _s) = registry.client(registry.settings());
    let error = client.pull(&reference.with_digest(manifest)).await.unwrap_err();
    assert!(matches!(error, RegistryError::ManifestDigestMismatch { .. }), "{error:?}");
    assert!(error.to_string().contains("plugins/manifest"), "{error}");
    assert!(client.store().list().unwrap().is_empty());
}

#[tokio::test]
async fn a_manifest_that_is_not_a_wasm_artifact_is_rejected() {
    use oci_client::client::{Config, ImageLayer};
    let registry = TestRegistry::start();
    pikoci_registry::install_tls_provider();
    let oci = oci_client::Client::new(oci_client::client::ClientConfig { protocol: oci_client::client::ClientProtocol::Http, ..Default::default() });
    let anonymous = oci_client::secrets::RegistryAuth::Anonymous;

    let image = registry.reference("images/container:1");
    let layer = ImageLayer::oci_v1(b"not a tarball, but typed as one".to_vec(), None);
    let config = Config::oci_v1(br#"{"architecture":"amd64","os":"linux"}"#.to_vec(), None);
    oci.push(&to_oci(&image), &[layer], config, &anonymous, None).await.unwrap();

    let two_layers = registry.reference("images/two-layers:1");
    let wasm_layer = |bytes: Vec<u8>| ImageLayer::new(bytes, "application/wasm".to_string(), None);
    let wasm_config = Config::new(br#"{"architecture":"wasm","os":"wasip2"}"#.to_vec(), "application/vnd.wasm.config.v0+json".to_string(), None);
    oci.push(&to_oci(&two_layers), &[wasm_layer(component(7)), wasm_layer(component(8))], wasm_config, &anonymous, None).await.unwrap();

    let (client, _s) = registry.client(registry.settings());
    for (reference, says) in [(&image, "application/vnd.oci.image.config.v1+json"), (&two_layers, "2 layers")] {
        let error = client.pull(reference).await.unwrap_err();
        assert!(matches!(error, RegistryError::NotWasmArtifact { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains(&reference.to_string()) && message.contains(says), "{message}");
        assert!(matches!(client.resolve_pinned(reference, &mut Pins::new(), false).await, Err(RegistryError::NotWasmArtifact { .. })));
    }
    assert!(client.store().list().unwrap().is_empty());
}

#[tokio::test]
async fn unknown_references_and_bad_components_are_clear_errors() {
    let registry = TestRegistry::start();
    let (client, _s) = registry.client(registry.settings());
    let missing = registry.reference("plugins/nothing:1");
    let error = client.pull(&missing).await.unwrap_err();
    assert!(matches!(error, RegistryError::NotFound { .. }), "{error:?}");
    assert!(error.to_string().contains(&missing.to_string()), "{error}");

    let target = registry.reference("plugins/bad:1");
    let core_module = b"\0asm\x01\0\0\0".to_vec();
    for bytes in [core_module, b"#!/bin/sh".to_vec(), Vec::new()] {
        let error = client.publish(&bytes, &target, BTreeMap::new()).await.unwrap_err();
        assert!(matches!(error, RegistryError::NotAComponent { .. }), "{error:?}");
    }
    let error = client.publish(&component(9), &target.with_digest(Digest::of(b"x")), BTreeMap::new()).await.unwrap_err();
    assert!(matches!(error, RegistryError::PublishNeedsTag { .. }), "{error:?}");
}

#[tokio::test]
async fn basic_auth_accepts_the_right_credentials_and_refuses_wrong_ones() {
    const USER: &str = "ci-bot";
    const PASSWORD: &str = "correct-horse-battery-staple";
    const WRONG: &str = "tr0ub4dor&3-wrong";
    let registry = TestRegistry::start_with_basic_auth(USER, PASSWORD);
    let wasm = component(10);
    let reference = registry.reference("private/plugin:1");

    let right = registry.settings().with_auth(Auth::Basic(BasicCredentials::new(USER, PASSWORD)));
    let (publisher, _p) = registry.client(right);
    let manifest = publisher.publish(&wasm, &reference, BTreeMap::new()).await.unwrap();

    // The same credentials, read from a Docker config.json as `docker login` writes it.
    let docker_dir = tempfile::tempdir().unwrap();
    let config_path = docker_dir.path().join("config.json");
    let encoded = base64_encode(&format!("{USER}:{PASSWORD}"));
    std::fs::write(&config_path, format!(r#"{{"auths":{{"{}":{{"auth":"{encoded}"}}}}}}"#, registry.host())).unwrap();
    let from_docker = registry.settings().with_auth(Auth::DockerConfig(DockerConfig::load(&config_path).unwrap()));
    let (puller, _q) = registry.client(from_docker);
    let pulled = puller.pull(&reference).await.unwrap();
    assert_eq!((pulled.bytes, pulled.manifest), (wasm.clone(), manifest));

    let wrong = registry.settings().with_auth(Auth::Basic(BasicCredentials::new(USER, WRONG)));
    let (refused, _r) = registry.client(wrong);
    for error in
        [refused.pull(&reference).await.unwrap_err(), refused.publish(&wasm, &registry.reference("private/other:1"), BTreeMap::new()).await.unwrap_err()]
    {
        assert!(matches!(error, RegistryError::Unauthorized { .. }), "{error:?}");
        let shown = format!("{error} {error:?}");
        assert!(shown.contains("private/"), "the error names the reference: {shown}");
        assert!(!shown.contains(WRONG) && !shown.contains(PASSWORD), "credentials leaked: {shown}");
        assert!(!shown.contains(&base64_encode(&format!("{USER}:{WRONG}"))), "credentials leaked: {shown}");
    }
    assert!(refused.store().list().unwrap().is_empty());

    let (anonymous, _a) = registry.client(registry.settings());
    let error = anonymous.pull(&reference).await.unwrap_err();
    assert!(error.to_string().contains("needs credentials"), "{error}");
}

#[tokio::test]
async fn skopeo_sees_a_valid_wasm_artifact() {
    let skopeo = require("skopeo");
    // Bound, not `..`: an unbound registry would be dropped (stopped) right here.
    let Published { registry: _registry, reference, wasm, manifest: manifest_digest, .. } = publish_fixture("plugins/checked:0.1.0", 11, annotations()).await;

    let inspect = |extra: &[&str]| {
        let output = std::process::Command::new(&skopeo)
            .args(["inspect", "--raw", "--tls-verify=false"])
            .args(extra)
            .arg(format!("docker://{reference}"))
            .output()
            .expect("run skopeo");
        assert!(output.status.success(), "skopeo failed: {}", String::from_utf8_lossy(&output.stderr));
        output.stdout
    };

    let raw_manifest = inspect(&[]);
    assert_eq!(Digest::of(&raw_manifest), manifest_digest, "publish reports the digest of what it pushed");
    let manifest: serde_json::Value = serde_json::from_slice(&raw_manifest).unwrap();
    assert_eq!(manifest["schemaVersion"], 2);
    assert_eq!(manifest["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.wasm.config.v0+json");
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["mediaType"], "application/wasm");
    assert_eq!(layers[0]["digest"], Digest::of(&wasm).to_string());
    assert_eq!(layers[0]["size"], wasm.len());
    assert_eq!(manifest["annotations"]["org.opencontainers.image.title"], "fixture");

    let raw_config = inspect(&["--config"]);
    assert_eq!(Digest::of(&raw_config).to_string(), manifest["config"]["digest"].as_str().unwrap());
    let config: serde_json::Value = serde_json::from_slice(&raw_config).unwrap();
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(config["os"], "wasip2");
    assert_eq!(config["layerDigests"], serde_json::json!([Digest::of(&wasm).to_string()]));
    assert_eq!(config["component"]["exports"], serde_json::json!(["pikoci:fixture/greet@0.11.0"]));
    assert_eq!(config["component"]["imports"], serde_json::json!(["pikoci:fixture/log@0.11.0"]));
    assert!(config["created"].is_string());
}

#[test]
fn a_store_survives_reopening() {
    let root = tempfile::tempdir().unwrap();
    let wasm = component(12);
    let digest = ComponentStore::open(root.path()).unwrap().put(&wasm).unwrap();
    let reopened = ComponentStore::open(root.path()).unwrap();
    assert_eq!(reopened.get(&digest).unwrap().unwrap(), wasm);
    assert_eq!(reopened.list().unwrap()[0].digest, digest);
    let _: RegistryClient = RegistryClient::new(reopened, Default::default()).unwrap();
}

fn to_oci(reference: &Reference) -> oci_client::Reference {
    oci_client::Reference::with_tag(reference.registry().to_string(), reference.repository().to_string(), reference.tag().unwrap().to_string())
}

fn base64_encode(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
