//! The sandbox of one plugin call: the store data built from a [`Capabilities`] grant.
//!
//! Everything a plugin can reach goes through here: WASI (only the granted directories, at their
//! own absolute paths; sockets and HTTP only to granted hosts; only granted environment variables),
//! the `process` interface (only granted programs) and the `log` interface. What the plugin was
//! refused is written down in [`CallReport`] so a failed call can say what it tried.

use super::capability::{AllowedHosts, Capabilities};
use super::log_sink::{LogOrigin, LogSink, PluginOutput};
use std::sync::{Arc, Mutex};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

/// What happened in a call that the call's result alone does not say.
#[derive(Debug, Default)]
pub struct CallReport {
    /// Each capability the plugin asked for and was refused, as "read /etc/passwd".
    pub denials: Vec<String>,
    /// Set when a memory grew past the limit: the size it asked for.
    pub memory_refused: Option<usize>,
    /// What the host would not do although it was granted, and why ("open `p`: it is a FIFO...").
    pub refusals: Vec<String>,
}

pub type SharedReport = Arc<Mutex<CallReport>>;

pub(crate) fn record_denial(report: &SharedReport, what: String) {
    tracing::debug!(denied = %what, "plugin capability refused");
    report.lock().unwrap().denials.push(what);
}

pub(crate) fn record_refusal(report: &SharedReport, what: String) {
    tracing::debug!(refused = %what, "plugin operation refused");
    report.lock().unwrap().refusals.push(what);
}

/// The `T` of `Store<T>` for every plugin call.
pub struct PluginState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    http_guard: HttpGuard,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) grants: Arc<Capabilities>,
    pub(crate) log: Arc<dyn LogSink>,
    pub(crate) report: SharedReport,
    /// Where the programs this call detaches go; `None` refuses detaching.
    pub(crate) background: Option<crate::runtime::host_process::BackgroundProcesses>,
    /// The work directory of the build this call belongs to, given to the programs it starts.
    pub(crate) build_dir: Option<std::path::PathBuf>,
}

impl PluginState {
    pub fn new(grants: Arc<Capabilities>, log: Arc<dyn LogSink>, report: SharedReport) -> Result<Self, String> {
        let mut wasi = WasiCtxBuilder::new();
        // Plugins touch small local files (a version file, a manifest); a trip through Tokio's
        // blocking pool for each operation costs more than the operation. Must precede the
        // preopens, which capture it. What could block for good there (a FIFO, a device) is
        // refused by `file_guard` before it is opened.
        wasi.allow_blocking_current_thread(true);
        wasi.stdout(PluginOutput { sink: log.clone(), origin: LogOrigin::Stdout });
        wasi.stderr(PluginOutput { sink: log.clone(), origin: LogOrigin::Stderr });
        wasi.envs(&grants.env);
        for dir in &grants.directories {
            let perms = if dir.allows_write() { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
            // A grant naming a file opens its directory: WASI preopens directories only.
            let path = if dir.path.is_file() { dir.path.parent().unwrap_or(&dir.path) } else { &dir.path };
            let guest_path = path.to_string_lossy();
            wasi.preopened_dir(path, guest_path.as_ref(), perms).map_err(|e| format!("cannot grant {dir}: {e}"))?;
        }
        if !grants.hosts.is_empty() {
            wasi.allow_tcp(true).allow_udp(false).allow_ip_name_lookup(true);
            let hosts = grants.hosts.clone();
            let report = report.clone();
            wasi.socket_addr_check(move |addr, _use| {
                let hosts = hosts.clone();
                let report = report.clone();
                Box::pin(async move {
                    let allowed = hosts.allows_socket(addr).await;
                    if !allowed {
                        record_denial(&report, format!("connect to {addr}"));
                    }
                    allowed
                })
            });
        } else {
            wasi.allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
        }
        Ok(PluginState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            http_guard: HttpGuard { hosts: grants.hosts.clone(), report: report.clone() },
            table: ResourceTable::new(),
            limiter: MemoryLimiter { limit: grants.memory_limit as usize, report: report.clone() },
            grants,
            log,
            report,
            background: crate::runtime::host_process::current_detach_scope(),
            build_dir: crate::runtime::host_process::current_build_dir(),
        })
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for PluginState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.http_guard }
    }
}

/// Refuses outgoing HTTP requests to hosts that were not granted.
struct HttpGuard {
    hosts: AllowedHosts,
    report: SharedReport,
}

type ResponseFuture = Box<
    dyn std::future::Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<wasmtime_wasi_http::WasiBody>,
                Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for HttpGuard {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> ResponseFuture {
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("https").to_string();
        let host = uri.host().unwrap_or_default().to_string();
        let port = uri.port_u16().unwrap_or(if scheme == "http" { 80 } else { 443 });
        if !self.hosts.allows_url(&scheme, &host, port) {
            record_denial(&self.report, format!("send an HTTP request to {scheme}://{host}:{port}"));
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as Box<dyn std::future::Future<Output = _> + Send>))
        })
    }
}

/// Caps each linear memory and table of the plugin, and remembers a refusal so the error can
/// say "memory limit" rather than a bare trap.
pub(crate) struct MemoryLimiter {
    limit: usize,
    report: SharedReport,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.report.lock().unwrap().memory_refused = Some(desired);
            return Err(wasmtime::Error::msg("memory limit exceeded"));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}
