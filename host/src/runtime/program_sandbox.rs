//! Confining the programs plugins start (tasks, `git`, service servers) with bubblewrap.
//!
//! A WebAssembly plugin sees only what it was granted, but a program it starts is a native
//! process: left alone it runs as the worker's user, sees the worker's files (its database, other
//! builds' directories) and, through `/proc`, the worker's environment. Inside the sandbox a
//! program sees the system's programs and libraries read-only, `/etc` without what only its owner
//! may read, its build's `/tmp`, `/proc` of its own processes, an empty home, and the directories
//! the plugin was granted, with the access they were granted. It runs as `nobody` in user, PID,
//! IPC and UTS namespaces of its own, and what it started ends with it. The network is the
//! worker's: a task reaches the hosts the worker reaches.

use super::capability::{Access, Capabilities};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

/// What `--task-sandbox` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SandboxMode {
    /// Confine every team's programs but the default team's; where bubblewrap does not work
    /// here, the other teams' programs do not start.
    Auto,
    /// Confine every team's programs, or refuse to start.
    Bubblewrap,
    /// Programs run as the worker's user with its files in view.
    None,
}

/// Whose programs a worker confines. The default team is the operator's, as with `--team-env`:
/// unless told otherwise its programs see the worker as PikoCI's do, so a pipeline that builds in
/// a directory of the machine keeps working; the teams the operator added are its tenants.
#[derive(Debug, Clone, Default)]
pub struct SandboxPolicy {
    /// `None`: no program is confined. `Some(Err(why))`: programs that must be confined cannot
    /// be here, and do not start.
    sandbox: Option<Result<Arc<ProgramSandbox>, String>>,
    unconfined_team: Option<String>,
}

/// How the programs of one team start.
pub enum Confinement {
    Unconfined,
    Confined(Arc<ProgramSandbox>),
    /// They may not start: this worker cannot confine them, for this reason.
    Impossible(String),
}

impl SandboxPolicy {
    /// The policy `mode` asks for on this machine, `default_team` being the operator's.
    pub fn for_server(mode: SandboxMode, default_team: &str) -> Result<SandboxPolicy, String> {
        match mode {
            SandboxMode::None => Ok(SandboxPolicy::default()),
            SandboxMode::Bubblewrap => Ok(SandboxPolicy { sandbox: Some(Ok(Arc::new(ProgramSandbox::bubblewrap()?))), unconfined_team: None }),
            SandboxMode::Auto => {
                let sandbox = ProgramSandbox::bubblewrap().map(Arc::new);
                if let Err(why) = &sandbox {
                    tracing::warn!("only the default team's builds may start programs: {why}");
                }
                Ok(SandboxPolicy { sandbox: Some(sandbox), unconfined_team: Some(default_team.to_string()) })
            }
        }
    }

    /// How the programs of `team`'s builds and checks start.
    pub fn for_team(&self, team: &str) -> Confinement {
        match (&self.sandbox, &self.unconfined_team) {
            (None, _) => Confinement::Unconfined,
            (Some(_), Some(unconfined)) if unconfined == team => Confinement::Unconfined,
            (Some(Ok(sandbox)), _) => Confinement::Confined(sandbox.clone()),
            (Some(Err(why)), _) => Confinement::Impossible(why.clone()),
        }
    }
}

