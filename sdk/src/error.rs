use crate::bindings::wit_types::PluginError;
use std::fmt;

/// Why a plugin call failed; the host shows the text to the pipeline's author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The pipeline's configuration is wrong: say which field and what was expected.
    InvalidConfig(String),
    /// The plugin needed something it was not granted ("read /etc/passwd", "run git").
    CapabilityDenied(String),
    /// Anything else.
    Failed(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn failed(message: impl fmt::Display) -> Self {
        Error::Failed(message.to_string())
    }

    pub fn invalid_config(message: impl fmt::Display) -> Self {
        Error::InvalidConfig(message.to_string())
    }

    /// Turn an I/O error on `path` into an error that says what was attempted, and recognises
    /// the sandbox's refusal: WASI answers `ENOTCAPABLE` ("Capabilities insufficient") for a path
    /// outside every granted directory and a permission error for a write to a read-only grant.
    pub fn io(action: &str, path: impl AsRef<std::path::Path>, err: std::io::Error) -> Self {
        const ENOTCAPABLE: i32 = 76;
        let path = path.as_ref().display();
        let denied = err.raw_os_error() == Some(ENOTCAPABLE)
            || matches!(
                err.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            );
        if denied {
            Error::CapabilityDenied(format!("{action} {path}"))
        } else {
            Error::Failed(format!("cannot {action} {path}: {err}"))
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidConfig(m) => write!(f, "invalid configuration: {m}"),
            Error::CapabilityDenied(m) => write!(f, "not granted: {m}"),
            Error::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for PluginError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidConfig(m) => PluginError::InvalidConfig(m),
            Error::CapabilityDenied(m) => PluginError::CapabilityDenied(m),
            Error::Failed(m) => PluginError::Failed(m),
        }
    }
}

impl From<PluginError> for Error {
    fn from(e: PluginError) -> Self {
        match e {
            PluginError::InvalidConfig(m) => Error::InvalidConfig(m),
            PluginError::CapabilityDenied(m) => Error::CapabilityDenied(m),
            PluginError::Failed(m) => Error::Failed(m),
        }
    }
}
