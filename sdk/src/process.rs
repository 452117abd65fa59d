//! Starting the programs the pipeline granted this plugin.
//!
//! ```ignore
//! let out = pikoci_sdk::process::Command::new("git")
//!     .args(["rev-parse", "HEAD"])
//!     .cwd(dir)
//!     .capture()
//!     .run()?;
//! ```

use crate::bindings::pikoci::plugin::process as wit;
use crate::{Error, Result};
use std::path::Path;

pub use wit::{is_running, stop_detached, Child, Chunk, ExitStatus, Output, StreamName};

/// A program to start; stdout and stderr go to the build log unless [`Command::capture`] is set.
#[derive(Debug, Clone)]
pub struct Command {
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    cwd: Option<String>,
    stdout: Output,
    stderr: Output,
    stdin: Option<Vec<u8>>,
}

impl Command {
    pub fn new(program: impl Into<String>) -> Self {
        Command {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            stdout: Output::Log,
            stderr: Output::Log,
            stdin: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env.extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_string_lossy().into_owned());
        self
    }

    /// Keep stdout and stderr for the plugin instead of sending them to the build log.
    pub fn capture(mut self) -> Self {
        self.stdout = Output::Capture;
        self.stderr = Output::Capture;
        self
    }

    pub fn stdout(mut self, to: Output) -> Self {
        self.stdout = to;
        self
    }

    pub fn stderr(mut self, to: Output) -> Self {
        self.stderr = to;
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    fn to_wit(&self) -> wit::Command {
        wit::Command {
            program: self.program.clone(),
            args: self.args.clone(),
            env: self.env.clone(),
            cwd: self.cwd.clone(),
            stdout: self.stdout,
            stderr: self.stderr,
            stdin: self.stdin.clone(),
        }
    }

    /// Start the program and return at once.
    pub fn spawn(&self) -> Result<wit::Child> {
        wit::spawn(&self.to_wit()).map_err(Error::from)
    }

    /// Run the program to its end.
    pub fn run(&self) -> Result<Finished> {
        let finished = wit::run(&self.to_wit()).map_err(Error::from)?;
        Ok(Finished { status: finished.status, stdout: finished.stdout, stderr: finished.stderr })
    }

    /// Run the program and fail unless it exits with code 0; returns its captured stdout as text.
    pub fn run_ok(&self) -> Result<String> {
        let finished = self.run()?;
        if finished.success() {
            return Ok(finished.stdout_text());
        }
        let stderr = String::from_utf8_lossy(&finished.stderr);
        Err(Error::failed(format!(
            "`{} {}` {}{}{}",
            self.program,
            self.args.join(" "),
            describe(finished.status),
            if stderr.trim().is_empty() { "" } else { ": " },
            stderr.trim()
        )))
    }
}

/// A command as pipelines write one (`check "exec" { path = "...", args = [...] }`), for plugins
/// that run commands a pipeline defines.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    pub path: String,
    #[serde(default)]
    pub args: Vec<String>,
}

impl CommandSpec {
    /// A [`Command`] for this spec with the environment `env`.
    pub fn command(&self, env: Vec<(String, String)>) -> Command {
        Command::new(&self.path).args(self.args.iter().cloned()).envs(env)
    }
}

/// What a finished program left behind.
#[derive(Debug, Clone)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Finished {
    pub fn success(&self) -> bool {
        matches!(self.status, ExitStatus::Code(0))
    }

    /// The exit code, or 128 + the signal number as a shell reports a killed program.
    pub fn code(&self) -> i32 {
        exit_code(self.status)
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// The exit code of a status, with a killed program reported as 128 + signal, as shells do.
pub fn exit_code(status: ExitStatus) -> i32 {
    match status {
        ExitStatus::Code(c) => c,
        ExitStatus::Signal(s) => 128 + s,
    }
}

fn describe(status: ExitStatus) -> String {
    match status {
        ExitStatus::Code(c) => format!("exited with code {c}"),
        ExitStatus::Signal(s) => format!("was killed by signal {s}"),
    }
}
