//! The built-in `docker` runner driving the real podman CLI (no Docker engine runs on the test
//! machines) with a busybox image imported from Debian's busybox-static, as a pipeline would.

mod support;

use pikoci::executor::grants::CallValues;
use pikoci::runtime::{CallError, TaskSpec};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use support::builtins::{bound, call_grants};

const IMAGE: &str = "localhost/pikoci-test-busybox:latest";

/// Import a one-binary busybox image from the worker's static busybox, once per test run.
fn import_busybox(dir: &Path) {
    let busybox = Path::new("/bin/busybox");
    assert!(busybox.exists(), "needs Debian's busybox-static (scripts/install-deps.sh)");
    let root = dir.join("rootfs");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy(busybox, root.join("bin/busybox")).unwrap();
    for applet in ["sh", "echo", "cat", "pwd", "ls", "env"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    let tarball = dir.join("busybox.tar");
    let tar = Command::new("tar").arg("-C").arg(&root).arg("-cf").arg(&tarball).arg(".").status().unwrap();
    assert!(tar.success());
    let out = Command::new("podman").arg("import").arg(&tarball).arg(IMAGE).output().expect("podman is installed (scripts/install-deps.sh)");
    assert!(out.status.success(), "podman import: {}", String::from_utf8_lossy(&out.stderr));
}

/// Podman as this machine needs it (see ../shared/TOOLCHAIN.md): runc with cgroupfs, no default
/// ulimits, the host's network.
fn podman_params(dir: &Path, extra: Value) -> Value {
    let conf = dir.join("containers.conf");
    std::fs::write(&conf, "[containers]\ndefault_ulimits = []\n").unwrap();
    let mut params = json!({
        "image": IMAGE,
        "engine": "podman",
        "engine_args": ["--runtime", "runc", "--cgroup-manager", "cgroupfs"],
        "engine_env": {"CONTAINERS_CONF": conf},
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
    import_busybox(scratch.path());
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().display().to_string();

    // PikoCI style: `cmd` in /bin/sh -ec, `args` are extra run flags.
    let task = TaskSpec {
        path: String::new(),
        args: vec!["--network".into(), "host".into()],
        env: vec![("GREETING".into(), "busybox".into()), ("WORKDIR".into(), dir.clone()), ("PATH".into(), "/not/for/the/container".into())],
        dir: dir.clone(),
        params: podman_params(scratch.path(), json!({"cmd": "echo hello from $GREETING in $(pwd) with WORKDIR=$WORKDIR; echo built > out.txt; exit 3"})),
    };
    let (code, log) = run(&task).await;
    assert_eq!(code.unwrap(), 3, "{log}");
    assert!(log.contains("hello from busybox in /workdir with WORKDIR=/workdir"), "{log}");
    assert_eq!(std::fs::read_to_string(work.path().join("out.txt")).unwrap(), "built\n");

    // Exec style: `path` and `args` are the container's command.
    let task = TaskSpec {
        path: "cat".into(),
        args: vec!["out.txt".into()],
        env: Vec::new(),
        dir: dir.clone(),
        params: podman_params(scratch.path(), json!({"run_args": ["--network", "host"]})),
    };
    let (code, log) = run(&task).await;
    assert_eq!(code.unwrap(), 0, "{log}");
    assert!(log.lines().any(|l| l == "built"), "{log}");

    // The engine's own failure (an image that does not exist) errors rather than fails the task.
    let task = TaskSpec { params: podman_params(scratch.path(), json!({"image": "localhost/pikoci-no-such-image:none", "cmd": "true", "run_args": ["--pull", "never"]})), ..task };
    let (result, _) = run(&task).await;
    assert!(result.unwrap_err().to_string().contains("could not run the container"));

    let _ = Command::new("podman").args(["rmi", "--force", IMAGE]).output();
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
