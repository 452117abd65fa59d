//! The build log: every step's lines, with the step, the stream and the time, secrets redacted.

use super::outcome::Outcome;
use super::redact::Redactor;
use crate::runtime::{LogBacklog, LogLine, LogOrigin, LogSink};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEvent {
    StepStarted { step: String, at: SystemTime },
    Line { step: String, origin: LogOrigin, text: String, at: SystemTime },
    StepFinished { step: String, outcome: Outcome, duration: Duration },
}

/// Receives a build's events as they happen: the terminal for `pikoci run`, storage on a server.
pub trait BuildEventSink: Send + Sync {
    fn event(&self, event: BuildEvent);

    /// See [`LogSink::backlog`]: the events this sink holds unwritten, for producers to wait on.
    fn backlog(&self) -> Option<Arc<LogBacklog>> {
        None
    }
}

/// Keeps events in memory, for tests.
#[derive(Default, Clone)]
pub struct MemoryEvents(Arc<Mutex<Vec<BuildEvent>>>);

impl MemoryEvents {
    pub fn events(&self) -> Vec<BuildEvent> {
        self.0.lock().unwrap().clone()
    }

    /// Every log line as `step | text`.
    pub fn text(&self) -> String {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                BuildEvent::Line { step, text, .. } => Some(format!("{step} | {text}\n")),
                _ => None,
            })
            .collect()
    }
}

impl BuildEventSink for MemoryEvents {
    fn event(&self, event: BuildEvent) {
        self.0.lock().unwrap().push(event);
    }
}

/// A build's log: hands out per-step sinks that redact before anything leaves.
#[derive(Clone)]
pub struct BuildLog {
    sink: Arc<dyn BuildEventSink>,
    redactor: Arc<Redactor>,
}

impl BuildLog {
    pub fn new(sink: Arc<dyn BuildEventSink>) -> Self {
        BuildLog { sink, redactor: Arc::new(Redactor::new()) }
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    pub fn step(&self, step: &str) -> Arc<dyn LogSink> {
        Arc::new(StepLog { step: step.to_string(), log: self.clone() })
    }

    pub fn started(&self, step: &str) {
        self.sink.event(BuildEvent::StepStarted { step: step.to_string(), at: SystemTime::now() });
    }

    pub fn finished(&self, step: &str, outcome: &Outcome, duration: Duration) {
        let outcome = match outcome {
            Outcome::Failed(m) => Outcome::Failed(self.redactor.redact(m)),
            Outcome::Errored(m) => Outcome::Errored(self.redactor.redact(m)),
            other => other.clone(),
        };
        self.sink.event(BuildEvent::StepFinished { step: step.to_string(), outcome, duration });
    }

    /// A line from pikoci itself about a step (attempt markers, timeouts, service states).
    pub fn note(&self, step: &str, text: impl Into<String>) {
        self.step(step).line(LogLine { origin: LogOrigin::Info, text: text.into() });
    }
}

struct StepLog {
    step: String,
    log: BuildLog,
}

impl LogSink for StepLog {
    fn line(&self, line: LogLine) {
        let text = self.log.redactor.redact(&line.text);
        self.log.sink.event(BuildEvent::Line { step: self.step.clone(), origin: line.origin, text, at: SystemTime::now() });
    }

    fn backlog(&self) -> Option<Arc<LogBacklog>> {
        self.log.sink.backlog()
    }
}

/// Prints a build as it runs: `HH:MM:SS step | line`, a header and a result line per step.
/// ANSI colour codes in the output pass through untouched.
pub struct TerminalEvents;

fn clock(at: SystemTime) -> String {
    let secs = at.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    format!("{:02}:{:02}:{:02}", secs / 3600 % 24, secs / 60 % 60, secs % 60)
}

impl BuildEventSink for TerminalEvents {
    fn event(&self, event: BuildEvent) {
        match event {
            BuildEvent::StepStarted { step, at } => eprintln!("{} ▶ {step}", clock(at)),
            BuildEvent::Line { step, origin, text, at } => {
                let marker = match origin {
                    LogOrigin::Stderr | LogOrigin::Error => "!",
                    LogOrigin::Warn => "?",
                    _ => "|",
                };
                println!("{} {step} {marker} {text}", clock(at));
            }
            BuildEvent::StepFinished { step, outcome, duration } => {
                let secs = duration.as_secs_f64();
                match outcome {
                    Outcome::Succeeded => eprintln!("{} ✔ {step} succeeded in {secs:.2}s", clock(SystemTime::now())),
                    Outcome::Failed(why) => eprintln!("{} ✘ {step} failed in {secs:.2}s: {why}", clock(SystemTime::now())),
                    Outcome::Errored(why) => eprintln!("{} ✘ {step} errored in {secs:.2}s: {why}", clock(SystemTime::now())),
                    Outcome::Aborted => eprintln!("{} ■ {step} aborted after {secs:.2}s", clock(SystemTime::now())),
                    Outcome::Warning(why) => eprintln!("{} ⚠ {step} failed, allowed, in {secs:.2}s: {why}", clock(SystemTime::now())),
                }
            }
        }
    }
}
