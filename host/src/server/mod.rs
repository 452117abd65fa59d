//! `pikoci server`: storage, scheduler, API and an embedded worker in one process.

pub mod active;
mod api;
mod api_common;
pub mod api_doc;
mod api_export;
mod api_pipelines;
mod api_teams;
mod api_workers;
pub mod args;
mod auth;
pub mod build_sink;
pub mod config_file;
mod login_limit;
pub mod metrics;
mod new_builds;
mod pipelines_api;
pub mod scheduler;
pub mod state;
mod triggers;
pub mod users;
pub mod worker;

pub use args::ServerArgs;

use crate::executor::team_rules::{TeamDirs, TeamEnv};
use crate::runtime::program_sandbox::SandboxPolicy;
use crate::runtime::PluginEngine;
use anyhow::Context;
use state::AppState;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Run the server until SIGTERM/SIGINT (cancel running builds) or SIGQUIT (let them finish, up to
/// the drain timeout).
pub async fn run(args: ServerArgs, cache_dir: std::path::PathBuf, registry: crate::plugin_source::RegistryAccess) -> anyhow::Result<()> {
    let url = args.db_config().to_url()?;
    let store = pikoci_store::Store::connect(&url, args.run_migrations).await.with_context(|| format!("cannot open the {} database", args.db_system()))?;
    let interrupted = store.mark_unfinished_builds_errored("the server stopped while this build ran").await?;
    if interrupted > 0 {
        tracing::warn!(builds = interrupted, "builds left running by the last server marked errored");
    }
    // The default team exists from the start, so its owners can set its first pipeline.
    store.ensure_team(&args.team_canonical).await?;
    users::apply_users_flag(&store, &args.users).await?;
    if let Some(password) = users::ensure_admin(&store).await? {
        // Shown once, to whoever started the server; never logged through tracing.
        eprintln!("pikoci: created user `admin` with password: {password}");
        eprintln!("pikoci: set your own with `pikoci user-password -u admin` and --users");
    }

    let engine = Arc::new(PluginEngine::new(Some(&cache_dir))?);
    let mut state = AppState::new(store, engine, cache_dir.clone(), registry, args.concurrency, args.run_worker);
    state.check_limits = args.check_limits();
    state.team_env = Arc::new(TeamEnv::for_server(&args.team_canonical, &args.team_env).map_err(anyhow::Error::msg)?);
    state.team_dirs = Arc::new(TeamDirs::for_server(&args.team_canonical, &args.team_dirs).map_err(anyhow::Error::msg)?);
    if args.run_worker {
        let policy = SandboxPolicy::for_server(args.task_sandbox, &args.team_canonical).map_err(anyhow::Error::msg)?;
        state.program_sandbox = Arc::new(policy);
    }

    let restored = active::restore_pipelines(&state).await.map_err(anyhow::Error::msg)?;
    if restored > 0 {
        eprintln!("pikoci: {restored} stored pipeline(s) running again");
    }
    if let Some(path) = &args.pipeline_config {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let vars =
            crate::planner::VarValues::from_cli(&args.var, args.vars.as_deref()).map_err(|d| anyhow::anyhow!("{}", pikoci_pipeline::render_human(&[d])))?;
        let name = args.pipeline_name.clone().unwrap_or_else(|| crate::planner::default_name(path));
        active::set_pipeline(&state, &args.team_canonical, &name, &text, &vars).await.map_err(anyhow::Error::msg)?;
        eprintln!("pikoci: pipeline {}/{name} set from {}", args.team_canonical, path.display());
    }
    let background = state.spawn_background();

    let listener = tokio::net::TcpListener::bind(args.address()).await.with_context(|| format!("cannot listen on {}", args.address()))?;
    eprintln!("pikoci: listening on http://{}", listener.local_addr()?);
    let app = api::router(state.clone());
    let stop_http = CancellationToken::new();
    let server = {
        let stop = stop_http.clone();
        // With each connection's address: logins are limited by it.
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await })
    };

    shutdown_signal(&state, args.drain_timeout).await;
    stop_http.cancel();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), server).await;
    // The scheduler writes its last check results; only then may the store close.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), futures_util::future::join_all(background)).await;
    state.store.close().await;
    Ok(())
}

/// Wait for a stop signal and act on it: SIGQUIT drains, SIGTERM/SIGINT aborts.
async fn shutdown_signal(state: &AppState, drain_timeout: std::time::Duration) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut quit)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::quit())) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    let drain = tokio::select! {
        _ = term.recv() => false,
        _ = int.recv() => false,
        _ = quit.recv() => true,
    };
    if drain {
        eprintln!("pikoci: draining: no new builds; waiting up to {} for running ones", humantime::format_duration(drain_timeout));
        state.shutdown.cancel();
        let deadline = tokio::time::Instant::now() + drain_timeout;
        while !state.running.lock().unwrap().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    } else {
        state.shutdown.cancel();
    }
    // Whatever still runs is aborted; wait briefly for it to record that.
    for token in state.running.lock().unwrap().values() {
        token.cancel();
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while !state.running.lock().unwrap().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
