//! Directory grants: which host directories a plugin sees, and whether it may write there.
//!
//! A granted directory appears inside the sandbox at its own absolute path, so paths mean the
//! same thing to the host, the plugin and the programs the plugin starts.

use super::CapabilityParseError;
use std::fmt;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryGrant {
    /// Absolute and normalised (no `.`/`..`).
    pub path: PathBuf,
    pub access: Access,
}

impl DirectoryGrant {
    pub fn new(path: impl Into<PathBuf>, access: Access) -> Self {
        DirectoryGrant { path: path.into(), access }
    }

    pub(super) fn parse(text: &str, value: &str, access: Access) -> Result<Self, CapabilityParseError> {
        let path = Path::new(value);
        if !path.is_absolute() {
            return Err(CapabilityParseError::new(text, "the directory must be an absolute path"));
        }
        if path.components().any(|c| matches!(c, Component::ParentDir | Component::CurDir)) {
            return Err(CapabilityParseError::new(text, "the directory must not contain `.` or `..`"));
        }
        Ok(DirectoryGrant { path: path.components().collect(), access })
    }

    pub fn allows_write(&self) -> bool {
        self.access == Access::ReadWrite
    }
}

impl fmt::Display for DirectoryGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.access {
            Access::ReadOnly => "read",
            Access::ReadWrite => "write",
        };
        write!(f, "{kind}:{}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_dotted_paths_are_refused() {
        assert!(DirectoryGrant::parse("read:x", "x", Access::ReadOnly).is_err());
        assert!(DirectoryGrant::parse("read:/a/../etc", "/a/../etc", Access::ReadOnly).is_err());
        let g = DirectoryGrant::parse("read:/a//b/", "/a//b/", Access::ReadOnly).unwrap();
        assert_eq!(g.path, PathBuf::from("/a/b"));
    }
}
