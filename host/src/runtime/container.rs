//! A type-level `runner "docker"`: the programs a plugin starts run in a container instead of on
//! the worker, and the container is removed with its program.

use super::bindings::v0_1::facilities::pikoci::plugin::process::Command;
use super::bindings::v0_1::PluginError;
use super::capability::Capabilities;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// A container started for a plugin's program. Killing the engine's client does not stop the
/// container, so it is stopped by name.
pub(super) struct RunningContainer {
    engine: PathBuf,
    engine_args: Vec<String>,
    env: Vec<(String, String)>,
    name: String,
}

impl RunningContainer {
    pub(super) fn remove(&self) {
        for action in [&["kill"][..], &["rm", "--force"][..]] {
            let _ = std::process::Command::new(&self.engine)
                .args(&self.engine_args)
                .args(action)
                .arg(&self.name)
                .env_clear()
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Variables the container engine's CLI itself may need, from the worker.
const ENGINE_ENV: &[&str] = &["PATH", "HOME", "XDG_RUNTIME_DIR", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "CONTAINERS_CONF"];

/// `program` run in a container instead (a type-level `runner "docker"`): `ENGINE run --rm` with
/// the plugin's granted directories mounted at the same paths, so every path it passes still
/// means the same, the working directory kept, and the command's environment passed by name
/// (values through the engine's environment, never on its command line). The engine is the
/// runner's `engine`, else the worker's PIKOCI_CONTAINER_ENGINE, else docker; PikoCI's `args`
/// are extra `run` flags, `engine_args` (and PIKOCI_CONTAINER_ENGINE_ARGS) flags before `run`.
pub(super) type Wrapped = (PathBuf, Vec<String>, Vec<(String, String)>, Option<RunningContainer>);

pub(super) fn wrap(params: &serde_json::Value, program: &Path, cmd: &Command, cwd: &Path, grants: &Capabilities) -> Result<Wrapped, PluginError> {
    let field = |name: &str| params.get(name).and_then(|v| v.as_str()).map(str::to_string);
    let list = |name: &str| -> Vec<String> {
        match params.get(name) {
            Some(serde_json::Value::Array(items)) => items.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).collect(),
            _ => Vec::new(),
        }
    };
    let image =
        field("image").filter(|i| !i.trim().is_empty()).ok_or_else(|| PluginError::InvalidConfig("the type's `runner \"docker\"` needs an `image`".into()))?;
    let engine = field("engine").or_else(|| std::env::var("PIKOCI_CONTAINER_ENGINE").ok()).unwrap_or_else(|| "docker".into());
    if engine != "docker" && engine != "podman" {
        return Err(PluginError::InvalidConfig(format!("`engine` is `{engine}`; expected docker or podman")));
    }
    let mut engine_args: Vec<String> =
        std::env::var("PIKOCI_CONTAINER_ENGINE_ARGS").map(|a| a.split_whitespace().map(str::to_string).collect()).unwrap_or_default();
    engine_args.extend(list("engine_args"));
    // Unique across hosts and restarts that share an engine: cleanup removes by this name.
    let name = format!("pikoci-{:016x}", rand::random::<u64>());
    let mut args = engine_args.clone();
    args.extend(["run".to_string(), "--rm".to_string(), "--name".to_string(), name.clone()]);
    if cmd.stdin.is_some() {
        args.push("-i".into());
    }
    for dir in &grants.directories {
        let path = dir.path.display().to_string();
        if path.contains(':') {
            continue;
        }
        let mode = if dir.access == super::capability::Access::ReadWrite { "" } else { ":ro" };
        args.extend(["-v".to_string(), format!("{path}:{path}{mode}")]);
    }
    if cwd != Path::new("/") {
        args.extend(["-w".to_string(), cwd.display().to_string()]);
    }
    let mut env: Vec<(String, String)> = ENGINE_ENV.iter().filter_map(|n| std::env::var(n).ok().map(|v| (n.to_string(), v))).collect();
    for (name, value) in &cmd.env {
        if matches!(name.as_str(), "PATH" | "HOME" | "HOSTNAME" | "PWD" | "SHLVL" | "TERM") {
            continue;
        }
        args.extend(["-e".to_string(), name.clone()]);
        env.retain(|(n, _)| n != name);
        env.push((name.clone(), value.clone()));
    }
    args.extend(list("args"));
    args.push(image);
    args.push(program.display().to_string());
    args.extend(cmd.args.iter().cloned());
    let host_path = std::env::var("PATH").ok();
    let engine_path = find_engine(&engine, host_path.as_deref())
        .ok_or_else(|| PluginError::Failed(format!("the type runs its commands in a container, but `{engine}` is not installed on this worker")))?;
    let engine_env: Vec<(String, String)> = env.iter().filter(|(k, _)| ENGINE_ENV.contains(&k.as_str())).cloned().collect();
    let container = RunningContainer { engine: engine_path.clone(), engine_args, env: engine_env, name };
    Ok((engine_path, args, env, Some(container)))
}

fn find_engine(name: &str, search_path: Option<&str>) -> Option<PathBuf> {
    search_path?.split(':').map(|dir| Path::new(dir).join(name)).find(|p| p.is_file())
}
