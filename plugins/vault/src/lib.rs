//! `pikoci://vault`: secrets from HashiCorp Vault's KV version 2 engine, read over HTTP through
//! the sandbox's network grant (the plugin asks for `net:{source.address}` and nothing else).
//!
//! ```hcl
//! secret_type "vault" {
//!   source  = "pikoci://vault"
//!   address = "http://vault.internal:8200"
//!   token   = var.vault_token
//! }
//! variable "db_password" {
//!   secret "vault" { path = "secret/data/db"  key = "password" }
//! }
//! ```
//!
//! `path` is Vault's API path after `/v1/` (`secret/data/db`, as PikoCI writes it), or the CLI's
//! `secret/db`, into which `data/` is inserted after the mount; with `mount` set, `path` is
//! relative to that mount. A missing secret or key is `none`, which the host reports by name.
//! Neither the token nor a value ever reaches the log or an error message.

use pikoci_builtin_support::http;
use pikoci_sdk::{Error, Result, SecretType};
use wasi::http::types::Method;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// `http(s)://host[:port]`, as `VAULT_ADDR`.
    address: String,
    token: String,
    /// Sent as `X-Vault-Namespace` (Vault Enterprise).
    namespace: Option<String>,
    /// The KV v2 mount; when set, a variable's `path` is relative to it.
    mount: Option<String>,
}

/// The API path (after `/v1/`) of the secret at `path`.
fn api_path(config: &Config, path: &str) -> Result<String> {
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Err(Error::invalid_config("the variable's secret block needs `path`, e.g. \"secret/data/db\""));
    }
    if let Some(mount) = &config.mount {
        return Ok(format!("{}/data/{path}", mount.trim_matches('/')));
    }
    match path.split_once('/') {
        Some((_, rest)) if rest.starts_with("data/") => Ok(path.to_string()),
        Some((mount, rest)) => Ok(format!("{mount}/data/{rest}")),
        None => Err(Error::invalid_config(format!("path `{path}` names no secret: expected MOUNT/data/NAME, e.g. \"secret/data/db\""))),
    }
}

/// GET `address` + `/v1/` + `api_path` with the token; the status and the body.
fn get(config: &Config, api_path: &str) -> Result<(u16, Vec<u8>)> {
    let address = config.address.trim_end_matches('/');
    if address.split_once("://").is_none_or(|(_, authority)| authority.is_empty() || authority.contains('/')) {
        return Err(Error::invalid_config(format!("address `{}` must be http(s)://HOST[:PORT] without a path", config.address)));
    }
    let mut headers = vec![("x-vault-token", config.token.as_str())];
    if let Some(ns) = &config.namespace {
        headers.push(("x-vault-namespace", ns.as_str()));
    }
    let url = format!("{address}/v1/{api_path}");
    let response = http::send(Method::Get, &url, &headers, None, "Vault")?;
    Ok((response.status, response.body))
}

/// Vault's own error text (`{"errors": ["permission denied"]}`), which holds no secret.
fn vault_errors(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("errors")?.as_array().map(|e| e.iter().filter_map(|s| s.as_str()).collect::<Vec<_>>().join("; ")))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "no details".into())
}

struct Vault;

impl SecretType for Vault {
    type Config = Config;

    fn get(config: Config, path: &str, key: &str) -> Result<Option<String>> {
        let api_path = api_path(&config, path)?;
        let (status, body) = get(&config, &api_path)?;
        match status {
            200 => {}
            404 => return Ok(None),
            403 => return Err(Error::failed(format!("Vault refused to read {api_path} (403: {}); check the token's policy", vault_errors(&body)))),
            s => return Err(Error::failed(format!("Vault answered {s} for {api_path}: {}", vault_errors(&body)))),
        }
        let json: serde_json::Value = serde_json::from_slice(&body).map_err(|_| Error::failed(format!("Vault's answer for {api_path} is not JSON")))?;
        // KV v2 nests the secret's fields in data.data; a v1 mount answers with data alone.
        let data = json.pointer("/data/data").filter(|d| d.is_object()).or_else(|| json.get("data"));
        let Some(fields) = data.and_then(|d| d.as_object()) else {
            return Err(Error::failed(format!("Vault's answer for {api_path} has no data object")));
        };
        Ok(fields.get(key).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
    }
}

pikoci_sdk::export_secret_type!(Vault, name = "vault", capabilities = ["net:{source.address}"]);
