//! What the typed pipeline says reaches the run: each feature a pipeline file can use shows its
//! effect in a real `pikoci run` (the real binary, real processes, podman for containers).

mod support;

use std::path::Path;
use std::process::Stdio;
use support::cli::{pikoci, text, wait_for_file, write};
use support::*;

fn run(dir: &Path, pipeline: &Path, job: &str, env: &[(&str, &str)]) -> (bool, String) {
    let out = pikoci(dir).envs(env.iter().copied()).args(["run", "-c"]).arg(pipeline).args(["-j", job]).output().unwrap();
    (out.status.success(), text(&out))
}

#[test]
fn a_steps_own_secrets_become_secret_variables_of_the_task() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("seen");
    let pipeline = write(
        dir.path(),
        "p.hcl",
        &format!(
            r#"
job "deploy" {{
  task "use" {{
    secrets = {{ env = "" }}
    run "exec" {{
      path = "/bin/sh"
      args = ["-ec", "printf %s \"$secret_PIKOCI_STEP_TOKEN\" > {out}; echo token $secret_PIKOCI_STEP_TOKEN"]
    }}
  }}
}}
"#,
            out = out.display()
        ),
    );
    let (ok, log) = run(dir.path(), &pipeline, "deploy", &[("PIKOCI_STEP_TOKEN", "st3p-s3cret")]);
    assert!(ok, "{log}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "st3p-s3cret");
    assert!(log.contains("task use | token ((redacted))"), "{log}");
    assert!(!log.contains("st3p-s3cret"), "{log}");

    // A secret the step names but no secret type has fails the step, saying which.
    let (ok, log) = run(dir.path(), &pipeline, "deploy", &[]);
    assert!(!ok);
    assert!(log.contains("no secret `PIKOCI_STEP_TOKEN`"), "{log}");
}

#[test]
fn get_params_and_a_task_env_block_reach_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = write(
        dir.path(),
        "p.hcl",
        r#"
resource_type "static" {
  check "exec" {
    path = "/bin/sh"
    args = ["-ec", "echo '[{\"v\": \"1\"}]'"]
  }
  pull "exec" {
    path = "/bin/sh"
    args = ["-ec", "mkdir -p src && echo \"depth=$get_depth\" > src/pulled"]
  }
}
resource "static" "src" {}
job "build" {
  get "static" "src" {
    params {
      depth = 3
    }
  }
  task "show" {
    env {
      GREETING = "hello from env"
    }
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "cat src/pulled; echo \"greeting: $GREETING\""]
    }
  }
}
"#,
    );
    let (ok, log) = run(dir.path(), &pipeline, "build", &[]);
    assert!(ok, "{log}");
    assert!(log.contains("task show | depth=3"), "{log}");
    assert!(log.contains("task show | greeting: hello from env"), "{log}");
}

fn status_pipeline(dir: &Path, script: &str) -> std::path::PathBuf {
    write(
        dir,
        "p.hcl",
        &format!(
            r#"
job "j" {{
  task "work" {{
    inputs = ["{input}"]
    run "exec" {{
      path = "/bin/sh"
      args = ["-ec", "{script}"]
    }}
  }}
  on_success "exec" {{
    path = "/bin/sh"
    args = ["-ec", "echo success-hook $BUILD_STATUS"]
  }}
  on_failure "exec" {{
    path = "/bin/sh"
    args = ["-ec", "echo failure-hook $BUILD_STATUS"]
  }}
  on_error "exec" {{
    path = "/bin/sh"
    args = ["-ec", "echo error-hook $BUILD_STATUS"]
  }}
  on_abort "exec" {{
    path = "/bin/sh"
    args = ["-ec", "echo abort-hook $BUILD_STATUS"]
  }}
  ensure "exec" {{
    path = "/bin/sh"
    args = ["-ec", "echo ensure-hook $BUILD_STATUS"]
  }}
}}
"#,
            input = if script == "missing-input" { "nope" } else { "." },
        ),
    )
}

