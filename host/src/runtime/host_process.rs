//! The host side of `pikoci:plugin/process`: starting granted programs for a plugin.
//!
//! Every child runs in its own process group with exactly the environment the plugin gave it
//! (plus, inside a build, [`BUILD_MARKER`]). The whole group is killed when the child exits (what
//! it left running in the background goes with it), when the plugin drops the child, or when the
//! call's store goes away (a finished, failed, timed-out or cancelled call), so no plugin leaves
//! processes behind. What escaped the group (`setsid`) still carries the marker, by which the
//! executor finds and kills it when the build ends.

use super::bindings::v0_1::facilities::pikoci::plugin::process::{self as wit, Chunk, Command, ExitStatus, Finished, Output, StreamName};
use super::bindings::v0_1::PluginError;
use super::log_sink::{LineWriter, LogOrigin};
use super::sandbox::{record_denial, PluginState};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use wasmtime::component::Resource;

/// Most bytes `run` keeps of one stream's captured output; the rest is dropped, not buffered.
const MAX_CAPTURE: usize = 64 * 1024 * 1024;

/// A program started by a plugin.
pub struct ChildHandle {
    pid: u32,
    /// `None` once the child was detached: the process then belongs to the build's
    /// [`BackgroundProcesses`], and this handle (still in the plugin's table) no longer owns it.
    child: Option<tokio::process::Child>,
    captured: mpsc::Receiver<Chunk>,
    /// Tasks moving output into the log or the capture channel; awaited before `wait` returns so
    /// that every line is in the log by the time the plugin learns the program ended.
    pumps: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
    /// The container the program runs in, when its type runs its programs in one.
    container: Option<super::container::RunningContainer>,
    /// The inodes of the pipes its output comes through, to find who still holds them.
    pipes: Vec<u64>,
}

/// How long a finished program's output may stay open before whoever holds it is killed.
const PIPE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// The inode of the pipe behind `fd`, if it is one.
fn pipe_inode(fd: &impl std::os::fd::AsRawFd) -> Option<u64> {
    let mut stat = unsafe { std::mem::zeroed::<libc::stat>() };
    let ok = unsafe { libc::fstat(fd.as_raw_fd(), &mut stat) } == 0;
    (ok && stat.st_mode & libc::S_IFMT == libc::S_IFIFO).then_some(stat.st_ino)
}

/// Kill (SIGKILL) every process but this one for which `matches` holds, given its `/proc/PID`
/// directory; how many.
pub(crate) fn kill_processes_where(matches: impl Fn(&Path) -> bool) -> usize {
    let Ok(procs) = std::fs::read_dir("/proc") else { return 0 };
    let me = std::process::id();
    let mut killed = 0;
    for entry in procs.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()).filter(|pid| *pid != me) else { continue };
        if matches(&entry.path()) && unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) } == 0 {
            killed += 1;
        }
    }
    killed
}

/// Kill every other process with one of `pipes` open; how many.
fn kill_pipe_holders(pipes: &[u64]) -> usize {
    let wanted: Vec<String> = pipes.iter().map(|inode| format!("pipe:[{inode}]")).collect();
    kill_processes_where(|proc_dir| {
        let Ok(fds) = std::fs::read_dir(proc_dir.join("fd")) else { return false };
        fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|link| wanted.iter().any(|w| link.as_os_str() == w.as_str())))
    })
}

/// The variable every program started inside a build gets: the build's work directory. It is
/// how the build's processes are found after they left their process group, at the build's end
/// and after a crash (see `executor::workdirs`).
pub const BUILD_MARKER: &str = "PIKOCI_BUILD_DIR";

impl ChildHandle {
    fn kill_group(&self) {
        // The child leads its own group (process_group(0)), so its pid is the group id.
        unsafe {
            libc::killpg(self.pid as libc::pid_t, libc::SIGKILL);
        }
        if let Some(container) = &self.container {
            container.remove();
        }
    }

