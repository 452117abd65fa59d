//! Shared by the host's integration tests: the real fixture components and a plugin engine.

#![allow(dead_code)]

pub mod builtins;
pub mod cli;
pub mod debian_root;
pub mod git_http;
pub mod git_repo;
pub mod http_standin;
pub mod podman;
pub mod server;

use pikoci::executor::{ExecOptions, PluginRef};
use pikoci::runtime::{Capabilities, MemoryLog, Plugin, PluginEngine, PluginSet};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A fixture component from tests/plugins, built by scripts/build-plugins.sh.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = repo_root().join("target/test-plugins").join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read the fixture plugin {}: {e}; build the fixtures with scripts/build-plugins.sh", path.display()))
}

/// One engine per test process; compiled components are cached under target/ so that each test
/// process after the first loads them from disk.
pub fn engine() -> &'static Arc<PluginEngine> {
    static ENGINE: OnceLock<Arc<PluginEngine>> = OnceLock::new();
    ENGINE.get_or_init(|| Arc::new(PluginEngine::new(Some(&repo_root().join("target/test-cache"))).expect("engine")))
}

/// The plugins plans made by tests refer to, by digest.
pub fn plugins() -> Arc<PluginSet> {
    static SET: OnceLock<Arc<PluginSet>> = OnceLock::new();
    SET.get_or_init(|| Arc::new(PluginSet::new(engine().clone(), None))).clone()
}

/// A plan's reference to `plugin` with `grants` (and its manifest's requests when `trusted`),
/// the plugin kept in [`plugins`] for the executor to find.
pub fn reference(plugin: Plugin, origin: &str, grants: &[&str], trusted: bool) -> PluginRef {
    let grants = grants.iter().map(|g| g.parse().expect("a valid capability")).collect();
    let reference = PluginRef::of(&plugin, origin, grants, trusted);
    plugins().insert(plugin);
    reference
}

/// A built-in as the planner binds `pikoci://NAME`.
pub fn builtin_ref(name: &str) -> PluginRef {
    reference(builtin(name), &format!("pikoci://{name}"), &[], true)
}

/// The executor's defaults with the tests' plugins.
pub fn options() -> ExecOptions {
    ExecOptions::new(plugins(), std::env::temp_dir().join("pikoci-test-resource-caches"))
}

pub fn fixture(name: &str) -> Plugin {
    engine().load(&format!("{name}.wasm"), &fixture_bytes(name)).expect("fixture loads")
}

pub fn builtin(name: &str) -> Plugin {
    let b = pikoci::builtin::lookup(&format!("pikoci://{name}")).expect("built-in exists");
    engine().load(&format!("pikoci://{name}"), b.bytes).expect("built-in loads")
}

pub fn grants(capabilities: &[String]) -> Capabilities {
    let mut caps = Capabilities { timeout: Duration::from_secs(20), ..Default::default() };
    caps.grant_all(capabilities.iter().map(String::as_str)).expect("valid capabilities");
    caps
}

pub fn log() -> (Arc<MemoryLog>, Arc<dyn pikoci::runtime::LogSink>) {
    let log = Arc::new(MemoryLog::default());
    (log.clone(), log)
}

/// A loopback HTTP server answering 204 to everything; counts the connections it accepted.
pub struct TinyHttpServer {
    pub port: u16,
    pub hits: Arc<std::sync::atomic::AtomicUsize>,
}

impl TinyHttpServer {
    pub fn start() -> Self {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        TinyHttpServer { port, hits }
    }
}
