//! The scheduler: checks each resource when it is due and looks at a job again when something it
//! depends on changed, creating the builds that follow.
//!
//! Nothing here polls. Resources wait in a due-time queue and the loop sleeps until the first is
//! due or an event arrives: a pipeline set, paused or removed, a webhook or manual check, a pin, a
//! job unpaused, a build ended. A job is looked at only when such an event concerns it, so an idle
//! server reads nothing from its store however many pipelines it holds. What the scheduler keeps
//! in memory (when each resource is due, its failures, its newest version) is rebuilt from the
//! store on restart: the store stays the source of truth.

mod checks;
mod jobs;

pub use jobs::choose_inputs;

use super::active::ActivePipeline;
use super::state::AppState;
use crate::runtime::Version;
use checks::CheckResult;
use pikoci_store::{CheckRecord, JobId, PipelineId, ResourceId};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use checks::{CheckLimits, TRIGGER_EVENT_FIELD};

/// Something the scheduler should act on.
enum Message {
    /// Set, restored, paused, unpaused or removed: its resources and jobs are looked at again.
    PipelineChanged(PipelineId),
    /// A webhook or a user asks for a check now.
    CheckNow(ResourceId),
    /// Pinned or unpinned: the jobs that get it are looked at again.
    ResourceChanged(ResourceId),
    /// Unpaused: looked at again.
    JobChanged(JobId),
    /// Jobs that take versions through it, and the job itself, are looked at again.
    BuildEnded(JobId),
    /// A check this loop started came to an end.
    Checked(ResourceId, CheckResult),
}

/// How the rest of the server tells the scheduler what happened. Cheap to clone; sending never
/// blocks and is never lost while the scheduler runs (events queue until it takes them).
#[derive(Clone)]
pub struct Scheduler {
    sender: mpsc::UnboundedSender<Message>,
    inbox: Arc<Mutex<Option<mpsc::UnboundedReceiver<Message>>>>,
}

impl Default for Scheduler {
    fn default() -> Self {
        let (sender, inbox) = mpsc::unbounded_channel();
        Scheduler { sender, inbox: Arc::new(Mutex::new(Some(inbox))) }
    }
}

impl Scheduler {
    pub fn pipeline_changed(&self, pipeline: PipelineId) {
        self.send(Message::PipelineChanged(pipeline));
    }

    pub fn check_now(&self, resource: ResourceId) {
        self.send(Message::CheckNow(resource));
    }

    pub fn resource_changed(&self, resource: ResourceId) {
        self.send(Message::ResourceChanged(resource));
    }

    pub fn job_changed(&self, job: JobId) {
        self.send(Message::JobChanged(job));
    }

    pub fn build_ended(&self, job: JobId) {
        self.send(Message::BuildEnded(job));
    }

    fn send(&self, message: Message) {
        // Fails only once the scheduler has stopped, at shutdown, when nothing is to be scheduled.
        let _ = self.sender.send(message);
    }
}

/// Check results are written in batches: one transaction for many checks, at most this late.
const RECORD_EVERY: Duration = Duration::from_millis(250);
const RECORD_BATCH: usize = 1000;

/// What the scheduler knows of one resource.
struct Watched {
    pipeline: Arc<ActivePipeline>,
    /// Its place in `pipeline.compiled.resources`.
    index: usize,
    /// Its compiled definition as JSON, to see that a new version of the pipeline changed it.
    fingerprint: String,
    /// When it is due; in the queue unless it is running or its pipeline is paused.
    next: Instant,
    queued: bool,
    running: bool,
    /// Asked for while it ran: check again as soon as it ends.
    again: bool,
    failures: u32,
    /// The newest stored version, once a check has read or found it.
    latest: Option<Option<Version>>,
}

impl Watched {
    fn definition(&self) -> &crate::planner::CompiledResource {
        &self.pipeline.compiled.resources[self.index]
    }
}

