//! How a step or a build ended, with Concourse's distinction between failure and error.

pub use pikoci_store::BuildStatus;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// The work ran and said no: a task exited non-zero, a step timed out.
    Failed(String),
    /// The machinery broke: a plugin errored, a configuration was wrong, an input was missing.
    Errored(String),
    /// Someone or something stopped the build (Ctrl-C, cancellation, worker shutdown).
    Aborted,
    /// A build of a job with `allow_failure` failed: a failure, which blocks no job after it.
    Warning(String),
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Succeeded)
    }

    /// The build state this outcome leaves a build in.
    pub fn status(&self) -> BuildStatus {
        match self {
            Outcome::Succeeded => BuildStatus::Succeeded,
            Outcome::Failed(_) => BuildStatus::Failed,
            Outcome::Errored(_) => BuildStatus::Errored,
            Outcome::Aborted => BuildStatus::Aborted,
            Outcome::Warning(_) => BuildStatus::Warning,
        }
    }

    /// Of two outcomes, the one that decides the build: abort over error over failure.
    pub fn worst(self, other: Outcome) -> Outcome {
        fn rank(o: &Outcome) -> u8 {
            match o {
                Outcome::Succeeded => 0,
                Outcome::Warning(_) | Outcome::Failed(_) => 1,
                Outcome::Errored(_) => 2,
                Outcome::Aborted => 3,
            }
        }
        if rank(&other) > rank(&self) {
            other
        } else {
            self
        }
    }
}