    async fn wait(&mut self) -> wasmtime::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let Some(child) = self.child.as_mut() else {
            return Err(wasmtime::Error::msg("the child was detached; use stop-detached"));
        };
        let status = child.wait().await?;
        // What the program left behind in its group would hold the output pipes open (and the
        // step with them) and outlive the build. The group id cannot be a new process's yet:
        // the kernel hands out no pid still used as a group id, and this runs right after the
        // leader was reaped.
        unsafe {
            libc::killpg(self.pid as libc::pid_t, libc::SIGKILL);
        }
        let mut pumps = futures_util::future::join_all(self.pumps.drain(..));
        // A process that left the group (`setsid`) and kept the output open would hold the step
        // forever: once the output has had a moment to drain, it is killed.
        if tokio::time::timeout(PIPE_GRACE, &mut pumps).await.is_err() {
            let killed = kill_pipe_holders(&self.pipes);
            tracing::debug!(killed, "killed processes that held a finished program's output open");
            pumps.await;
        }
        let status = exit_status(status);
        self.status = Some(status);
        Ok(status)
    }
}

impl ChildHandle {
    /// Move the process out of this handle, leaving a husk that owns nothing.
    fn take(&mut self) -> Option<ChildHandle> {
        let child = self.child.take()?;
        let (_, closed) = mpsc::channel(1);
        Some(ChildHandle {
            pid: self.pid,
            child: Some(child),
            captured: std::mem::replace(&mut self.captured, closed),
            pumps: std::mem::take(&mut self.pumps),
            status: self.status,
            container: self.container.take(),
            pipes: std::mem::take(&mut self.pipes),
        })
    }

    fn is_running(&mut self) -> bool {
        self.status.is_none() && self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for ChildHandle {
    fn drop(&mut self) {
        if self.status.is_none() && self.child.is_some() {
            self.kill_group();
        }
        for pump in &self.pumps {
            pump.abort();
        }
    }
}

/// Children that plugins detached (a service's server process): they outlive the call that
/// started them and are killed, with their process groups, when the last clone of this scope is
/// dropped, which the executor does when the build ends, however it ends.
#[derive(Clone, Default)]
pub struct BackgroundProcesses(Arc<Mutex<HashMap<u32, ChildHandle>>>);

impl BackgroundProcesses {
    /// How many detached children are still held (running or not yet stopped).
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Kill every child still held.
    pub fn kill_all(&self) {
        let children: Vec<_> = self.0.lock().unwrap().drain().collect();
        drop(children);
    }
}

tokio::task_local! {
    /// The scope the plugin calls made inside [`detaching_into`] leave their detached programs in.
    static DETACH_INTO: BackgroundProcesses;
}

/// Run `calls` with `background` as the place where the programs they detach go (a build's, for
/// its services): a live handle given to each call's state when it is built, not carried in the
/// call's grants, which stay plain data. Outside such a scope a call may not detach anything.
pub async fn detaching_into<F: std::future::Future>(background: &BackgroundProcesses, calls: F) -> F::Output {
    DETACH_INTO.scope(background.clone(), calls).await
}

/// The scope of the calls being made now, if any.
pub(crate) fn current_detach_scope() -> Option<BackgroundProcesses> {
    DETACH_INTO.try_with(|b| b.clone()).ok()
}

tokio::task_local! {
    /// The work directory of the build the plugin calls made inside [`within_build`] belong to.
    static BUILD_DIR: PathBuf;
}

/// Run `calls` as the calls of the build whose work directory is `dir`: each program they start
/// carries [`BUILD_MARKER`]` = dir`.
pub async fn within_build<F: std::future::Future>(dir: &Path, calls: F) -> F::Output {
    BUILD_DIR.scope(dir.to_path_buf(), calls).await
}

/// The work directory of the build the calls being made now belong to, if any.
pub(crate) fn current_build_dir() -> Option<PathBuf> {
    BUILD_DIR.try_with(|d| d.clone()).ok()
}

impl std::fmt::Debug for BackgroundProcesses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.lock().unwrap().keys()).finish()
    }
}

fn exit_status(status: std::process::ExitStatus) -> ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitStatus::Code(code),
        (None, Some(signal)) => ExitStatus::Signal(signal),
        (None, None) => ExitStatus::Code(-1),
    }
}

