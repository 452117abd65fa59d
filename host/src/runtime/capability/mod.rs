//! What a plugin is allowed to touch: the typed grant a sandbox is built from.
//!
//! Nothing is granted by default. Each kind of capability lives in its own module with its
//! parser and its check; [`Capabilities`] gathers one plugin call's grants.
//!
//! The text form, used by the CLI (`--allow`), by plugin manifests (what a plugin asks for) and by
//! a pipeline's `allow` block, is one capability per string:
//!
//! | text                | grant                                                        |
//! |---------------------|--------------------------------------------------------------|
//! | `read:/srv/repo`    | the directory (or a file's directory) readable               |
//! | `write:/tmp/build`  | the directory readable and writable                          |
//! | `net:example.com:443`, `net:http://127.0.0.1:8080`, `net:*.example.com` | outgoing connections and HTTP requests to that host |
//! | `run:git`, `run:/usr/bin/make` | starting that program through the process interface |
//! | `env:HOME`          | the worker's value of that variable, visible to the plugin   |

mod allowed_hosts;
mod directories;
mod programs;

pub use allowed_hosts::{AllowedHosts, HostPattern};
pub use directories::{Access, DirectoryGrant};
pub use programs::{find_on_path, AllowedPrograms, ProgramGrant};

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One capability in its text form, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    Directory(DirectoryGrant),
    Network(HostPattern),
    Program(ProgramGrant),
    EnvVar(String),
}

/// Why a capability's text did not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("capability `{text}`: {reason}")]
pub struct CapabilityParseError {
    pub text: String,
    pub reason: String,
}

impl CapabilityParseError {
    pub(crate) fn new(text: &str, reason: impl Into<String>) -> Self {
        CapabilityParseError { text: text.to_string(), reason: reason.into() }
    }
}

/// "read, write, net, run or env", from the one list of kinds.
fn kinds_phrase() -> String {
    let kinds = pikoci_pipeline::CAPABILITY_KINDS;
    let (last, rest) = kinds.split_last().expect("there are capability kinds");
    format!("{} or {last}", rest.join(", "))
}

impl FromStr for Capability {
    type Err = CapabilityParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (kind, value) =
            text.split_once(':').ok_or_else(|| CapabilityParseError::new(text, format!("expected KIND:VALUE where KIND is {}", kinds_phrase())))?;
        match kind {
            "read" => Ok(Capability::Directory(DirectoryGrant::parse(text, value, Access::ReadOnly)?)),
            "write" => Ok(Capability::Directory(DirectoryGrant::parse(text, value, Access::ReadWrite)?)),
            "net" => Ok(Capability::Network(value.parse().map_err(|reason| CapabilityParseError::new(text, reason))?)),
            "run" => Ok(Capability::Program(ProgramGrant::parse(text, value)?)),
            "env" if !value.is_empty() && !value.contains('=') => Ok(Capability::EnvVar(value.to_string())),
            "env" => Err(CapabilityParseError::new(text, "expected env:NAME, a variable name without `=`")),
            other => Err(CapabilityParseError::new(text, format!("unknown kind `{other}`; expected {}", kinds_phrase()))),
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capability::Directory(d) => write!(f, "{d}"),
            Capability::Network(h) => write!(f, "net:{h}"),
            Capability::Program(p) => write!(f, "run:{p}"),
            Capability::EnvVar(name) => write!(f, "env:{name}"),
        }
    }
}

/// In plans and manifests capabilities travel in their text form.
impl serde::Serialize for Capability {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Capability {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Default ceiling on a plugin's linear memory.
pub const DEFAULT_MEMORY_LIMIT: u64 = 256 * 1024 * 1024;
/// Default wall-clock limit on one plugin call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// Everything one plugin call may use. `Capabilities::default()` grants nothing but the default
/// memory and time limits.
#[derive(Debug, Clone)]
pub struct Capabilities {
    pub directories: Vec<DirectoryGrant>,
    pub hosts: AllowedHosts,
    pub programs: AllowedPrograms,
    /// Environment variables the plugin sees (name, value).
    pub env: Vec<(String, String)>,
    /// Bytes of linear memory, summed over the component's memories.
    pub memory_limit: u64,
    /// How long one call may take before it is stopped.
    pub timeout: Duration,
    /// Run every program the plugin starts in a container of this configuration (a type-level
    /// `runner "docker" { image = ... }`: the docker runner's params).
    pub container: Option<serde_json::Value>,
    /// Start every other program the plugin starts confined by this sandbox (see
    /// [`program_sandbox`](crate::runtime::program_sandbox)); `None`: as the worker's user.
    pub sandbox: Option<std::sync::Arc<crate::runtime::program_sandbox::ProgramSandbox>>,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            directories: Vec::new(),
            hosts: AllowedHosts::default(),
            programs: AllowedPrograms::default(),
            env: Vec::new(),
            memory_limit: DEFAULT_MEMORY_LIMIT,
            timeout: DEFAULT_TIMEOUT,
            container: None,
            sandbox: None,
        }
    }
}

impl Capabilities {
    /// Add one capability. An `env:NAME` grant copies the worker's current value, if any.
    pub fn grant(&mut self, capability: Capability) -> &mut Self {
        match capability {
            Capability::Directory(d) => self.directories.push(d),
            Capability::Network(h) => self.hosts.push(h),
            Capability::Program(p) => self.programs.push(p),
            Capability::EnvVar(name) => {
                if let Ok(value) = std::env::var(&name) {
                    self.env.push((name, value));
                }
            }
        }
        self
    }

    /// Parse and add each capability's text form.
    pub fn grant_all<'a>(&mut self, texts: impl IntoIterator<Item = &'a str>) -> Result<&mut Self, CapabilityParseError> {
        for text in texts {
            self.grant(text.parse()?);
        }
        Ok(self)
    }

    /// The directory grant that covers `path`, preferring the innermost one.
    pub fn directory_for(&self, path: &std::path::Path) -> Option<&DirectoryGrant> {
        self.directories.iter().filter(|g| path.starts_with(&g.path)).max_by_key(|g| g.path.components().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind_and_prints_it_back() {
        for text in ["read:/srv/repo", "write:/tmp", "net:example.com:443", "run:git", "env:HOME"] {
            let cap: Capability = text.parse().unwrap();
            assert_eq!(cap.to_string(), text);
        }
    }

    #[test]
    fn unknown_kind_names_the_known_ones() {
        let err = "disk:/".parse::<Capability>().unwrap_err();
        assert!(err.to_string().contains("expected read, write, net, run or env"), "{err}");
    }

    #[test]
    fn innermost_directory_grant_wins() {
        let mut caps = Capabilities::default();
        caps.grant_all(["read:/srv", "write:/srv/build"]).unwrap();
        let grant = caps.directory_for(std::path::Path::new("/srv/build/x")).unwrap();
        assert_eq!(grant.access, Access::ReadWrite);
        assert!(caps.directory_for(std::path::Path::new("/etc")).is_none());
    }
}