#[test]
fn build_status_is_set_in_every_kind_of_hook() {
    for (script, hook, status) in [("true", "success", "succeeded"), ("false", "failure", "failed"), ("missing-input", "error", "errored")] {
        let dir = tempfile::tempdir().unwrap();
        let pipeline = status_pipeline(dir.path(), script);
        let (_, log) = run(dir.path(), &pipeline, "j", &[]);
        assert!(log.contains(&format!("{hook}-hook {status}")), "{script}: {log}");
        assert!(log.contains(&format!("ensure-hook {status}")), "{script}: {log}");
    }
    // Aborted: Ctrl-C while the task runs.
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let pipeline = status_pipeline(dir.path(), &format!("echo x > {}; sleep 30", started.display()));
    let child = pikoci(dir.path()).args(["run", "-c"]).arg(&pipeline).args(["-j", "j"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for_file(&started);
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let log = text(&out);
    assert!(log.contains("abort-hook aborted"), "{log}");
    assert!(log.contains("ensure-hook aborted"), "{log}");
}

#[test]
fn an_inline_service_sees_the_build_in_its_commands() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("service-name");
    let pipeline = write(
        dir.path(),
        "ci.hcl",
        &format!(
            r#"
service_type "named" {{
  start "exec" {{
    path = "/bin/sh"
    args = ["-ec", <<-EOT
      NAME="pikoci-${{BUILD_PIPELINE_NAME}}-${{BUILD_JOB_NAME}}-svc"
      echo "$NAME" > {marker}
      exec sleep 30
    EOT
    ]
  }}
  ready_check "exec" {{
    path = "/bin/sh"
    args = ["-ec", "test -s {marker}"]
  }}
  stop "exec" {{
    path = "/bin/sh"
    args = ["-ec", "echo stopped"]
  }}
}}
job "test" {{
  service "named" {{}}
  task "t" {{
    run "exec" {{
      path = "/bin/sh"
      args = ["-ec", "echo service $(cat {marker})"]
    }}
  }}
}}
"#,
            marker = marker.display()
        ),
    );
    let (ok, log) = run(dir.path(), &pipeline, "test", &[]);
    assert!(ok, "{log}");
    assert!(log.contains("task t | service pikoci-ci-test-svc"), "{log}");
}

/// A plugin's error may quote what it ran; the build's outcome, which the server stores, is
/// redacted like its log.
#[test]
fn an_error_that_quotes_a_secret_is_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = write(
        dir.path(),
        "p.hcl",
        r#"
variable "token" {
  type = string
  secret "env" {
    key = "PIKOCI_TEST_QUOTED"
  }
}
resource_type "leaky" {
  check "exec" {
    path = "/bin/sh"
    args = ["-ec", "exit 3", "${var.token}"]
  }
  pull "exec" {
    path = "/bin/true"
  }
}
resource "leaky" "src" {}
job "j" {
  get "leaky" "src" {}
}
"#,
    );
    let (ok, log) = run(dir.path(), &pipeline, "j", &[("PIKOCI_TEST_QUOTED", "qu0ted-s3cret")]);
    assert!(!ok, "{log}");
    assert!(log.contains("job j errored") && log.contains("((redacted))"), "{log}");
    assert!(!log.contains("qu0ted-s3cret"), "{log}");
}