impl PluginState {
    /// Check a command against the grants and start it.
    fn start(&mut self, cmd: Command) -> Result<ChildHandle, PluginError> {
        let host_path = std::env::var("PATH").ok();
        let program = match &self.grants.container {
            Some(_) if self.grants.programs.permits_in_container(&cmd.program) => Some(PathBuf::from(&cmd.program)),
            Some(_) => None,
            None => self.grants.programs.resolve(&cmd.program, host_path.as_deref()),
        };
        let Some(program) = program else {
            let what = format!("run {}", cmd.program);
            record_denial(&self.report, what.clone());
            return Err(PluginError::CapabilityDenied(what));
        };
        let cwd = match &cmd.cwd {
            Some(dir) => {
                let dir = Path::new(dir);
                if !dir.is_absolute() || self.grants.directory_for(dir).is_none() {
                    let what = format!("run {} in {}", cmd.program, dir.display());
                    record_denial(&self.report, what.clone());
                    return Err(PluginError::CapabilityDenied(what));
                }
                dir.to_path_buf()
            }
            None => "/".into(),
        };

        let (program, args, env, container) = match (&self.grants.container, &self.grants.sandbox) {
            // The engine runs as the worker's user, and the pipeline's `args` may mount any of
            // its files: no way out of the sandbox for a confined team.
            (Some(_), Some(_)) => {
                return Err(PluginError::Failed(format!(
                    "cannot run {} in a container: the engine runs as the worker's user, outside the sandbox this team's programs must run in",
                    cmd.program
                )))
            }
            (Some(params), None) => super::container::wrap(params, &program, &cmd, &cwd, &self.grants)?,
            (None, Some(sandbox)) => {
                let home = cmd.env.iter().find(|(name, _)| name == "HOME").map(|(_, home)| Path::new(home));
                let (bwrap, args) = sandbox.wrap(&program, &cmd.args, &cwd, &self.grants, self.build_dir.as_deref(), home);
                (bwrap, args, cmd.env.clone(), None)
            }
            (None, None) => (program, cmd.args.clone(), cmd.env.clone(), None),
        };
        let mut command = tokio::process::Command::new(&program);
        command
            .args(&args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .envs(self.build_dir.iter().map(|dir| (BUILD_MARKER, dir)))
            .current_dir(&cwd)
            .process_group(0)
            .stdin(if cmd.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(stdio_for(cmd.stdout))
            .stderr(stdio_for(cmd.stderr));
        let mut child = command.spawn().map_err(|e| PluginError::Failed(format!("cannot start {}: {e}", program.display())))?;
        let pid = child.id().unwrap_or_default();

        if let (Some(bytes), Some(mut stdin)) = (cmd.stdin, child.stdin.take()) {
            tokio::spawn(async move {
                // A child that exits without reading its input is not an error of the plugin's.
                let _ = stdin.write_all(&bytes).await;
            });
        }

        let pipes = child.stdout.iter().filter_map(pipe_inode).chain(child.stderr.iter().filter_map(pipe_inode)).collect();
        let (sender, captured) = mpsc::channel(64);
        let mut pumps = Vec::new();
        if let Some(out) = child.stdout.take() {
            pumps.push(self.pump(out, cmd.stdout, StreamName::Stdout, LogOrigin::Stdout, sender.clone()));
        }
        if let Some(err) = child.stderr.take() {
            pumps.push(self.pump(err, cmd.stderr, StreamName::Stderr, LogOrigin::Stderr, sender));
        }
        Ok(ChildHandle { pid, child: Some(child), captured, pumps, status: None, container, pipes })
    }

    fn pump(
        &self,
        mut stream: impl AsyncRead + Unpin + Send + 'static,
        mode: Output,
        origin: StreamName,
        log_origin: LogOrigin,
        captured: mpsc::Sender<Chunk>,
    ) -> JoinHandle<()> {
        let log = self.log.clone();
        tokio::spawn(async move {
            let mut lines = LineWriter::new(log, log_origin);
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                match mode {
                    Output::Log => {
                        lines.push(&buf[..n]);
                        // Back-pressure: the program waits on its pipe while the log catches up.
                        lines.room().await;
                    }
                    Output::Capture => {
                        if captured.send(Chunk { origin, data: buf[..n].to_vec() }).await.is_err() {
                            break;
                        }
                    }
                    Output::Discard => {}
                }
            }
        })
    }
}

fn stdio_for(output: Output) -> Stdio {
    match output {
        Output::Discard => Stdio::null(),
        Output::Log | Output::Capture => Stdio::piped(),
    }
}

impl wit::Host for PluginState {
    async fn stop_detached(&mut self, handle: u32) -> wasmtime::Result<Result<(), PluginError>> {
        let child = self.background.as_ref().and_then(|b| b.0.lock().unwrap().remove(&handle));
        let Some(mut child) = child else {
            return Ok(Err(PluginError::Failed(format!("no detached process {handle} in this build"))));
        };
        if child.status.is_none() {
            child.kill_group();
        }
        child.wait().await?;
        Ok(Ok(()))
    }

