//! `pikoci://exec-resource-type`: the adapter that runs PikoCI-style inline resource types.
//!
//! A pipeline may define a resource type with `check "exec"`, `pull "exec"` and `push "exec"`
//! blocks instead of a component. The host hands this plugin the definition and the resource's
//! params; it runs the commands as PikoCI does, so inline types get the same sandbox and grants
//! as every other plugin. Commands see `$param_<name>`, `$version_<key>` (pull, push),
//! `$get_<key>` (pull: the get step's `params`), `$put_<key>` (push), `$CACHE_DIR` (check, pull, when caching is on), plus the build's
//! variables the host passes in `env` (`WORKDIR`, `BUILD_*`, `PATH`...). `check` prints a JSON
//! array of versions on stdout; pull and push run in the build's work directory.

use pikoci_sdk::process::{Command, CommandSpec};
use pikoci_sdk::{Error, Fetched, ResourceType, Result, Version};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Definition {
    /// The type's name, for messages.
    name: String,
    check: Option<CommandSpec>,
    pull: Option<CommandSpec>,
    push: Option<CommandSpec>,
    /// The resource's `params` block.
    #[serde(default)]
    params: BTreeMap<String, Value>,
    /// Variables of the build the host passes on (WORKDIR, BUILD_*, PATH...).
    #[serde(default)]
    env: Vec<(String, String)>,
    cache_dir: Option<String>,
}

/// HCL values as PikoCI puts them in the environment: strings as they are, others as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Definition {
    fn env(&self, with_cache: bool) -> Vec<(String, String)> {
        let mut env = self.env.clone();
        env.extend(self.params.iter().map(|(k, v)| (format!("param_{k}"), text(v))));
        if let (true, Some(dir)) = (with_cache, &self.cache_dir) {
            env.push(("CACHE_DIR".into(), dir.clone()));
        }
        env
    }

    fn command(&self, exec: &CommandSpec, env: Vec<(String, String)>, cwd: Option<&Path>) -> Command {
        let mut command = exec.command(env);
        if let Some(dir) = cwd {
            command = command.cwd(dir);
        }
        command
    }

    fn missing(&self, operation: &str) -> Error {
        Error::invalid_config(format!("resource type `{}` defines no `{operation}` command", self.name))
    }
}

fn version_env(version: &Version) -> impl Iterator<Item = (String, String)> + '_ {
    version.0.iter().map(|(k, v)| (format!("version_{k}"), v.clone()))
}

/// Parse check's output: a JSON array of objects whose values become strings.
fn parse_versions(type_name: &str, stdout: &str) -> Result<Vec<Version>> {
    let parsed: Vec<BTreeMap<String, Value>> = serde_json::from_str(stdout.trim()).map_err(|e| {
        Error::failed(format!(
            "check of `{type_name}` must print a JSON array of version objects, like [{{\"ref\":\"abc\"}}]; it printed {:?} ({e})",
            stdout.trim().chars().take(200).collect::<String>()
        ))
    })?;
    Ok(parsed.into_iter().map(|fields| Version(fields.into_iter().map(|(k, v)| (k, text(&v))).collect())).collect())
}

struct ExecResourceType;

impl ResourceType for ExecResourceType {
    type Source = Definition;
    type Params = BTreeMap<String, Value>;

    fn check(def: Definition, _last: Option<Version>) -> Result<Vec<Version>> {
        let exec = def.check.as_ref().ok_or_else(|| def.missing("check"))?;
        let stdout = def.command(exec, def.env(true), None).stderr(pikoci_sdk::process::Output::Log).stdout(pikoci_sdk::process::Output::Capture).run_ok()?;
        parse_versions(&def.name, &stdout)
    }

    fn get(def: Definition, version: Version, params: Self::Params, dir: &Path) -> Result<Fetched> {
        let exec = def.pull.as_ref().ok_or_else(|| def.missing("pull"))?;
        let mut env = def.env(true);
        env.extend(version_env(&version));
        env.extend(params.iter().map(|(k, v)| (format!("get_{k}"), text(v))));
        let finished = def.command(exec, env, Some(dir)).run()?;
        if !finished.success() {
            return Err(Error::failed(format!("pull of `{}` exited with status {}", def.name, finished.code())));
        }
        Ok(Fetched::new(version))
    }

    fn put(def: Definition, params: Self::Params, dir: &Path) -> Result<Fetched> {
        let exec = def.push.as_ref().ok_or_else(|| def.missing("push"))?;
        let mut env = def.env(false);
        env.extend(params.iter().map(|(k, v)| (format!("put_{k}"), text(v))));
        let finished = def.command(exec, env, Some(dir)).run()?;
        if !finished.success() {
            return Err(Error::failed(format!("push of `{}` exited with status {}", def.name, finished.code())));
        }
        Ok(Fetched::new(Version::new()))
    }
}

pikoci_sdk::export_resource_type!(
    ExecResourceType,
    name = "exec-resource-type",
    capabilities = ["run:{source.check.path}", "run:{source.pull.path}", "run:{source.push.path}", "write:{source.cache_dir}"]
);
