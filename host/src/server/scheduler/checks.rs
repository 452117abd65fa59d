//! Running one check: the plugin call (or a trigger stream's read), the new versions stored, and
//! when the resource is due again.

use crate::executor::{MemoryEvents, ResourceBackend};
use crate::planner::CompiledResource;
use crate::runtime::Version;
use crate::server::active::ActivePipeline;
use crate::server::state::AppState;
use pikoci_store::{MetadataField, NewVersion, ResourceId, TeamId, TriggerEventId};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;

/// How often a resource with no `check_interval` is checked (Concourse's default).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// The first retry of a failed check; each further failure doubles it, up to the interval.
const FIRST_RETRY: Duration = Duration::from_secs(5);

/// How checks run: at most `concurrency` at once, each stopped after `timeout`.
#[derive(Clone, Copy, Debug)]
pub struct CheckLimits {
    pub concurrency: usize,
    pub timeout: Duration,
}

impl Default for CheckLimits {
    fn default() -> Self {
        CheckLimits { concurrency: 8, timeout: Duration::from_secs(120) }
    }
}

/// How long after a check that ended now the resource is due again: its interval (or cron
/// schedule); after `failures` failures in a row, sooner, backing off: 5 s, 10 s, 20 s... up to it.
/// A success waits up to 1% of the interval more (at most a second), drawn at random, so that
/// resources set together drift apart rather than come due, and reach the database, at once.
pub(super) fn next_check_in(resource: &CompiledResource, failures: u32) -> Duration {
    let interval = resource.check_interval.as_ref().map_or(DEFAULT_INTERVAL, |i| i.until_next(&chrono::Local::now()));
    if failures == 0 {
        let spread = (interval / 100).min(Duration::from_secs(1));
        return interval + spread.mul_f64(rand::thread_rng().gen::<f64>());
    }
    FIRST_RETRY.saturating_mul(1 << (failures - 1).min(16)).min(interval)
}

/// A check to run: the resource at `index` of the pipeline, whose newest stored version is
/// `latest` when the scheduler knows it.
pub(super) struct CheckWork {
    pub pipeline: Arc<ActivePipeline>,
    pub index: usize,
    pub resource: ResourceId,
    pub latest: Option<Option<Version>>,
}

/// What a check came to, at `at` (unix ms).
pub(super) struct CheckResult {
    pub at: i64,
    pub outcome: Result<Found, String>,
}

pub(super) struct Found {
    /// How many versions it found that were not stored yet.
    pub new: usize,
    /// The newest stored version after it.
    pub latest: Option<Version>,
}

/// Check one resource and store the versions it found. The check's record (its time, error and
/// next check) is the scheduler's to write, with others.
pub(super) async fn check(state: &AppState, work: CheckWork) -> CheckResult {
    let started = std::time::Instant::now();
    let limits = state.check_limits;
    let resource = &work.pipeline.compiled.resources[work.index];
    let outcome = async {
        let last = match work.latest {
            Some(latest) => latest,
            None => state.store.latest_version(work.resource).await.map_err(|e| e.to_string())?.map(|v| Version(v.version)),
        };
        let found = match &resource.backend {
            ResourceBackend::Trigger { stream } => trigger_events(state, work.pipeline.team_id, stream, last.as_ref()).await?,
            _ => {
                // A check is a step like a build's: its secrets, grants and cache the same way.
                let plan = work.pipeline.compiled.check_plan_of(resource);
                let options = state.exec_options();
                let run = crate::executor::run_check(&plan, last.as_ref(), Arc::new(MemoryEvents::default()), options);
                tokio::time::timeout(limits.timeout, run)
                    .await
                    .map_err(|_| format!("the check took longer than {}", humantime::format_duration(limits.timeout)))??
            }
        };
        // A check answers with the version it was given and any newer: only those newer reach
        // the store, so a check that finds nothing writes nothing but its record.
        let new: Vec<NewVersion> =
            found.into_iter().filter(|v| Some(v) != last.as_ref()).map(|v| NewVersion { version: v.0, metadata: Vec::<MetadataField>::new() }).collect();
        if new.is_empty() {
            return Ok(Found { new: 0, latest: last });
        }
        let saved = state.store.save_versions(work.resource, &new).await.map_err(|e| e.to_string())?;
        // New versions go after every stored one; a version seen before keeps its place.
        let latest = saved.last().map(|v| Version(v.version.clone())).or(last);
        Ok::<_, String>(Found { new: saved.len(), latest })
    };
    // The plugin's own deadline stops a runaway guest; this one also bounds the database and a
    // plugin blocked in a host call.
    let outcome = match tokio::time::timeout(limits.timeout + Duration::from_secs(5), outcome).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("the check took longer than {}", humantime::format_duration(limits.timeout))),
    };
    state.metrics.check_duration.observe(started.elapsed().as_secs_f64());
    match &outcome {
        Ok(found) if found.new > 0 => tracing::info!(resource = %resource.name, new = found.new, "new versions"),
        Ok(_) => {}
        Err(e) => tracing::warn!(resource = %resource.name, error = %e, "check failed"),
    }
    CheckResult { at: pikoci_store::now_millis(), outcome }
}

/// The version field that orders a trigger stream's events.
pub const TRIGGER_EVENT_FIELD: &str = "trigger_event";

/// A trigger resource's check: the team's events on its stream after the last one seen, each a
/// version (its payload and its id); the first check takes only the newest, as PikoCI's first
/// checks do.
async fn trigger_events(state: &AppState, team: TeamId, stream: &str, last: Option<&Version>) -> Result<Vec<Version>, String> {
    let after = last.and_then(|v| v.field(TRIGGER_EVENT_FIELD)).and_then(|id| id.parse().ok()).map(TriggerEventId);
    let events = match after {
        Some(_) => state.store.trigger_events_after(team, stream, after, 1000).await,
        None => state.store.latest_trigger_event(team, stream).await.map(|e| e.into_iter().collect()),
    }
    .map_err(|e| e.to_string())?;
    Ok(events
        .into_iter()
        .map(|event| {
            let mut fields = event.payload;
            fields.insert(TRIGGER_EVENT_FIELD.into(), event.id.to_string());
            Version(fields)
        })
        .collect())
}
