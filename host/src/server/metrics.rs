//! Prometheus metrics at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: String,
}

/// A plugin call: its plugin kind (`resource-type`...), export (`check`...) and outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub kind: String,
    pub function: String,
    pub outcome: String,
}

pub struct Metrics {
    registry: Registry,
    pub builds: Family<StatusLabel, Counter>,
    pub build_duration: Histogram,
    pub check_duration: Histogram,
    pub check_delay: Histogram,
    pub store_statements: Counter,
    pub plugin_calls: Family<CallLabels, Histogram>,
    pub queue_depth: Gauge,
    pub running_builds: Gauge,
    pub workers: Family<StatusLabel, Gauge>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("pikoci");
        let builds = Family::<StatusLabel, Counter>::default();
        registry.register("builds", "Builds finished, by status", builds.clone());
        let build_duration = Histogram::new(exponential_buckets(0.05, 2.0, 16));
        registry.register("build_duration_seconds", "How long builds took", build_duration.clone());
        let check_duration = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register("check_duration_seconds", "How long resource checks took", check_duration.clone());
        let check_delay = Histogram::new([0.001, 0.01, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]);
        registry.register("check_delay_seconds", "How long after it was due each check started", check_delay.clone());
        let store_statements = Counter::default();
        registry.register("store_statements", "SQL statements the server issued to its database", store_statements.clone());
        let plugin_calls = Family::<CallLabels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.0001, 2.0, 20)));
        registry.register("plugin_call_duration_seconds", "Latency of plugin calls, by plugin kind, export and outcome", plugin_calls.clone());
        let queue_depth = Gauge::default();
        registry.register("build_queue_depth", "Builds waiting for a worker", queue_depth.clone());
        let running_builds = Gauge::default();
        registry.register("running_builds", "Builds running now", running_builds.clone());
        let workers = Family::<StatusLabel, Gauge>::default();
        registry.register("workers", "Workers, by status", workers.clone());
        Metrics { registry, builds, build_duration, check_duration, check_delay, store_statements, plugin_calls, queue_depth, running_builds, workers }
    }

    /// Feeds `plugin_call_duration_seconds` from a plugin engine.
    pub fn call_observer(self: &std::sync::Arc<Self>) -> crate::runtime::CallObserver {
        let calls = self.plugin_calls.clone();
        std::sync::Arc::new(move |call: &crate::runtime::CallRecord<'_>| {
            let labels = CallLabels {
                kind: call.kind.interface().to_string(),
                function: call.function.to_string(),
                outcome: if call.succeeded { "succeeded" } else { "failed" }.to_string(),
            };
            calls.get_or_create(&labels).observe(call.elapsed.as_secs_f64());
        })
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