#[test]
fn a_secret_path_may_come_from_another_secret() {
    let dir = tempfile::tempdir().unwrap();
    let creds = write(dir.path(), "creds.json", r#"{"api_key": "ch41ned-k3y"}"#);
    let pipeline = write(
        dir.path(),
        "p.hcl",
        r#"
variable "key_path" {
  type = string
  secret "env" {
    key = "PIKOCI_TEST_KEY_PATH"
  }
}
variable "api_key" {
  type = string
  secret "file" {
    path = var.key_path
    key  = "api_key"
  }
}
job "j" {
  task "t" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "test '${var.api_key}' = ch41ned-k3y; echo key ${var.api_key}"]
    }
  }
}
"#,
    );
    let (ok, log) = run(dir.path(), &pipeline, "j", &[("PIKOCI_TEST_KEY_PATH", creds.to_str().unwrap())]);
    assert!(ok, "{log}");
    assert!(log.contains("task t | key ((redacted))"), "{log}");
    assert!(!log.contains("ch41ned"), "{log}");
}

/// A type-level `runner "docker"` runs the type's commands in a container (podman here): they
/// see the image's files, and the build directory at the same path.
#[test]
fn a_type_level_docker_runner_runs_the_inline_commands_in_a_container() {
    let log = run_with_podman_runner(|runner| {
        format!(
            r#"
resource_type "boxed" {{
  check "exec" {{
    path = "/bin/sh"
    args = ["-ec", "test -e /run/.containerenv && echo '[{{\"where\": \"container\"}}]'"]
  }}
  pull "exec" {{
    path = "/bin/sh"
    args = ["-ec", "mkdir -p out && if test -e /run/.containerenv; then echo in-a-container; else echo on-the-worker; fi > out/where"]
  }}
  {runner}
}}
resource "boxed" "thing" {{}}
job "j" {{
  get "boxed" "thing" {{}}
  task "show" {{
    run "exec" {{
      path = "/bin/sh"
      args = ["-ec", "echo pulled $(cat out/where)"]
    }}
  }}
}}
"#
        )
    });
    assert!(log.contains("fetched thing (where: container)"), "{log}");
    assert!(log.contains("task show | pulled in-a-container"), "{log}");
}

/// Job `j` of the pipeline `pipeline(runner)` makes, run to success with `runner` a type-level
/// `runner "docker"` block running busybox under podman; its log.
fn run_with_podman_runner(pipeline: impl Fn(&str) -> String) -> String {
    let dir = tempfile::tempdir().unwrap();
    let image = podman::import_busybox(dir.path());
    let conf = podman::containers_conf(dir.path());
    // The engine reads the Docker config `pikoci()` points at: an empty one.
    std::fs::create_dir_all(dir.path().join("no-docker-config")).unwrap();
    std::fs::write(dir.path().join("no-docker-config/config.json"), "{}").unwrap();
    let engine_args: Vec<String> = podman::ENGINE_ARGS.iter().map(|a| format!("\"{a}\"")).collect();
    let runner = format!(
        "runner \"docker\" {{\n    image       = \"{}\"\n    engine      = \"podman\"\n    engine_args = [{}]\n  }}",
        image.name,
        engine_args.join(", ")
    );
    let file = write(dir.path(), "p.hcl", &pipeline(&runner));
    let (ok, log) = run(dir.path(), &file, "j", &[("CONTAINERS_CONF", conf.to_str().unwrap())]);
    assert!(ok, "{log}");
    log
}

/// The same for a notification type: its `notify` command runs in the container, with the
/// build's work directory at the same path.
#[test]
fn a_notification_types_docker_runner_runs_its_notify_command_in_a_container() {
    let log = run_with_podman_runner(|runner| {
        format!(
            r#"
notification_type "boxed" {{
  notify "exec" {{
    path = "/bin/sh"
    args = ["-ec", "if test -e /run/.containerenv; then echo in-a-container; else echo on-the-worker; fi > $WORKDIR/where"]
  }}
  {runner}
}}
notification "boxed" "here" {{}}
job "j" {{
  notify "boxed" "here" {{}}
  task "show" {{
    run "exec" {{
      path = "/bin/sh"
      args = ["-ec", "echo notified $(cat where)"]
    }}
  }}
}}
"#
        )
    });
    assert!(log.contains("task show | notified in-a-container"), "{log}");
}
