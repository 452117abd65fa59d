//! Program grants: which executables a plugin may start through the process interface.

use super::CapabilityParseError;
use std::fmt;
use std::path::{Path, PathBuf};

/// One program a plugin may start: a bare name (found on the worker's PATH when started) or an
/// absolute path. `*` allows any program, for runners such as `exec` whose job is to run the
/// pipeline's own commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramGrant {
    Any,
    Name(String),
    Path(PathBuf),
}

impl ProgramGrant {
    pub(super) fn parse(text: &str, value: &str) -> Result<Self, CapabilityParseError> {
        match value {
            "" => Err(CapabilityParseError::new(text, "expected run:PROGRAM (a name, an absolute path or *)")),
            "*" => Ok(ProgramGrant::Any),
            v if v.starts_with('/') => Ok(ProgramGrant::Path(PathBuf::from(v))),
            v if v.contains('/') => Err(CapabilityParseError::new(text, "a program is a bare name or an absolute path")),
            v => Ok(ProgramGrant::Name(v.to_string())),
        }
    }
}

impl fmt::Display for ProgramGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProgramGrant::Any => f.write_str("*"),
            ProgramGrant::Name(n) => f.write_str(n),
            ProgramGrant::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct AllowedPrograms(Vec<ProgramGrant>);

impl AllowedPrograms {
    pub fn push(&mut self, grant: ProgramGrant) {
        self.0.push(grant);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The executable to start for `requested`, or `None` when it is not granted.
    ///
    /// A bare name is resolved on `search_path` before checking, so that granting `git` also
    /// allows `/usr/bin/git` and asking for `/usr/bin/git` is allowed by a grant of `git`.
    pub fn resolve(&self, requested: &str, search_path: Option<&str>) -> Option<PathBuf> {
        let resolved = if requested.contains('/') { PathBuf::from(requested) } else { find_on_path(requested, search_path)? };
        let granted = self.0.iter().any(|grant| match grant {
            ProgramGrant::Any => true,
            ProgramGrant::Path(p) => *p == resolved,
            ProgramGrant::Name(name) => {
                requested == name
                    || (resolved.file_name().is_some_and(|f| f == name.as_str()) && find_on_path(name, search_path).as_deref() == Some(resolved.as_path()))
            }
        });
        granted.then_some(resolved)
    }
}

impl AllowedPrograms {
    /// Whether `requested` is granted by name or path, without looking for it on this machine: a
    /// program that runs inside a container is the image's, not the worker's.
    pub fn permits_in_container(&self, requested: &str) -> bool {
        let base = requested.rsplit('/').next().unwrap_or(requested);
        self.0.iter().any(|grant| match grant {
            ProgramGrant::Any => true,
            ProgramGrant::Path(p) => p.as_os_str() == requested,
            ProgramGrant::Name(name) => name == requested || name == base,
        })
    }
}

pub fn find_on_path(name: &str, search_path: Option<&str>) -> Option<PathBuf> {
    let search_path = search_path.map(str::to_string).or_else(|| std::env::var("PATH").ok())?;
    std::env::split_paths(&search_path).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(grants: &[&str]) -> AllowedPrograms {
        let mut a = AllowedPrograms::default();
        for g in grants {
            a.push(ProgramGrant::parse(g, g).unwrap());
        }
        a
    }

    #[test]
    fn a_name_grant_allows_the_name_and_its_resolved_path_only() {
        let sh = find_on_path("sh", None).expect("sh on PATH");
        let a = allowed(&["sh"]);
        assert_eq!(a.resolve("sh", None), Some(sh.clone()));
        assert_eq!(a.resolve(sh.to_str().unwrap(), None), Some(sh));
        assert_eq!(a.resolve("ls", None), None);
        assert_eq!(a.resolve("/bin/ls", None), None);
    }

    #[test]
    fn nothing_is_allowed_by_default_and_star_allows_anything() {
        assert_eq!(AllowedPrograms::default().resolve("sh", None), None);
        assert!(allowed(&["*"]).resolve("sh", None).is_some());
    }
}