/// Which jobs to look at again when something happens, per pipeline.
#[derive(Default)]
struct Dependents {
    /// Jobs with a triggering get of the resource.
    triggered_by: HashMap<ResourceId, Vec<JobId>>,
    /// Jobs with any get of the resource (a pin changes what they would use).
    reading: HashMap<ResourceId, Vec<JobId>>,
    /// Jobs with a get that lists the job in `passed`, and the job itself.
    after: HashMap<JobId, Vec<JobId>>,
}

impl Dependents {
    fn of(pipeline: &ActivePipeline) -> Self {
        let mut d = Dependents::default();
        for job in &pipeline.compiled.jobs {
            let Some(&id) = pipeline.jobs.get(&job.name) else { continue };
            d.after.entry(id).or_default().push(id);
            for get in &job.gets {
                let Some(&resource) = pipeline.resources.get(&get.resource) else { continue };
                d.reading.entry(resource).or_default().push(id);
                if get.trigger {
                    d.triggered_by.entry(resource).or_default().push(id);
                }
                for upstream in get.passed.iter().filter_map(|name| pipeline.jobs.get(name)) {
                    d.after.entry(*upstream).or_default().push(id);
                }
            }
        }
        d
    }
}

struct Loop {
    state: AppState,
    inbox: mpsc::UnboundedReceiver<Message>,
    watched: HashMap<ResourceId, Watched>,
    queue: BTreeSet<(Instant, ResourceId)>,
    paused: HashSet<PipelineId>,
    dependents: HashMap<PipelineId, Dependents>,
    /// Each job's pipeline, for events that name only the job.
    job_pipeline: HashMap<JobId, PipelineId>,
    slots: Arc<tokio::sync::Semaphore>,
    jobs: jobs::Considerer,
    records: Vec<(ResourceId, CheckRecord)>,
    first_record_at: Option<Instant>,
    recording: Option<JoinHandle<()>>,
}

/// Run the scheduler until shutdown. Its last check results are written before it returns.
pub async fn run(state: AppState) {
    let Some(inbox) = state.scheduler.inbox.lock().unwrap().take() else {
        tracing::error!("the scheduler was started twice");
        return;
    };
    let considerer = jobs::Considerer::spawn(state.clone());
    let mut scheduler = Loop {
        slots: Arc::new(tokio::sync::Semaphore::new(state.check_limits.concurrency.max(1))),
        state,
        inbox,
        watched: HashMap::new(),
        queue: BTreeSet::new(),
        paused: HashSet::new(),
        dependents: HashMap::new(),
        job_pipeline: HashMap::new(),
        jobs: considerer,
        records: Vec::new(),
        first_record_at: None,
        recording: None,
    };
    for pipeline in scheduler.state.pipelines.all() {
        scheduler.pipeline_changed(pipeline.id).await;
    }
    scheduler.run().await;
}

/// Sleep until `at`, or forever.
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Wait for a running task, or forever when there is none.
async fn finished(task: &mut Option<JoinHandle<()>>) {
    match task {
        Some(task) => {
            let _ = task.await;
        }
        None => std::future::pending().await,
    }
}

