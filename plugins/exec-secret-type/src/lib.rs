//! `pikoci://exec-secret-type`: the adapter that runs PikoCI-style inline secret types.
//!
//! The `get` command sees the type block's settings as `$param_<name>` and the variable's `path`
//! as `$param_path`; the last line it prints is a JSON object, and the variable's `key` picks the
//! value from it. Output is captured, never logged: it is the secret.

use pikoci_sdk::process::CommandSpec;
use pikoci_sdk::{Error, Result, SecretType};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Definition {
    name: String,
    get: CommandSpec,
    /// The type block's other attributes (`address = ...`, `region = ...`).
    #[serde(default)]
    params: BTreeMap<String, Value>,
}

fn text(value: &Value) -> String {
    value.as_str().map(str::to_string).unwrap_or_else(|| value.to_string())
}

struct ExecSecret;

impl SecretType for ExecSecret {
    type Config = Definition;

    fn get(def: Definition, path: &str, key: &str) -> Result<Option<String>> {
        let mut env: Vec<(String, String)> = def.params.iter().map(|(k, v)| (format!("param_{k}"), text(v))).collect();
        env.push(("param_path".into(), path.to_string()));
        let finished = def.get.command(env).capture().run()?;
        // Neither stream is quoted: either may hold the secret, which is not redacted yet.
        if !finished.success() {
            return Err(Error::failed(format!("the get command of secret type `{}` exited with status {}", def.name, finished.code())));
        }
        let stdout = finished.stdout_text();
        let Some(last) = stdout.lines().rev().find(|l| !l.trim().is_empty()) else {
            return Err(Error::failed(format!("the get command of secret type `{}` printed nothing; it must print a JSON object", def.name)));
        };
        let Ok(Value::Object(values)) = serde_json::from_str::<Value>(last) else {
            return Err(Error::failed(format!("the last line the get command of secret type `{}` printed is not a JSON object", def.name)));
        };
        Ok(values.get(key).map(text))
    }
}

pikoci_sdk::export_secret_type!(ExecSecret, name = "exec-secret-type", capabilities = ["run:{source.get.path}"]);
