//! Where a plugin's output goes: the log of the step that called it.
//!
//! Plugins write through three paths (the `log` interface, their own stdout/stderr, and the
//! output of programs they start with `output.log`); all of them arrive here one line at a time.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// Where a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOrigin {
    Stdout,
    Stderr,
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub origin: LogOrigin,
    pub text: String,
}

/// Receives a plugin call's log lines as they are produced.
pub trait LogSink: Send + Sync {
    fn line(&self, line: LogLine);

    /// Lines taken but not yet written, where the sink writes behind the producer: a producer
    /// that can wait (a process's output pump, a plugin's stdout) waits for room, so a chatty
    /// build slows to the writer's pace instead of filling the host's memory.
    fn backlog(&self) -> Option<Arc<LogBacklog>> {
        None
    }
}

/// How many lines a log writer holds that it has not written yet, against a bound.
pub struct LogBacklog {
    held: AtomicUsize,
    limit: usize,
    drained: tokio::sync::Notify,
}

impl LogBacklog {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(LogBacklog { held: AtomicUsize::new(0), limit, drained: tokio::sync::Notify::new() })
    }

    pub fn taken(&self, lines: usize) {
        self.held.fetch_add(lines, Ordering::AcqRel);
    }

    pub fn written(&self, lines: usize) {
        self.held.fetch_sub(lines, Ordering::AcqRel);
        self.drained.notify_waiters();
    }

    pub fn is_full(&self) -> bool {
        self.held.load(Ordering::Acquire) >= self.limit
    }

    /// Returns once the writer holds fewer lines than its limit.
    pub async fn room(self: Arc<Self>) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            // Registered before looking, so a drain between the look and the wait is not missed.
            drained.as_mut().enable();
            if !self.is_full() {
                return;
            }
            drained.await;
        }
    }
}

/// Keeps every line in memory; for tests and for callers that show the log afterwards.
#[derive(Default, Clone)]
pub struct MemoryLog(Arc<Mutex<Vec<LogLine>>>);

impl MemoryLog {
    pub fn lines(&self) -> Vec<LogLine> {
        self.0.lock().unwrap().clone()
    }

    pub fn text(&self) -> String {
        self.lines().iter().map(|l| format!("{}\n", l.text)).collect()
    }
}

impl LogSink for MemoryLog {
    fn line(&self, line: LogLine) {
        self.0.lock().unwrap().push(line);
    }
}

/// Writes lines to the terminal: output on stdout, the rest on stderr.
pub struct TerminalLog;

impl LogSink for TerminalLog {
    fn line(&self, line: LogLine) {
        match line.origin {
            LogOrigin::Stdout | LogOrigin::Info => println!("{}", line.text),
            LogOrigin::Stderr => eprintln!("{}", line.text),
            LogOrigin::Debug => eprintln!("debug: {}", line.text),
            LogOrigin::Warn => eprintln!("warning: {}", line.text),
            LogOrigin::Error => eprintln!("error: {}", line.text),
        }
    }
}

/// Longest line kept whole; a longer one is cut into pieces so a plugin that never writes a
/// newline cannot grow the host's memory without bound.
const MAX_LINE: usize = 64 * 1024;

/// Splits a byte stream into lines and hands each to a sink; what is left without a newline is
/// emitted when the writer is shut down or dropped.
pub struct LineWriter {
    sink: Arc<dyn LogSink>,
    origin: LogOrigin,
    pending: Vec<u8>,
    backlog: Option<Arc<LogBacklog>>,
    /// While the sink's backlog is full: the wait for room that `poll_write` is in.
    waiting: Mutex<Option<Pin<Box<dyn Future<Output = ()> + Send>>>>,
}

impl LineWriter {
    pub fn new(sink: Arc<dyn LogSink>, origin: LogOrigin) -> Self {
        let backlog = sink.backlog();
        LineWriter { sink, origin, pending: Vec::new(), backlog, waiting: Mutex::new(None) }
    }

    /// Returns once the sink has room for more lines (at once for a sink that writes as it takes).
    pub async fn room(&self) {
        if let Some(backlog) = &self.backlog {
            backlog.clone().room().await;
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        // Lines are emitted from where they lie and the buffer shifted once: a chunk of many
        // short lines costs its length, not its length times its lines.
        let mut start = 0;
        while let Some(end) = self.pending[start..].iter().position(|&b| b == b'\n') {
            self.emit(&self.pending[start..start + end]);
            start += end + 1;
        }
        self.pending.drain(..start);
        while self.pending.len() > MAX_LINE {
            let rest = self.pending.split_off(MAX_LINE);
            let line = std::mem::replace(&mut self.pending, rest);
            self.emit(&line);
        }
    }

    pub fn finish(&mut self) {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.emit(&line);
        }
    }

    fn emit(&self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.sink.line(LogLine { origin: self.origin, text: String::from_utf8_lossy(line).into_owned() });
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        self.finish();
    }
}

impl tokio::io::AsyncWrite for LineWriter {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        if let Some(backlog) = this.backlog.as_ref().filter(|b| b.is_full()) {
            let waiting = this.waiting.get_mut().unwrap();
            let wait = waiting.get_or_insert_with(|| Box::pin(backlog.clone().room()));
            if wait.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            *waiting = None;
        }
        this.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.get_mut().finish();
        Poll::Ready(Ok(()))
    }
}

/// A plugin's stdout or stderr, as wasmtime-wasi asks for it.
#[derive(Clone)]
pub(crate) struct PluginOutput {
    pub sink: Arc<dyn LogSink>,
    pub origin: LogOrigin,
}

impl wasmtime_wasi::cli::IsTerminal for PluginOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for PluginOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(LineWriter::new(self.sink.clone(), self.origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_across_writes_and_flushes_the_rest() {
        let log = MemoryLog::default();
        let mut w = LineWriter::new(Arc::new(log.clone()), LogOrigin::Stdout);
        w.push(b"hel");
        w.push(b"lo\r\nwor");
        w.push(b"ld\n\npartial");
        drop(w);
        let texts: Vec<_> = log.lines().into_iter().map(|l| l.text).collect();
        assert_eq!(texts, ["hello", "world", "", "partial"]);
    }

    #[test]
    fn endless_lines_are_cut() {
        let log = MemoryLog::default();
        let mut w = LineWriter::new(Arc::new(log.clone()), LogOrigin::Stdout);
        w.push(&vec![b'x'; MAX_LINE * 2 + 10]);
        assert_eq!(log.lines().len(), 2);
    }
}
