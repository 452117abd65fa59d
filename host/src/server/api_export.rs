//! `GET /api/v1/export` (admins): the server's whole state as an SQLite file, which `pikoci server
//! --db-system sqlite --db-name FILE` starts from. How a team moves from the in-memory default (or
//! from PostgreSQL or MariaDB) to a file; `pikoci db copy` goes the other way.

use super::api_common::{internal, ApiResult, ErrorBody};
use super::auth::{require_admin, Caller};
use super::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use pikoci_store::Store;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/export", get(export))
}

/// The whole state as an SQLite database file (admin): teams, users (password hashes only),
/// tokens (hashes only), pipelines and their versions, resources and versions, builds and logs.
#[utoipa::path(get, path = "/api/v1/export", tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "an SQLite database file", content_type = "application/vnd.sqlite3"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn export(State(state): State<AppState>, Caller(user): Caller) -> ApiResult<Response> {
    require_admin(&user)?;
    let dir = tempfile::Builder::new().prefix("pikoci-export-").tempdir().map_err(internal)?;
    let path = dir.path().join("pikoci.db");
    let target = Store::connect(&format!("sqlite://{}", path.display()), true).await?;
    let copied = state.store.copy_into(&target).await;
    let written = target.write_into_file().await;
    target.close().await;
    let summary = copied?;
    written?;
    let file = tokio::fs::File::open(&path).await.map_err(internal)?;
    let size = file.metadata().await.map_err(internal)?.len();
    // The open file stays readable once its directory is removed.
    drop(dir);
    tracing::info!(admin = %user.username, builds = summary.rows("builds"), bytes = size, "exported the server's state");
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.sqlite3".to_string()),
            (header::CONTENT_LENGTH, size.to_string()),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"pikoci.db\"".to_string()),
        ],
        body,
    )
        .into_response())
}
