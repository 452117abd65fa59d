//! The workers that run this server's builds. For now that is the embedded one (`--run-worker`);
//! a server without it lists none.

use super::api_common::{ApiResult, ErrorBody};
use super::auth::Caller;
use super::state::AppState;
use super::worker::WORKER_NAME;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
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
    /// Ids of the builds it is running now.
    pub running_builds: Vec<i64>,
    /// `os/arch` of the machine, as in `linux/x86_64`.
    pub platform: String,
    /// The pikoci version it runs.
    pub version: String,
}

/// The workers and what they are running. Any signed-in user may look.
#[utoipa::path(get, path = "/api/v1/workers", tag = "workers", security(("bearer" = [])),
    responses((status = 200, body = Vec<WorkerView>), (status = 401, body = ErrorBody)))]
pub async fn list_workers(State(state): State<AppState>, Caller(_): Caller) -> ApiResult<Json<Vec<WorkerView>>> {
    if !state.run_worker {
        return Ok(Json(Vec::new()));
    }
    let mut running_builds: Vec<i64> = state.running.lock().unwrap().keys().map(|id| id.get()).collect();
    running_builds.sort_unstable();
    Ok(Json(vec![WorkerView {
        name: WORKER_NAME.to_string(),
        status: if state.shutdown.is_cancelled() { "stopping" } else { "running" }.to_string(),
        concurrency: state.concurrency,
        running_builds,
        platform: format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        version: env!("CARGO_PKG_VERSION").to_string(),
    }]))
}