/// The top-level system directories shown read-only (or as the symlinks they are).
const SYSTEM_DIRS: &[&str] = &["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/// The directory of a build's work directory that its confined programs see as `/tmp`.
pub const BUILD_TMP: &str = ".pikoci-tmp";

/// The uid and gid programs run as inside: `nobody`, so nothing of the worker's is theirs by name.
const NOBODY: &str = "65534";

/// How programs are confined: bubblewrap's path and what of `/etc` it hides.
#[derive(Debug, Clone)]
pub struct ProgramSandbox {
    bwrap: PathBuf,
    /// What in `/etc` only its owner or group may read: inside, the program's uid maps to the
    /// worker's, so it would read what the worker's user owns.
    hidden: Vec<Hidden>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Hidden {
    File(PathBuf),
    Dir(PathBuf),
}

impl ProgramSandbox {
    /// bubblewrap from `PATH`, once it has run a program here.
    pub fn bubblewrap() -> Result<ProgramSandbox, String> {
        let bwrap = super::capability::find_on_path("bwrap", None).ok_or(
            "bubblewrap (`bwrap`) is not installed; install the `bubblewrap` package, or pass --task-sandbox none to run every team's programs unconfined",
        )?;
        let sandbox = ProgramSandbox { bwrap, hidden: hidden_under(Path::new("/etc")) };
        sandbox.probe()?;
        Ok(sandbox)
    }

    /// Run `true` confined: namespaces can be refused (a container without user namespaces).
    fn probe(&self) -> Result<(), String> {
        let truth = super::capability::find_on_path("true", Some("/usr/bin:/bin")).ok_or("no `true` program in /usr/bin or /bin")?;
        let (program, args) = self.wrap(&truth, &[], Path::new("/"), &Capabilities::default(), None, None);
        let output = std::process::Command::new(&program)
            .args(&args)
            .env_clear()
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} cannot make a sandbox here ({}): {}; pass --task-sandbox none to run programs unconfined",
                self.bwrap.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }

    /// The command that runs `program args` in `cwd` confined to `grants`, the build's directory
    /// and `home` (made an empty directory): bubblewrap's path and arguments.
    pub fn wrap(
        &self,
        program: &Path,
        args: &[String],
        cwd: &Path,
        grants: &Capabilities,
        build_dir: Option<&Path>,
        home: Option<&Path>,
    ) -> (PathBuf, Vec<String>) {
        let mut out = Arguments::default();
        // No --die-with-parent: it fires when the thread that started bwrap ends, and a runtime's
        // threads come and go. Killing bwrap's process group ends the sandbox, PID 1 included.
        out.flags(&["--unshare-user", "--uid", NOBODY, "--gid", NOBODY]);
        out.flags(&["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "pikoci"]);
        for dir in SYSTEM_DIRS {
            match std::fs::read_link(dir) {
                Ok(target) => out.pair("--symlink", &target, Path::new(dir)),
                Err(_) if Path::new(dir).is_dir() => out.pair("--ro-bind", Path::new(dir), Path::new(dir)),
                Err(_) => {}
            }
        }
        out.pair("--ro-bind", Path::new("/etc"), Path::new("/etc"));
        for hidden in &self.hidden {
            match hidden {
                Hidden::File(file) => out.pair("--ro-bind", Path::new("/dev/null"), file),
                Hidden::Dir(dir) => out.one("--tmpfs", dir),
            }
        }
        out.one("--proc", Path::new("/proc"));
        out.one("--dev", Path::new("/dev"));
        // The programs of one build share a /tmp (a service's data, a pid file), kept in the
        // build's directory; other programs get one of their own.
        match build_dir.map(|dir| dir.join(BUILD_TMP)).filter(|tmp| std::fs::create_dir_all(tmp).is_ok()) {
            Some(tmp) => out.pair("--bind", &tmp, Path::new("/tmp")),
            None => out.one("--tmpfs", Path::new("/tmp")),
        }
        if let Some(home) = home.filter(|h| h.is_absolute() && *h != Path::new("/")) {
            out.one("--tmpfs", home);
        }
        // Outer directories first, so that a grant inside another keeps its own access.
        let mut binds: Vec<(&Path, Access)> = grants.directories.iter().map(|d| (d.path.as_path(), d.access)).collect();
        binds.extend(build_dir.map(|dir| (dir, Access::ReadWrite)));
        binds.sort_by_key(|(path, _)| path.components().count());
        for (path, access) in binds {
            let flag = if access == Access::ReadWrite { "--bind-try" } else { "--ro-bind-try" };
            out.pair(flag, path, path);
        }
        // A program from outside the system directories (a tool in /opt) is shown on its own.
        if !SYSTEM_DIRS.iter().any(|dir| program.starts_with(dir)) && program.is_absolute() {
            out.pair("--ro-bind-try", program, program);
        }
        out.one("--chdir", cwd);
        out.flags(&["--"]);
        out.0.push(program.to_string_lossy().into_owned());
        out.0.extend(args.iter().cloned());
        (self.bwrap.clone(), out.0)
    }
}

#[derive(Default)]
struct Arguments(Vec<String>);

impl Arguments {
    fn flags(&mut self, flags: &[&str]) {
        self.0.extend(flags.iter().map(|f| f.to_string()));
    }

    fn one(&mut self, flag: &str, path: &Path) {
        self.0.extend([flag.to_string(), path.to_string_lossy().into_owned()]);
    }

    fn pair(&mut self, flag: &str, from: &Path, to: &Path) {
        self.0.extend([flag.to_string(), from.to_string_lossy().into_owned(), to.to_string_lossy().into_owned()]);
    }
}

/// What under `root` others may not read (a file) or enter (a directory), outermost first; what
/// lies inside a hidden directory is not looked at.
fn hidden_under(root: &Path) -> Vec<Hidden> {
    use std::os::unix::fs::PermissionsExt;
    let mut hidden = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            // Not followed: a symlink leads to what is hidden or shown on its own.
            let Ok(meta) = entry.path().symlink_metadata() else { continue };
            let others = meta.permissions().mode() & 0o007;
            if meta.is_dir() {
                if others & 0o5 != 0o5 {
                    hidden.push(Hidden::Dir(entry.path()));
                } else {
                    pending.push(entry.path());
                }
            } else if meta.is_file() && others & 0o4 == 0 {
                hidden.push(Hidden::File(entry.path()));
            }
        }
    }
    hidden
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn what_others_may_not_read_is_hidden_and_not_entered() {
        let root = tempfile::tempdir().unwrap();
        let set = |path: &Path, mode: u32| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        std::fs::write(root.path().join("public"), "x").unwrap();
        std::fs::write(root.path().join("shadow"), "x").unwrap();
        set(&root.path().join("shadow"), 0o640);
        std::fs::create_dir_all(root.path().join("ssl/private")).unwrap();
        std::fs::write(root.path().join("ssl/private/key"), "x").unwrap();
        set(&root.path().join("ssl/private"), 0o700);
        std::fs::create_dir(root.path().join("open")).unwrap();
        std::fs::write(root.path().join("open/secret"), "x").unwrap();
        set(&root.path().join("open/secret"), 0o600);

        let hidden = hidden_under(root.path());
        assert_eq!(
            hidden,
            vec![Hidden::File(root.path().join("shadow")), Hidden::Dir(root.path().join("ssl/private")), Hidden::File(root.path().join("open/secret"))]
        );
    }

    #[test]
    fn inner_grants_are_bound_after_outer_ones_and_the_home_is_emptied() {
        let sandbox = ProgramSandbox { bwrap: "/usr/bin/bwrap".into(), hidden: vec![Hidden::File("/etc/shadow".into())] };
        let mut grants = Capabilities::default();
        grants.grant_all(["read:/srv/repo/sub", "write:/srv/repo"]).unwrap();
        let (program, args) = sandbox.wrap(Path::new("/opt/tool/bin/tool"), &["x".into()], Path::new("/srv/repo"), &grants, None, Some(Path::new("/root")));
        assert_eq!(program, Path::new("/usr/bin/bwrap"));
        let text = args.join(" ");
        let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle} missing from {text}"));
        assert!(at("--bind-try /srv/repo /srv/repo") < at("--ro-bind-try /srv/repo/sub /srv/repo/sub"));
        assert!(at("--ro-bind /dev/null /etc/shadow") > at("--ro-bind /etc /etc"));
        assert!(at("--tmpfs /root") > at("--tmpfs /tmp"));
        assert!(text.contains("--ro-bind-try /opt/tool/bin/tool /opt/tool/bin/tool"));
        assert!(text.ends_with("--chdir /srv/repo -- /opt/tool/bin/tool x"), "{text}");
    }
}
