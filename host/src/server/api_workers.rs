//! The workers that run this server's builds. For now that is the embedded one (`--run-worker`);
//! a server without it lists none.

use super::api::readable_build;
use super::api_common::{ApiResult, ErrorBody};
use super::auth::{Caller, MaybeCaller};
use super::state::AppState;
use super::worker::WORKER_NAME;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use pikoci_store::BuildId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/workers", get(list_workers))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct WorkerView {
    /// The name builds record as the worker that ran them.
    pub name: String,
    /// `running`, or `stopping` once the server got SIGQUIT, SIGTERM or SIGINT (no new builds).
    pub status: String,
    /// Builds it runs at once (`--concurrency`).
    pub concurrency: usize,
    /// Ids of the builds it is running now, of those the caller may see.
    pub running_builds: Vec<i64>,
    /// `os/arch` of the machine, as in `linux/x86_64`.
    pub platform: String,
    /// The pikoci version it runs.
    pub version: String,
}

/// The workers and what they are running. Any signed-in user may look.
#[utoipa::path(get, path = "/api/v1/workers", tag = "workers", security(("bearer" = [])),
    responses((status = 200, body = Vec<WorkerView>), (status = 401, body = ErrorBody)))]
pub async fn list_workers(State(state): State<AppState>, Caller(user): Caller) -> ApiResult<Json<Vec<WorkerView>>> {
    if !state.run_worker {
        return Ok(Json(Vec::new()));
    }
    let mut running: Vec<BuildId> = state.running.lock().unwrap().keys().copied().collect();
    running.sort_unstable();
    // Another team's build ids would tell what it runs, and when.
    let caller = MaybeCaller(Some(user));
    let mut running_builds = Vec::new();
    for id in running {
        if readable_build(&state, &caller, id).await.is_ok() {
            running_builds.push(id.get());
        }
    }
    Ok(Json(vec![WorkerView {
        name: WORKER_NAME.to_string(),
        status: if state.shutdown.is_cancelled() { "stopping" } else { "running" }.to_string(),
        concurrency: state.concurrency,
        running_builds,
        platform: format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        version: env!("CARGO_PKG_VERSION").to_string(),
    }]))
}
