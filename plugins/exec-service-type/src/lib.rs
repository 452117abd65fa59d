//! `pikoci://exec-service-type`: the adapter that runs PikoCI-style inline service types.
//!
//! `start` runs in the background and outlives the call (a server started in the foreground is
//! the service itself; `docker run -d` simply exits); `ready_check`, when given, is run until it
//! exits 0; `stop`, when given, runs at the end of the job, and whatever `start` left running is
//! then killed with its process group. Commands see `$param_<name>` and the build's variables.

use pikoci_sdk::process::{self, Command, CommandSpec};
use pikoci_sdk::{Error, Result, ServiceType, Started};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Definition {
    name: String,
    start: CommandSpec,
    ready_check: Option<CommandSpec>,
    stop: Option<CommandSpec>,
    #[serde(default)]
    params: BTreeMap<String, Value>,
    #[serde(default)]
    env: Vec<(String, String)>,
}

impl Definition {
    fn command(&self, exec: &CommandSpec) -> Command {
        let text = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
        let mut env = self.env.clone();
        env.extend(self.params.iter().map(|(k, v)| (format!("param_{k}"), text(v))));
        exec.command(env)
    }
}

struct ExecService;

impl ServiceType for ExecService {
    type Params = Definition;

    fn start(_name: &str, def: Definition) -> Result<Started> {
        let child = def.command(&def.start).spawn()?;
        let handle = child.detach()?;
        Ok(Started { state: handle.to_string(), exports: Vec::new() })
    }

    fn ready(state: &str, def: Definition) -> Result<bool> {
        let handle: u32 = state.parse().map_err(|_| Error::failed(format!("bad service state `{state}`")))?;
        let Some(check) = &def.ready_check else {
            return Ok(true);
        };
        let finished = def.command(check).capture().run()?;
        if !finished.success() && !process::is_running(handle) && def.stop.is_none() {
            // A foreground start command that died will never become ready.
            return Err(Error::failed(format!("service `{}` exited before it was ready", def.name)));
        }
        Ok(finished.success())
    }

    fn stop(state: &str, def: Definition) -> Result<()> {
        let handle: u32 = state.parse().map_err(|_| Error::failed(format!("bad service state `{state}`")))?;
        let stopped = match &def.stop {
            Some(stop) => def.command(stop).run().map(|f| f.success()),
            None => Ok(true),
        };
        // Whatever start left running goes too, stop command or not.
        if process::is_running(handle) {
            process::stop_detached(handle)?;
        }
        match stopped? {
            true => Ok(()),
            false => Err(Error::failed(format!("the stop command of service `{}` failed", def.name))),
        }
    }
}

pikoci_sdk::export_service_type!(
    ExecService,
    name = "exec-service-type",
    capabilities = ["run:{params.start.path}", "run:{params.ready_check.path}", "run:{params.stop.path}"]
);
