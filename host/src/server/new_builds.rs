//! What follows the creation of a build, wherever it came from (a new version, the API's trigger,
//! a retry): an `interruptible` job's older builds are superseded, then the worker is woken.

use super::build_sink::{millis, origin_name};
use super::state::AppState;
use crate::executor::JOB_STEP;
use crate::runtime::LogOrigin;
use pikoci_store::{Build, BuildStatus, LogKind, NewLogLine};
use std::time::SystemTime;

pub async fn created(state: &AppState, build: &Build) {
    if state.pipelines.with_job(build.job_id, |_, job| job.interruptible).unwrap_or(false) {
        if let Err(e) = supersede_older(state, build).await {
            tracing::error!(build = %build.id, error = %e, "cannot supersede the job's older builds");
        }
    }
    state.wake_worker.notify_one();
}

/// Ends the job's builds older than `newer` that are still pending or running, as PikoCI does for
/// an `interruptible` job: a pending one never starts, a running one is aborted (its abort hooks
/// and `ensure` run) with the reason in its log.
async fn supersede_older(state: &AppState, newer: &Build) -> Result<(), pikoci_store::StoreError> {
    const LOOKAHEAD: u32 = 200;
    let why = format!("superseded by build #{}", newer.number);
    let unfinished = [state.store.pending_builds(LOOKAHEAD).await?, state.store.started_builds(LOOKAHEAD).await?].concat();
    for older in unfinished.iter().filter(|b| b.job_id == newer.job_id && b.number < newer.number) {
        let token = state.running.lock().unwrap().get(&older.id).cloned();
        match token {
            Some(token) => {
                let at = millis(SystemTime::now());
                let line = NewLogLine { kind: LogKind::Line, step: JOB_STEP.into(), origin: origin_name(LogOrigin::Info).into(), text: why.clone(), at };
                state.store.append_log(older.id, &[line]).await?;
                token.cancel();
            }
            None => {
                state.store.finish_build(older.id, BuildStatus::Aborted, Some(&why)).await?;
            }
        }
    }
    Ok(())
}
