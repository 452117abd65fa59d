//! The one wasmtime engine of a pikoci process, and loading components into it.

use super::bindings::v0_1 as wit;
use super::call_observer::CallObserver;
use super::compiled_cache::{CacheOutcome, CompiledCache};
use super::manifest::{ManifestError, PluginKind, PluginManifest};
use super::plugin::{KindPre, Plugin};
use super::sandbox::PluginState;
use pikoci_registry::Digest;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine};

/// How often the engine's epoch advances: the granularity at which a busy plugin yields so that
/// timeouts and cancellation can stop it.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{origin}: {source}")]
    Manifest { origin: String, source: ManifestError },
    #[error("{origin}: cannot compile the component: {message}")]
    Compile { origin: String, message: String },
    #[error("{origin}: the component needs imports pikoci does not provide: {message}")]
    Link { origin: String, message: String },
}

/// Shared by every plugin call of the process: compiled code, the linker with the host's
/// interfaces, the on-disk compiled cache and the epoch ticker.
pub struct PluginEngine {
    engine: Engine,
    linker: Linker<PluginState>,
    cache: CompiledCache,
    ticker_stop: Arc<AtomicBool>,
    observer: OnceLock<CallObserver>,
}

/// How long loading one component took, by phase, and whether the compiled cache served it.
#[derive(Debug, Clone, Copy)]
pub struct LoadTimings {
    pub compile_or_load: Duration,
    pub link: Duration,
    pub cache: CacheOutcome,
}

impl PluginEngine {
    /// An engine whose compiled components are kept under `cache_dir` (none: compile each time).
    pub fn new(cache_dir: Option<&Path>) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        if let Some(pool) = pooling_config() {
            config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&config).map_err(|e| anyhow::anyhow!("{e}"))?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| anyhow::anyhow!("{e}"))?;
        super::file_guard::add_to_linker(&mut linker).map_err(|e| anyhow::anyhow!("{e}"))?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(|e| anyhow::anyhow!("{e}"))?;
        wit::facilities::HostFacilities::add_to_linker::<PluginState, HasSelf<PluginState>>(&mut linker, |s| s).map_err(|e| anyhow::anyhow!("{e}"))?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = ticker_stop.clone();
            std::thread::Builder::new().name("pikoci-epoch".into()).spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })?;
        }

        Ok(PluginEngine { cache: CompiledCache::new(&engine, cache_dir), engine, linker, ticker_stop, observer: OnceLock::new() })
    }

    /// Report every call of the plugins loaded from now on to `observer` (set once; later calls
    /// of this are ignored).
    pub fn observe_calls(&self, observer: CallObserver) {
        let _ = self.observer.set(observer);
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Load a component; `origin` names where it came from in errors (a path, `pikoci://fs`...).
    pub fn load(&self, origin: &str, bytes: &[u8]) -> Result<Plugin, LoadError> {
        self.load_timed(origin, bytes).map(|(plugin, _)| plugin)
    }

    pub fn load_timed(&self, origin: &str, bytes: &[u8]) -> Result<(Plugin, LoadTimings), LoadError> {
        let fallback_name = origin.rsplit('/').next().unwrap_or(origin).trim_end_matches(".wasm");
        let manifest = PluginManifest::from_component(bytes, fallback_name).map_err(|source| LoadError::Manifest { origin: origin.to_string(), source })?;
        let digest = Digest::of(bytes);

        let started = std::time::Instant::now();
        let (component, cache) =
            self.cache.load(&self.engine, &digest, bytes).map_err(|e| LoadError::Compile { origin: origin.to_string(), message: format!("{e:#}") })?;
        let compile_or_load = started.elapsed();

        let started = std::time::Instant::now();
        let link_error = |e: wasmtime::Error| LoadError::Link { origin: origin.to_string(), message: format!("{e:#}") };
        let pre = self.linker.instantiate_pre(&component).map_err(link_error)?;
        let pre = match manifest.kind {
            PluginKind::ResourceType => KindPre::ResourceType(wit::resource_type::ResourceTypePluginPre::new(pre).map_err(link_error)?),
            PluginKind::Runner => KindPre::Runner(wit::runner::RunnerPluginPre::new(pre).map_err(link_error)?),
            PluginKind::ServiceType => KindPre::ServiceType(wit::service_type::ServiceTypePluginPre::new(pre).map_err(link_error)?),
            PluginKind::SecretType => KindPre::SecretType(wit::secret_type::SecretTypePluginPre::new(pre).map_err(link_error)?),
            PluginKind::NotificationType => KindPre::NotificationType(wit::notification_type::NotificationTypePluginPre::new(pre).map_err(link_error)?),
        };
        let link = started.elapsed();
        Ok((Plugin::new(manifest, digest, pre, self.engine.clone(), self.observer.get().cloned()), LoadTimings { compile_or_load, link, cache }))
    }
}

/// Plugin calls that may run at once in one process with the pooling allocator.
const DEFAULT_POOL_SLOTS: u32 = 128;

/// The pooling allocator hands out pre-reserved instance slots instead of mapping memory for
/// every call, which is most of what instantiation costs. Each slot reserves address space
/// (not memory), so the pool is sized to the calls a worker runs at once, not to the maximum:
/// `PIKOCI_PLUGIN_SLOTS` (0 turns pooling off, e.g. where address space is scarce).
fn pooling_config() -> Option<wasmtime::PoolingAllocationConfig> {
    let slots = std::env::var("PIKOCI_PLUGIN_SLOTS").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_POOL_SLOTS);
    if slots == 0 {
        return None;
    }
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    // A Rust plugin has two core memories (its own and the WASI adapter's) and a handful of
    // core instances; Python and JavaScript plugins more.
    pool.total_component_instances(slots)
        .total_core_instances(slots * 16)
        .total_memories(slots * 4)
        .total_tables(slots * 4)
        .total_stacks(slots)
        .max_memory_size(4 << 30);
    Some(pool)
}

impl Drop for PluginEngine {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}
