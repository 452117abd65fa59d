//! `pikoci://exec`: runs a task's command directly on the worker, in the build's work directory,
//! with its output streamed into the build log.

use pikoci_sdk::process::{exit_code, Command};
use pikoci_sdk::{NoParams, Result, Runner, Task};

struct Exec;

impl Runner for Exec {
    type Params = NoParams;

    fn run(task: Task<NoParams>) -> Result<i32> {
        let child = Command::new(&task.path).args(task.args).envs(task.env).cwd(&task.dir).spawn()?;
        Ok(exit_code(child.wait()))
    }
}

pikoci_sdk::export_runner!(Exec, name = "exec", capabilities = ["run:{task.path}", "write:{task.dir}"]);
