//! A build's events, written to the store as they happen.
//!
//! The executor emits events synchronously from many tasks; they go through a channel to one
//! writer task that appends whatever has accumulated in one transaction, so a chatty build costs
//! a handful of commits per second rather than one per line, and nothing is lost when the build
//! ends (the writer drains the channel before it stops). The lines held unwritten are bounded:
//! past [`BACKLOG`], producers that can wait (a task's output) wait for the writer, so a build
//! printing millions of lines runs at the database's pace in constant memory.

use crate::executor::{BuildEvent, BuildEventSink, Outcome};
use crate::runtime::{LogBacklog, LogOrigin};
use pikoci_store::{BuildId, LogKind, NewLogLine, Store};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Lines held unwritten before producers wait; a transaction takes at most [`BATCH`].
const BACKLOG: usize = 20_000;
const BATCH: usize = 5_000;

pub struct StoreEvents {
    sender: mpsc::UnboundedSender<NewLogLine>,
    backlog: Arc<LogBacklog>,
}

/// Waits for the last events of a build to be written.
pub struct EventWriter(JoinHandle<Option<String>>);

impl EventWriter {
    /// Once every event was handled: why some could not be stored, if any could not. A build
    /// whose log is incomplete is not the build its status would claim.
    pub async fn finish(self) -> Option<String> {
        self.0.await.unwrap_or_else(|e| Some(format!("the log writer stopped: {e}")))
    }
}

pub fn millis(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub fn origin_name(origin: LogOrigin) -> &'static str {
    match origin {
        LogOrigin::Stdout => "stdout",
        LogOrigin::Stderr => "stderr",
        LogOrigin::Debug => "debug",
        LogOrigin::Info => "info",
        LogOrigin::Warn => "warn",
        LogOrigin::Error => "error",
    }
}

impl StoreEvents {
    /// A sink for `build`, and the writer to await once the build is over (after dropping the sink).
    pub fn new(store: Store, build: BuildId) -> (Self, EventWriter) {
        let (sender, mut receiver) = mpsc::unbounded_channel::<NewLogLine>();
        let backlog = LogBacklog::new(BACKLOG);
        let written = backlog.clone();
        let writer = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            let (mut lost, mut first_error) = (0, None);
            while receiver.recv_many(&mut batch, BATCH).await > 0 {
                if let Err(e) = store.append_log(build, &batch).await {
                    tracing::error!(build = %build, error = %e, "cannot store build log lines");
                    lost += batch.len();
                    first_error.get_or_insert(e.to_string());
                }
                written.written(batch.len());
                batch.clear();
            }
            first_error.map(|e| format!("{lost} lines of its log could not be stored: {e}"))
        });
        (StoreEvents { sender, backlog }, EventWriter(writer))
    }
}

impl BuildEventSink for StoreEvents {
    fn event(&self, event: BuildEvent) {
        let line = match event {
            BuildEvent::StepStarted { step, at } => NewLogLine { kind: LogKind::StepStarted, step, origin: String::new(), text: String::new(), at: millis(at) },
            BuildEvent::Line { step, origin, text, at } => NewLogLine { kind: LogKind::Line, step, origin: origin_name(origin).into(), text, at: millis(at) },
            BuildEvent::StepFinished { step, outcome, duration } => {
                let (status, why) = match outcome {
                    Outcome::Succeeded => ("succeeded", None),
                    Outcome::Failed(why) => ("failed", Some(why)),
                    Outcome::Errored(why) => ("errored", Some(why)),
                    Outcome::Aborted => ("aborted", None),
                    Outcome::Warning(why) => ("warning", Some(why)),
                };
                let text = why.unwrap_or_else(|| format!("{:.3}s", duration.as_secs_f64()));
                NewLogLine { kind: LogKind::StepFinished, step, origin: status.into(), text, at: millis(SystemTime::now()) }
            }
        };
        self.backlog.taken(1);
        let _ = self.sender.send(line);
    }

    fn backlog(&self) -> Option<Arc<LogBacklog>> {
        Some(self.backlog.clone())
    }
}