    async fn is_running(&mut self, handle: u32) -> wasmtime::Result<bool> {
        let Some(background) = &self.background else { return Ok(false) };
        let mut children = background.0.lock().unwrap();
        Ok(children.get_mut(&handle).is_some_and(ChildHandle::is_running))
    }

    async fn spawn(&mut self, cmd: Command) -> wasmtime::Result<Result<Resource<ChildHandle>, PluginError>> {
        match self.start(cmd) {
            Ok(child) => Ok(Ok(self.table.push(child)?)),
            Err(e) => Ok(Err(e)),
        }
    }

    async fn run(&mut self, cmd: Command) -> wasmtime::Result<Result<Finished, PluginError>> {
        let mut child = match self.start(cmd) {
            Ok(child) => child,
            Err(e) => return Ok(Err(e)),
        };
        // Read while waiting: the output ends when the program and what it left behind are gone,
        // which `wait` sees to, and the program may need its output read before it can exit.
        let (_, closed) = mpsc::channel(1);
        let mut captured = std::mem::replace(&mut child.captured, closed);
        let read_all = async move {
            let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
            while let Some(chunk) = captured.recv().await {
                let target = if chunk.origin == StreamName::Stdout { &mut stdout } else { &mut stderr };
                let room = MAX_CAPTURE.saturating_sub(target.len());
                target.extend_from_slice(&chunk.data[..chunk.data.len().min(room)]);
            }
            (stdout, stderr)
        };
        let (status, (stdout, stderr)) = tokio::join!(child.wait(), read_all);
        Ok(Ok(Finished { status: status?, stdout, stderr }))
    }
}

impl wit::HostChild for PluginState {
    async fn pid(&mut self, child: Resource<ChildHandle>) -> wasmtime::Result<u32> {
        Ok(self.table.get(&child)?.pid)
    }

    async fn read(&mut self, child: Resource<ChildHandle>) -> wasmtime::Result<Option<Chunk>> {
        Ok(self.table.get_mut(&child)?.captured.recv().await)
    }

    async fn wait(&mut self, child: Resource<ChildHandle>) -> wasmtime::Result<ExitStatus> {
        self.table.get_mut(&child)?.wait().await
    }

    async fn kill(&mut self, child: Resource<ChildHandle>) -> wasmtime::Result<()> {
        let child = self.table.get_mut(&child)?;
        if child.status.is_none() && child.child.is_some() {
            child.kill_group();
        }
        Ok(())
    }

    async fn detach(&mut self, child: Resource<ChildHandle>) -> wasmtime::Result<Result<u32, PluginError>> {
        let Some(background) = self.background.clone() else {
            let what = "leave a process running after the call".to_string();
            record_denial(&self.report, what.clone());
            return Ok(Err(PluginError::CapabilityDenied(what)));
        };
        // `detach` borrows the child: the guest keeps its handle, which becomes an empty husk.
        let Some(taken) = self.table.get_mut(&child)?.take() else {
            return Ok(Err(PluginError::Failed("the child was already detached".into())));
        };
        let pid = taken.pid;
        background.0.lock().unwrap().insert(pid, taken);
        Ok(Ok(pid))
    }

    async fn drop(&mut self, child: Resource<ChildHandle>) -> wasmtime::Result<()> {
        self.table.delete(child)?;
        Ok(())
    }
}
