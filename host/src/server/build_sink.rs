//! A build's events, written to the store as they happen.
//!
//! The executor emits events synchronously from many tasks; they go through a channel to one
//! writer task that appends whatever has accumulated in one transaction, so a chatty build costs
//! a handful of commits per second rather than one per line, and nothing is lost when the build
//! ends (the writer drains the channel before it stops).

use crate::executor::{BuildEvent, BuildEventSink, Outcome};
use crate::runtime::LogOrigin;
use pikoci_store::{BuildId, LogKind, NewLogLine, Store};
use std::time::SystemTime;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub struct StoreEvents {
    sender: mpsc::UnboundedSender<NewLogLine>,
}

/// Waits for the last events of a build to be written.
pub struct EventWriter(JoinHandle<()>);

impl EventWriter {
    pub async fn finish(self) {
        let _ = self.0.await;
    }
}

fn millis(at: SystemTime) -> i64 {
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
        let writer = tokio::spawn(async move {
            while let Some(first) = receiver.recv().await {
                let mut batch = vec![first];
                while let Ok(more) = receiver.try_recv() {
                    batch.push(more);
                    if batch.len() >= 500 {
                        break;
                    }
                }
                if let Err(e) = store.append_log(build, &batch).await {
                    tracing::error!(build = %build, error = %e, "cannot store build log lines");
                }
            }
        });
        (StoreEvents { sender }, EventWriter(writer))
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
                };
                let text = why.unwrap_or_else(|| format!("{:.3}s", duration.as_secs_f64()));
                NewLogLine { kind: LogKind::StepFinished, step, origin: status.into(), text, at: millis(SystemTime::now()) }
            }
        };
        let _ = self.sender.send(line);
    }
}
