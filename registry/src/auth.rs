//! Registry credentials: anonymous, explicit user/password, or the `auths` of a Docker
//! `config.json`. Bearer-token exchange is left to oci-client, which performs it with whatever
//! basic credentials apply whenever a registry answers with a `Bearer` challenge.
//!
//! Secrets never leave this module in printable form: `Debug` redacts them, and
//! [`Scrubber`] removes them from any text (usually an upstream error) before it is shown.

use crate::error::RegistryError;
use base64::Engine as _;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A user name and password for HTTP basic auth (or for exchanging into a bearer token).
#[derive(Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    username: String,
    password: String,
}

impl BasicCredentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        BasicCredentials { username: username.into(), password: password.into() }
    }

    pub fn username(&self) -> &str {
        &self.username
    }
}

impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicCredentials").field("username", &self.username).field("password", &"<redacted>").finish()
    }
}

/// How a [`crate::RegistryClient`] authenticates.
#[derive(Debug, Clone, Default)]
pub enum Auth {
    #[default]
    Anonymous,
    /// The same credentials for every registry the client talks to.
    Basic(BasicCredentials),
    /// Per-registry credentials from a Docker `config.json`; anonymous where it has none.
    DockerConfig(DockerConfig),
}

impl Auth {
    pub(crate) fn for_registry(&self, registry: &str) -> oci_client::secrets::RegistryAuth {
        let basic = match self {
            Auth::Anonymous => None,
            Auth::Basic(credentials) => Some(credentials),
            Auth::DockerConfig(config) => config.credentials_for(registry),
        };
        match basic {
            Some(c) => oci_client::secrets::RegistryAuth::Basic(c.username.clone(), c.password.clone()),
            None => oci_client::secrets::RegistryAuth::Anonymous,
        }
    }

    pub(crate) fn is_anonymous_for(&self, registry: &str) -> bool {
        matches!(self.for_registry(registry), oci_client::secrets::RegistryAuth::Anonymous)
    }

    pub(crate) fn scrubber(&self) -> Scrubber {
        let credentials: Vec<&BasicCredentials> = match self {
            Auth::Anonymous => vec![],
            Auth::Basic(c) => vec![c],
            Auth::DockerConfig(config) => config.auths.values().collect(),
        };
        let mut secrets = Vec::new();
        for c in credentials {
            if !c.password.is_empty() {
                secrets.push(c.password.clone());
                // What an `Authorization: Basic` header or a config.json `auth` field would carry.
                secrets.push(base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.username, c.password)));
            }
        }
        // Longest first, so a secret that contains another is removed whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Scrubber { secrets }
    }
}

/// Removes known secrets from text that is about to be shown or logged.
#[derive(Clone, Default)]
pub(crate) struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    pub(crate) fn scrub(&self, text: impl fmt::Display) -> String {
        let mut text = text.to_string();
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), "<redacted>");
        }
        text
    }
}

/// The credentials in a Docker `config.json`: its `auths` map of registry to base64
/// `user:password` (or to separate `username`/`password` fields).
///
/// Credential helpers (`credsStore`, `credHelpers`) are not consulted.
#[derive(Clone, Default)]
pub struct DockerConfig {
    path: PathBuf,
    auths: BTreeMap<String, BasicCredentials>,
}

impl fmt::Debug for DockerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerConfig").field("path", &self.path).field("registries", &self.auths.keys().collect::<Vec<_>>()).finish()
    }
}

#[derive(serde::Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(serde::Deserialize)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

