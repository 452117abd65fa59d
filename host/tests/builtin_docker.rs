//! The built-in `docker` runner driving the real podman CLI (no Docker engine runs on the test
//! machines) with a busybox image imported from Debian's busybox-static, as a pipeline would.

mod support;

use pikoci::executor::grants::CallValues;
use pikoci::runtime::{CallError, TaskSpec};
use serde_json::{json, Value};
use std::path::Path;
use support::builtins::{bound, call_grants};
use support::podman::{containers_conf, import_busybox, ENGINE_ARGS};

/// Podman as this machine needs it: its engine flags, no default ulimits, the host's network.
fn podman_params(dir: &Path, image: &str, extra: Value) -> Value {
    let mut params = json!({
        "image": image,
        "engine": "podman",
        "engine_args": ENGINE_ARGS,
        "engine_env": {"CONTAINERS_CONF": containers_conf(dir)},
    });
    params.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    params
}

async fn run(task: &TaskSpec) -> (Result<i32, CallError>, String) {
    let runner = bound("docker");
    let values = CallValues { params: Some(&task.params), task_path: Some(&task.path), task_dir: Some(&task.dir), ..Default::default() };
    let grants = call_grants(&runner, &values, &[format!("write:{}", task.dir)]);
    let (log, sink) = support::log();
    let result = runner.plugin.run(&grants, sink, task).await;
    (result, log.text())
}

#[tokio::test]
async fn a_task_runs_in_a_podman_container_with_the_workdir_mounted() {
    let scratch = tempfile::tempdir().unwrap();
    let image = import_busybox(scratch.path());
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().display().to_string();

    // PikoCI style: `cmd` in /bin/sh -ec, `args` are extra run flags.
    let task = TaskSpec {
        path: String::new(),
        args: vec!["--network".into(), "host".into()],
        env: vec![
            ("GREETING".into(), "busybox".into()),
            ("WORKDIR".into(), dir.clone()),
            ("PIKOCI_OUTPUT".into(), format!("{dir}/.pikoci-output-1")),
            ("NEARBY".into(), format!("{dir}-not-inside")),
            ("PATH".into(), "/not/for/the/container".into()),
        ],
        dir: dir.clone(),
        params: podman_params(
            scratch.path(),
            &image.name,
            json!({"cmd": "echo hello from $GREETING in $(pwd) with WORKDIR=$WORKDIR; echo built > out.txt; echo tag=1 >> $PIKOCI_OUTPUT; echo near $NEARBY; exit 3"}),
        ),
    };
    let (code, log) = run(&task).await;
    assert_eq!(code.unwrap(), 3, "{log}");
    assert!(log.contains("hello from busybox in /workdir with WORKDIR=/workdir"), "{log}");
    assert_eq!(std::fs::read_to_string(work.path().join("out.txt")).unwrap(), "built\n");
    // Paths in the work directory are where the container has them; others are left alone.
    assert_eq!(std::fs::read_to_string(work.path().join(".pikoci-output-1")).unwrap(), "tag=1\n");
    assert!(log.contains(&format!("near {dir}-not-inside")), "{log}");

    // Exec style: `path` and `args` are the container's command.
    let task = TaskSpec {
        path: "cat".into(),
        args: vec!["out.txt".into()],
        env: Vec::new(),
        dir: dir.clone(),
        params: podman_params(scratch.path(), &image.name, json!({"run_args": ["--network", "host"]})),
    };
    let (code, log) = run(&task).await;
    assert_eq!(code.unwrap(), 0, "{log}");
    assert!(log.lines().any(|l| l == "built"), "{log}");

    // The engine's own failure (an image that does not exist) errors rather than fails the task.
    let task = TaskSpec {
        params: podman_params(
            scratch.path(),
            &image.name,
            json!({"image": "localhost/pikoci-no-such-image:none", "cmd": "true", "run_args": ["--pull", "never"]}),
        ),
        ..task
    };
    let (result, _) = run(&task).await;
    assert!(result.unwrap_err().to_string().contains("could not run the container"));
}

#[tokio::test]
async fn bad_run_blocks_are_named() {
    let task = |params: Value| TaskSpec { path: String::new(), args: vec![], env: vec![], dir: "/tmp".into(), params };
    let (result, _) = run(&task(json!({"image": "x", "cmd": "true", "engine": "lxc"}))).await;
    assert!(matches!(&result, Err(CallError::InvalidConfig { message, .. }) if message.contains("engine")), "{result:?}");
    let (result, _) = run(&task(json!({"cmd": "true"}))).await;
    assert!(matches!(&result, Err(CallError::InvalidConfig { message, .. }) if message.contains("image")), "{result:?}");
    let (result, _) = run(&task(json!({"image": "x"}))).await;
    assert!(matches!(&result, Err(CallError::InvalidConfig { message, .. }) if message.contains("cmd")), "{result:?}");
}
