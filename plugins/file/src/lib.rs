//! `pikoci://file`: secrets from a file on the worker, as PikoCI's `file` secret type reads them.
//!
//! The file is the variable's `path`, else the secret type's `path`. Its format is `format`, else
//! inferred from the extension: `.json` (an object), `.env` (`KEY=VALUE` lines; comments, blank and
//! malformed lines ignored; one pair of surrounding quotes stripped), anything else `raw` (the whole
//! content under the key `content`). YAML is not read yet.

use pikoci_sdk::{fs, Error, Result, SecretType};

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    path: Option<String>,
    format: Option<String>,
}

struct File;

fn env_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.trim().split_once('=')?;
        if k.trim() != key || k.trim_start().starts_with('#') {
            return None;
        }
        let v = v.trim();
        let unquoted = [('"', '"'), ('\'', '\'')].iter().find_map(|(a, b)| v.strip_prefix(*a)?.strip_suffix(*b));
        Some(unquoted.unwrap_or(v).to_string())
    })
}

impl SecretType for File {
    type Config = Config;

    fn get(config: Config, path: &str, key: &str) -> Result<Option<String>> {
        let path = if path.is_empty() { config.path.clone() } else { Some(path.to_string()) };
        let path = path.ok_or_else(|| Error::invalid_config("no file: give `path` on the variable's secret block or the secret type"))?;
        let format = config.format.clone().unwrap_or_else(|| {
            match path.rsplit('.').next() {
                Some("json") => "json",
                Some("env") => "env",
                Some("yml" | "yaml") => "yaml",
                _ => "raw",
            }
            .to_string()
        });
        let text = fs::read_to_string(&path)?;
        match format.as_str() {
            "json" => {
                let object: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&text).map_err(|e| Error::failed(format!("{path} is not a JSON object: {e}")))?;
                Ok(object.get(key).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
            }
            "env" => Ok(env_value(&text, key)),
            "raw" => Ok((key == "content").then_some(text)),
            other => Err(Error::invalid_config(format!("format `{other}` is not supported; use json, env or raw"))),
        }
    }
}

pikoci_sdk::export_secret_type!(File, name = "file", capabilities = ["read:{secret.path}", "read:{source.path}"]);
