//! Pipelines, jobs and their builds over HTTP.

use super::state::AppState;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
}
