//! The real `pikoci` binary, run as a user runs it.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `pikoci` with its own cache directory and no docker credentials of the machine.
pub fn pikoci(cache: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pikoci"));
    cmd.env("PIKOCI_CACHE_DIR", cache).env("DOCKER_CONFIG", cache.join("no-docker-config")).stdin(Stdio::null());
    cmd
}

/// `dir/name` holding `text` (a pipeline, a script), for a test to hand to the binary.
pub fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// stdout then stderr, for assertions and their messages.
pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Whether a process is gone (or a zombie waiting to be reaped), waiting up to 10 s.
pub fn process_gone(pid: impl std::fmt::Display) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat) if stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')) => return true,
            Ok(_) if std::time::Instant::now() > deadline => return false,
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    }
}

/// Wait up to 60 s for a file some process writes, and return its trimmed content.
pub fn wait_for_file(path: &Path) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text.trim().to_string();
            }
        }
        assert!(std::time::Instant::now() < deadline, "{} was never written", path.display());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
