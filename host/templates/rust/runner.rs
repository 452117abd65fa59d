//! {{name}}: a pikoci runner. Runs a task's command on the worker, its output into the build log.
use pikoci_sdk::process::Command;
use pikoci_sdk::{NoParams, Result, Runner, Task};

/// The command for a task; pure logic, so it is tested without a sandbox.
fn command_line(task: &Task<NoParams>) -> Vec<String> {
    std::iter::once(task.path.clone()).chain(task.args.iter().cloned()).collect()
}

struct Plugin;

impl Runner for Plugin {
    type Params = NoParams;

    fn run(task: Task<NoParams>) -> Result<i32> {
        let argv = command_line(&task);
        let finished = Command::new(&argv[0]).args(&argv[1..]).envs(task.env.clone()).cwd(&task.dir).run()?;
        Ok(finished.code())
    }
}

// A pipeline grants which programs it may start (`run:make`) and the work directory.
pikoci_sdk::export_runner!(Plugin, name = "{{name}}");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_the_path_then_the_args() {
        let task = Task { path: "make".into(), args: vec!["test".into()], env: vec![], dir: "/w".into(), params: NoParams };
        assert_eq!(command_line(&task), ["make", "test"]);
    }
}
