//! Build work directories. Each is named after the process that made it
//! (`pikoci-build-PID-XXXXXX`), so that a worker restarted after a crash, a SIGKILL or a power cut
//! can remove what its dead predecessors left behind without touching a live worker's builds:
//! the directories, and the task processes still running in them or started for them.

use std::path::{Path, PathBuf};

const PREFIX: &str = "pikoci-build-";
const KEPT_PREFIX: &str = "pikoci-kept-";

fn root_or_temp(root: Option<&Path>) -> PathBuf {
    root.map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir)
}

pub fn make(root: Option<&Path>) -> std::io::Result<tempfile::TempDir> {
    let root = root_or_temp(root);
    std::fs::create_dir_all(&root)?;
    tempfile::Builder::new().prefix(&format!("{PREFIX}{}-", std::process::id())).tempdir_in(root)
}

/// Keep a build's directory for debugging, out of reach of `remove_orphans`: renamed from
/// `pikoci-build-PID-X` to `pikoci-kept-PID-X` (left where it is if the rename fails).
pub fn keep(dir: tempfile::TempDir) -> PathBuf {
    let path = dir.keep();
    let renamed =
        path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_prefix(PREFIX)).map(|rest| path.with_file_name(format!("{KEPT_PREFIX}{rest}")));
    match renamed {
        Some(to) if std::fs::rename(&path, &to).is_ok() => to,
        _ => path,
    }
}

/// Kill the processes of the build whose work directory is `dir`: those working in it or below
/// it, and those started for it wherever they went since (they carry
/// [`BUILD_MARKER`](crate::runtime::host_process::BUILD_MARKER)` = dir` in their environment).
/// Returns how many.
pub fn kill_processes_of(dir: &Path) -> usize {
    if dir.as_os_str().is_empty() {
        return 0;
    }
    let marker = format!("{}={}", crate::runtime::host_process::BUILD_MARKER, dir.display()).into_bytes();
    crate::runtime::host_process::kill_processes_where(|proc_dir| {
        let works_in = || std::fs::read_link(proc_dir.join("cwd")).is_ok_and(|cwd| cwd.starts_with(dir));
        let marked = || std::fs::read(proc_dir.join("environ")).is_ok_and(|env| env.split(|b| *b == 0).any(|var| var == marker.as_slice()));
        works_in() || marked()
    })
}

/// Remove the work directories of processes that no longer run, killing what still runs in them;
/// returns how many directories.
pub fn remove_orphans(root: Option<&Path>) -> usize {
    let Ok(entries) = std::fs::read_dir(root_or_temp(root)) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)).and_then(|rest| rest.split_once('-')).and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let killed = kill_processes_of(&entry.path());
        if killed > 0 {
            tracing::info!(dir = %entry.path().display(), killed, "killed processes a dead worker left running");
        }
        if std::fs::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_dead_processes_directories_go() {
        let root = tempfile::tempdir().unwrap();
        let mine = make(Some(root.path())).unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let orphan = root.path().join(format!("{PREFIX}{dead}-abc123"));
        std::fs::create_dir_all(orphan.join("app")).unwrap();
        let unrelated = root.path().join("pikoci-build-notapid");
        std::fs::create_dir(&unrelated).unwrap();
        // A task the dead worker left running in its directory, and one of a live build.
        let mut left_running = std::process::Command::new("sleep").arg("60").current_dir(orphan.join("app")).spawn().unwrap();
        let mut live = std::process::Command::new("sleep").arg("60").current_dir(mine.path()).spawn().unwrap();
        assert_eq!(remove_orphans(Some(root.path())), 1);
        assert!(!orphan.exists() && mine.path().exists() && unrelated.exists());
        assert!(left_running.wait().unwrap().code().is_none(), "killed by a signal");
        assert!(live.try_wait().unwrap().is_none(), "a live worker's task runs on");
        live.kill().unwrap();
        live.wait().unwrap();
    }

    #[test]
    fn a_kept_directory_outlives_its_process() {
        let root = tempfile::tempdir().unwrap();
        let kept = keep(make(Some(root.path())).unwrap());
        assert!(kept.file_name().unwrap().to_str().unwrap().starts_with(KEPT_PREFIX), "{kept:?}");
        assert_eq!(remove_orphans(Some(root.path())), 0);
        assert!(kept.exists());
    }
}
