//! `pikoci://docker`: runs a task in a container, as PikoCI's docker runner does:
//! `docker run --rm -v WORKDIR:/workdir -w /workdir [-e ...] [ARGS] IMAGE /bin/sh -ec CMD`.
//!
//! ```hcl
//! task "test" {
//!   run "docker" {
//!     image = "golang:1.25"
//!     cmd   = "make test"
//!     args  = ["-e", "CI=true"]        # extra `docker run` flags, as in PikoCI
//!   }
//! }
//! ```
//!
//! Without `cmd`, `path` and `args` are the container's command (exec style) and extra flags go
//! in `run_args`. The engine is `engine` (`docker` or `podman`), else the worker's
//! `PIKOCI_CONTAINER_ENGINE`, else `docker`; global engine flags come from `engine_args` and the
//! worker's `PIKOCI_CONTAINER_ENGINE_ARGS`. The task's environment reaches the container by name
//! (`-e NAME`, the value through the CLI's environment), so no value, secret or not, is ever on
//! a command line.

use pikoci_sdk::process::{exit_code, Command};
use pikoci_sdk::{Error, Result, Runner, Task};
use std::collections::BTreeMap;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    image: String,
    /// A shell command, run with `/bin/sh -ec`.
    cmd: Option<String>,
    /// `docker` or `podman`.
    engine: Option<String>,
    /// Flags before `run`, e.g. podman's `--runtime runc`.
    #[serde(default)]
    engine_args: Vec<String>,
    /// Extra `run` flags, for exec-style tasks whose `args` are the command.
    #[serde(default)]
    run_args: Vec<String>,
    /// Variables for the engine CLI itself (`DOCKER_HOST`, `CONTAINERS_CONF`), not the container.
    #[serde(default)]
    engine_env: BTreeMap<String, String>,
    /// `--user` inside the container.
    user: Option<String>,
}

/// The worker's variables the engine CLI may need, passed on when granted and set.
const ENGINE_ENV: &[&str] = &["PATH", "HOME", "XDG_RUNTIME_DIR", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "CONTAINERS_CONF"];

/// Where the work directory appears in the container, as in PikoCI.
const WORKDIR: &str = "/workdir";

/// Variables that describe the worker, not the task: forwarding them would break the image.
fn forwarded(name: &str) -> bool {
    !matches!(name, "PATH" | "HOME" | "HOSTNAME" | "PWD" | "SHLVL" | "TERM")
}

struct Docker;

impl Runner for Docker {
    type Params = Params;

    fn run(task: Task<Params>) -> Result<i32> {
        let p = &task.params;
        let engine = p.engine.clone().or_else(|| std::env::var("PIKOCI_CONTAINER_ENGINE").ok()).unwrap_or_else(|| "docker".into());
        if engine != "docker" && engine != "podman" {
            return Err(Error::invalid_config(format!("`engine` is `{engine}`; expected docker or podman")));
        }
        if p.image.trim().is_empty() {
            return Err(Error::invalid_config("`image` is empty"));
        }
        let dir = task.dir.to_string_lossy().to_string();
        if dir.contains(':') {
            return Err(Error::failed(format!("the work directory {dir} contains `:`, which a volume flag cannot carry")));
        }

        let mut args: Vec<String> = std::env::var("PIKOCI_CONTAINER_ENGINE_ARGS")
            .map(|a| a.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        args.extend(p.engine_args.iter().cloned());
        args.extend(["run", "--rm", "-v", &format!("{dir}:{WORKDIR}"), "-w", WORKDIR].map(String::from));
        if let Some(user) = &p.user {
            args.extend(["--user".to_string(), user.clone()]);
        }
        let mut env: Vec<(String, String)> = ENGINE_ENV.iter().filter_map(|n| std::env::var(n).ok().map(|v| (n.to_string(), v))).collect();
        env.extend(p.engine_env.iter().map(|(k, v)| (k.clone(), v.clone())));
        for (name, value) in task.env.iter().filter(|(n, _)| forwarded(n)) {
            // The task sees the work directory, and the paths in it (`$PIKOCI_OUTPUT`), where the
            // container has them.
            let value = match value.strip_prefix(dir.as_str()) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{WORKDIR}{rest}"),
                _ => value.clone(),
            };
            args.extend(["-e".to_string(), name.clone()]);
            env.retain(|(n, _)| n != name);
            env.push((name.clone(), value));
        }
        args.extend(p.run_args.iter().cloned());

        match &p.cmd {
            Some(cmd) => {
                // PikoCI: a run block's `args` are extra `docker run` flags.
                args.extend(task.args.iter().cloned());
                args.push(p.image.clone());
                // As PikoCI does, so that clones owned by another user work inside the container.
                let script = format!("command -v git >/dev/null && git config --global --add safe.directory '*'; {cmd}");
                args.extend(["/bin/sh".to_string(), "-ec".to_string(), script]);
            }
            None if !task.path.is_empty() => {
                args.push(p.image.clone());
                args.push(task.path.clone());
                args.extend(task.args.iter().cloned());
            }
            None => return Err(Error::invalid_config("give `cmd` (a shell command) or `path` (a program in the image)")),
        }

        let child = Command::new(&engine).args(args).envs(env).spawn()?;
        let code = exit_code(child.wait());
        if code == 125 {
            // The engine's own failure (no daemon, no image, a bad flag), not the task's.
            return Err(Error::failed(format!("{engine} could not run the container (exit 125); its error is in the log above")));
        }
        Ok(code)
    }
}

pikoci_sdk::export_runner!(
    Docker,
    name = "docker",
    capabilities = [
        "run:docker", "run:podman",
        "env:PATH", "env:HOME", "env:XDG_RUNTIME_DIR", "env:DOCKER_HOST", "env:DOCKER_CONFIG", "env:DOCKER_CONTEXT",
        "env:CONTAINERS_CONF", "env:PIKOCI_CONTAINER_ENGINE", "env:PIKOCI_CONTAINER_ENGINE_ARGS",
    ]
);