impl DockerConfig {
    /// Where Docker looks: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(dir).join("config.json"));
        }
        let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
        Some(PathBuf::from(home).join(".docker").join("config.json"))
    }

    /// Loads the default config file; `None` when there is none (which means anonymous access).
    pub fn load_default() -> Result<Option<Self>, RegistryError> {
        match Self::default_path() {
            Some(path) if path.is_file() => Self::load(&path).map(Some),
            _ => Ok(None),
        }
    }

    pub fn load(path: &Path) -> Result<Self, RegistryError> {
        let fail = |reason: String| RegistryError::DockerConfig { path: path.to_path_buf(), reason };
        let text = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        // serde_json quotes offending values in its messages, and those values are secrets here:
        // report only where the problem is.
        let file: ConfigFile =
            serde_json::from_slice(&text).map_err(|e| fail(format!("not valid JSON for a Docker config (line {}, column {})", e.line(), e.column())))?;
        let mut auths = BTreeMap::new();
        for (registry, entry) in file.auths {
            let credentials = match (entry.auth, entry.username, entry.password) {
                (Some(auth), _, _) if !auth.is_empty() => {
                    decode_auth(&auth).ok_or_else(|| fail(format!("the `auth` of `{registry}` is not base64 of USER:PASSWORD")))?
                }
                (_, Some(username), Some(password)) => BasicCredentials::new(username, password),
                // Entries without secrets (left behind by credential helpers) carry nothing usable.
                _ => continue,
            };
            auths.insert(registry_key(&registry).to_string(), credentials);
        }
        Ok(DockerConfig { path: path.to_path_buf(), auths })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The credentials recorded for `registry` (`host[:port]`), if any.
    pub fn credentials_for(&self, registry: &str) -> Option<&BasicCredentials> {
        self.auths.get(registry_key(registry))
    }
}

fn decode_auth(auth: &str) -> Option<BasicCredentials> {
    let decoded = base64::engine::general_purpose::STANDARD.decode(auth.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (username, password) = decoded.split_once(':')?;
    Some(BasicCredentials::new(username, password))
}

/// Docker writes `auths` keys as bare hosts or as URLs (`https://host/v1/`); compare by host.
fn registry_key(key: &str) -> &str {
    let without_scheme = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    without_scheme.split('/').next().unwrap_or(without_scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_config(dir: &Path, json: &str) -> PathBuf {
        let path = dir.join("config.json");
        std::fs::write(&path, json).unwrap();
        path
    }

    #[test]
    fn reads_base64_and_split_entries_by_host() {
        let dir = tempfile::tempdir().unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cr:et");
        let path = write_config(
            dir.path(),
            &format!(
                r#"{{"auths": {{
                    "https://127.0.0.1:5000/v1/": {{"auth": "{auth}"}},
                    "ghcr.io": {{"username": "bob", "password": "pw"}},
                    "helper.example": {{}}
                }}, "credsStore": "desktop"}}"#
            ),
        );
        let config = DockerConfig::load(&path).unwrap();
        let alice = config.credentials_for("127.0.0.1:5000").unwrap();
        assert_eq!((alice.username(), alice.password.as_str()), ("alice", "s3cr:et"));
        assert_eq!(config.credentials_for("ghcr.io").unwrap().username(), "bob");
        assert!(config.credentials_for("helper.example").is_none());
        assert!(config.credentials_for("127.0.0.1:5001").is_none());
        assert!(!format!("{config:?}").contains("s3cr"));
    }

    #[test]
    fn bad_files_do_not_echo_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), r#"{"auths": {"h": {"auth": "hunter2!!"}}}"#);
        let message = DockerConfig::load(&path).unwrap_err().to_string();
        assert!(!message.contains("hunter2") && message.contains("`h`"), "{message}");

        let path = write_config(dir.path(), r#"{"auths": {"h": {"auth": 42, "password": "hunter2"}}}"#);
        let message = DockerConfig::load(&path).unwrap_err().to_string();
        assert!(!message.contains("hunter2") && message.contains("line"), "{message}");
    }

    #[test]
    fn scrubs_passwords_and_their_basic_header_form() {
        let auth = Auth::Basic(BasicCredentials::new("u", "p4ss"));
        let header = base64::engine::general_purpose::STANDARD.encode("u:p4ss");
        let scrubbed = auth.scrubber().scrub(format!("failed with p4ss and {header}"));
        assert_eq!(scrubbed, "failed with <redacted> and <redacted>");
        assert!(!format!("{auth:?}").contains("p4ss"));
    }
}