impl Loop {
    async fn run(&mut self) {
        let shutdown = self.state.shutdown.clone();
        loop {
            // What is due already starts now: the timer's millisecond ticks would add up to a
            // millisecond to each check asked for (a webhook's, a user's).
            self.start_due_checks();
            let next_check = self.queue.first().map(|(at, _)| *at);
            let record_at = match (&self.recording, self.first_record_at) {
                (None, Some(first)) if self.records.len() >= RECORD_BATCH => Some(first),
                (None, Some(first)) => Some(first + RECORD_EVERY),
                _ => None,
            };
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                message = self.inbox.recv() => match message {
                    Some(message) => self.handle(message).await,
                    None => break,
                },
                _ = finished(&mut self.recording) => self.recording = None,
                _ = until(record_at) => self.record(),
                _ = until(next_check) => self.start_due_checks(),
            }
        }
        // Checks still running are abandoned; what ended is written before the store closes.
        if let Some(task) = self.recording.take() {
            let _ = task.await;
        }
        self.record();
        if let Some(task) = self.recording.take() {
            let _ = task.await;
        }
    }

    async fn handle(&mut self, message: Message) {
        match message {
            Message::PipelineChanged(id) => self.pipeline_changed(id).await,
            Message::CheckNow(id) => self.check_now(id),
            Message::ResourceChanged(id) => {
                if let Some(w) = self.watched.get(&id) {
                    let jobs = self.dependents.get(&w.pipeline.id).and_then(|d| d.reading.get(&id)).cloned().unwrap_or_default();
                    self.consider(w.pipeline.id, jobs);
                }
            }
            Message::JobChanged(job) => {
                if let Some(&pipeline) = self.job_pipeline.get(&job) {
                    self.consider(pipeline, vec![job]);
                }
            }
            Message::BuildEnded(job) => {
                if let Some(&pipeline) = self.job_pipeline.get(&job) {
                    let jobs = self.dependents.get(&pipeline).and_then(|d| d.after.get(&job)).cloned().unwrap_or_default();
                    self.consider(pipeline, jobs);
                }
            }
            Message::Checked(id, result) => self.checked(id, result),
        }
    }

    fn consider(&self, pipeline: PipelineId, jobs: Vec<JobId>) {
        if !self.paused.contains(&pipeline) {
            self.jobs.consider(pipeline, jobs);
        }
    }

    /// Bring what is known of the pipeline in line with what runs now: new resources are
    /// scheduled (when the store says, after a restart; else at once), removed ones forgotten
    /// (never checked again), changed ones checked at once; every job is looked at.
    async fn pipeline_changed(&mut self, id: PipelineId) {
        let active = self.state.pipelines.get(id);
        let keep: HashSet<ResourceId> = active.iter().flat_map(|p| p.resources.values().copied()).collect();
        let gone: Vec<ResourceId> = self.watched.iter().filter(|(rid, w)| w.pipeline.id == id && !keep.contains(rid)).map(|(rid, _)| *rid).collect();
        for rid in gone {
            self.unqueue(rid);
            self.watched.remove(&rid);
        }
        self.job_pipeline.retain(|_, p| *p != id);
        self.dependents.remove(&id);
        let Some(active) = active else {
            self.paused.remove(&id);
            return;
        };
        let paused = match self.state.store.pipeline(id).await {
            Ok(Some(p)) => p.paused,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(pipeline = %active.compiled.name, error = %e, "cannot read whether the pipeline is paused; taking it as running");
                false
            }
        };
        if paused {
            self.paused.insert(id);
        } else {
            self.paused.remove(&id);
        }
        // When each resource new to this process is due, as the last server left it.
        let stored_next: HashMap<ResourceId, Option<i64>> = if active.resources.values().any(|rid| !self.watched.contains_key(rid)) {
            match self.state.store.resources(id).await {
                Ok(rows) => rows.into_iter().map(|r| (r.id, r.next_check_at)).collect(),
                Err(e) => {
                    tracing::warn!(pipeline = %active.compiled.name, error = %e, "cannot read when its resources are due; checking them now");
                    HashMap::new()
                }
            }
        } else {
            HashMap::new()
        };
        let now = Instant::now();
        let now_millis = pikoci_store::now_millis();
        for (index, resource) in active.compiled.resources.iter().enumerate() {
            let Some(&rid) = active.resources.get(&resource.name) else { continue };
            let fingerprint = serde_json::to_string(resource).unwrap_or_default();
            match self.watched.get_mut(&rid) {
                Some(w) => {
                    let changed = w.fingerprint != fingerprint;
                    w.pipeline = active.clone();
                    w.index = index;
                    w.fingerprint = fingerprint;
                    if changed && !w.running {
                        let next = w.next.min(now);
                        self.unqueue(rid);
                        self.watched.get_mut(&rid).unwrap().next = next;
                    }
                }
                None => {
                    let next = match stored_next.get(&rid).copied().flatten() {
                        Some(at) => now + Duration::from_millis((at - now_millis).max(0) as u64),
                        None => now,
                    };
                    let w =
                        Watched { pipeline: active.clone(), index, fingerprint, next, queued: false, running: false, again: false, failures: 0, latest: None };
                    self.watched.insert(rid, w);
                }
            }
            if paused {
                self.unqueue(rid);
            } else {
                self.enqueue(rid);
            }
        }
        for job in active.jobs.values() {
            self.job_pipeline.insert(*job, id);
        }
        self.dependents.insert(id, Dependents::of(&active));
        self.consider(id, active.jobs.values().copied().collect());
    }

    fn check_now(&mut self, id: ResourceId) {
        let Some(w) = self.watched.get_mut(&id) else { return };
        if w.running {
            // A webhook during a check may announce what that check already missed.
            w.again = true;
            return;
        }
        self.unqueue(id);
        let w = self.watched.get_mut(&id).unwrap();
        w.next = Instant::now();
        if !self.paused.contains(&w.pipeline.id) {
            self.enqueue(id);
        }
    }

    fn enqueue(&mut self, id: ResourceId) {
        let Some(w) = self.watched.get_mut(&id) else { return };
        if !w.queued && !w.running {
            w.queued = true;
            self.queue.insert((w.next, id));
        }
    }

    fn unqueue(&mut self, id: ResourceId) {
        let Some(w) = self.watched.get_mut(&id) else { return };
        if w.queued {
            w.queued = false;
            self.queue.remove(&(w.next, id));
        }
    }

    fn start_due_checks(&mut self) {
        let now = Instant::now();
        while let Some(&(due, id)) = self.queue.first() {
            if due > now {
                break;
            }
            self.queue.pop_first();
            let Some(w) = self.watched.get_mut(&id) else { continue };
            w.queued = false;
            w.running = true;
            self.state.metrics.check_delay.observe(now.saturating_duration_since(due).as_secs_f64());
            let work = checks::CheckWork { pipeline: w.pipeline.clone(), index: w.index, resource: id, latest: w.latest.clone() };
            let (state, slots, sender) = (self.state.clone(), self.slots.clone(), self.state.scheduler.sender.clone());
            tokio::spawn(async move {
                let Ok(_slot) = slots.acquire_owned().await else { return };
                let result = checks::check(&state, work).await;
                let _ = sender.send(Message::Checked(id, result));
            });
        }
    }

    fn checked(&mut self, id: ResourceId, result: CheckResult) {
        // Removed while it ran: forgotten, its result with it.
        let Some(w) = self.watched.get_mut(&id) else { return };
        w.running = false;
        let new_versions = match &result.outcome {
            Ok(found) => {
                w.failures = 0;
                w.latest = Some(found.latest.clone());
                found.new
            }
            Err(_) => {
                w.failures += 1;
                0
            }
        };
        let next_in = if std::mem::take(&mut w.again) { Duration::ZERO } else { checks::next_check_in(w.definition(), w.failures) };
        w.next = Instant::now() + next_in;
        let pipeline = w.pipeline.id;
        let next_check_at = Some(result.at + next_in.as_millis() as i64);
        self.records.push((id, CheckRecord { at: result.at, error: result.outcome.err(), next_check_at }));
        self.first_record_at.get_or_insert_with(Instant::now);
        if !self.paused.contains(&pipeline) {
            self.enqueue(id);
        }
        if new_versions > 0 {
            let jobs = self.dependents.get(&pipeline).and_then(|d| d.triggered_by.get(&id)).cloned().unwrap_or_default();
            self.consider(pipeline, jobs);
        }
    }

    /// Write the check results gathered so far, in one transaction, beside the loop.
    fn record(&mut self) {
        if self.records.is_empty() || self.recording.is_some() {
            return;
        }
        let records = std::mem::take(&mut self.records);
        self.first_record_at = None;
        let store = self.state.store.clone();
        self.recording = Some(tokio::spawn(async move {
            if let Err(e) = store.record_checks(&records).await {
                tracing::warn!(checks = records.len(), error = %e, "cannot record check results");
            }
        }));
    }
}
