//! PikoCI's job features as its users write them, each shown by its effect in a real `pikoci run`
//! (the real binary, real processes): the `shell` runner, a job's `timeout`, `on_cancel`, and
//! PikoCI's command-line flags.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::cli::{pikoci, process_gone, text, wait_for_file, write};

/// `DIR/app`, the directory an `fs` resource watches, with one file in it.
fn app_dir(dir: &Path) -> std::path::PathBuf {
    let app = dir.join("app");
    std::fs::create_dir(&app).unwrap();
    write(&app, "v", "1\n");
    app
}

/// `pikoci run -p FILE -j JOB ...`, PikoCI's spelling.
fn run(dir: &Path, pipeline: &Path, job: &str, extra: &[&str]) -> (bool, String) {
    let out = pikoci(dir).args(["run", "-p"]).arg(pipeline).args(["-j", job]).args(extra).output().unwrap();
    (out.status.success(), text(&out))
}

#[test]
fn the_shell_runner_runs_a_command_line_a_script_and_another_shell() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    // No execute bit: the runner sets it, as PikoCI's does, and the `#!` line picks the shell.
    write(&app, "deploy.sh", "#!/bin/bash\necho \"deploying from $0 with ${BASH_VERSION:+bash}\"\n");
    write(&app, "plain.sh", "echo \"plain script, first arg ${1:-none}\"\n");
    let pipeline = write(
        dir.path(),
        "pipeline.hcl",
        r#"
variable "greeting" {
  type = string
}

resource "fs" "app" {
  params {
    path = "/nowhere"
  }
}

job "shell" {
  get "fs" "app" {}

  task "cmd" {
    run "shell" {
      cmd      = <<-EOT
        cd app
        echo "in $(basename "$PWD"), greeting $greeting"
      EOT
      greeting = var.greeting
    }
  }

  task "script" {
    run "shell" {
      file = "app/deploy.sh"
    }
  }

  task "through" {
    run "shell" {
      shell = "/bin/sh"
      file  = "app/plain.sh"
    }
  }

  task "bash" {
    run "shell" {
      shell = "/bin/bash"
      cmd   = "[[ -n $BASH_VERSION ]] && echo in bash"
    }
  }

  task "errexit" {
    run "shell" {
      cmd = "false; echo after false"
    }
  }
}
"#,
    );
    let app_flag = format!("fs.app={}", app.display());
    let vars = write(dir.path(), "vars.json", r#"{"greeting": "hello"}"#);
    let (ok, log) = run(dir.path(), &pipeline, "shell", &["--resource", &app_flag, "-v", vars.to_str().unwrap()]);
    assert!(log.contains("task cmd | in app, greeting hello"), "{log}");
    assert!(log.contains("task script | deploying from ./app/deploy.sh with bash"), "{log}");
    assert!(log.contains("task through | plain script, first arg none"), "{log}");
    assert!(log.contains("task bash | in bash"), "{log}");
    // `cmd` runs with -e: the first failing command ends the task.
    assert!(!ok, "{log}");
    assert!(!log.contains("after false"), "{log}");

    // `cmd` and `file` together is a mistake found before anything runs.
    let both =
        write(dir.path(), "both.hcl", "job \"j\" {\n  task \"t\" {\n    run \"shell\" {\n      cmd  = \"touch ran\"\n      file = \"x.sh\"\n    }\n  }\n}\n");
    let (ok, log) = run(dir.path(), &both, "j", &[]);
    assert!(!ok);
    assert!(log.contains("both.hcl:3:5") && log.contains("the shell runner takes `cmd` or `file`, not both"), "{log}");
    let neither = write(dir.path(), "neither.hcl", "job \"j\" {\n  task \"t\" {\n    run \"shell\" {\n      shell = \"/bin/sh\"\n    }\n  }\n}\n");
    let (ok, log) = run(dir.path(), &neither, "j", &[]);
    assert!(!ok);
    assert!(log.contains("the shell runner needs `cmd`"), "{log}");

    // PikoCI's `--resource` names the resource by TYPE.NAME.
    let (ok, log) = run(dir.path(), &pipeline, "shell", &["--resource", "app=/tmp", "-v", vars.to_str().unwrap()]);
    assert!(!ok);
    assert!(log.contains("is not TYPE.NAME"), "{log}");
    let (ok, log) = run(dir.path(), &pipeline, "shell", &["--resource", &format!("git.app={}", app.display()), "-v", vars.to_str().unwrap()]);
    assert!(!ok);
    assert!(log.contains("resource `app` is a `fs`, not a `git`"), "{log}");
}

fn hooked_pipeline(dir: &Path, timeout: &str, started: &Path) -> std::path::PathBuf {
    write(
        dir,
        "pipeline.hcl",
        &format!(
            r#"
job "slow" {{
  {timeout}

  task "wait" {{
    run "shell" {{
      cmd = "echo $$ > {pid}; echo started > {started}; exec sleep 60"
    }}
  }}

  on_success "shell" {{
    cmd = "echo success-hook"
  }}
  on_failure "shell" {{
    cmd = "echo failure-hook"
  }}
  on_cancel "shell" {{
    cmd = "echo cancel-hook $BUILD_STATUS"
  }}
  ensure "shell" {{
    cmd = "echo ensure-hook $BUILD_STATUS"
  }}
}}
"#,
            pid = dir.join("pid").display(),
            started = started.display()
        ),
    )
}

#[test]
fn a_job_timeout_stops_its_steps_runs_the_cancel_hooks_and_fails_the_build() {
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let pipeline = hooked_pipeline(dir.path(), "timeout = \"2s\"", &started);
    let begun = Instant::now();
    let (ok, log) = run(dir.path(), &pipeline, "slow", &[]);
    let took = begun.elapsed();
    assert!(!ok, "{log}");
    assert!(took < Duration::from_secs(30), "the 60 s task outlived the job's 2 s timeout: {took:?}\n{log}");
    assert!(log.contains("job | job timed out after 2s"), "{log}");
    assert!(log.contains("on_abort | cancel-hook aborted"), "{log}");
    assert!(log.contains("ensure | ensure-hook aborted"), "{log}");
    assert!(!log.contains("failure-hook") && !log.contains("success-hook"), "{log}");
    assert!(log.contains("job slow failed in ") && log.contains("s: job timed out after 2s"), "{log}");
    let pid = std::fs::read_to_string(dir.path().join("pid")).unwrap();
    assert!(process_gone(pid.trim()), "the task's process outlived the timeout");
}

#[test]
fn on_cancel_runs_when_the_build_is_aborted() {
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let pipeline = hooked_pipeline(dir.path(), "", &started);
    let child = pikoci(dir.path()).args(["run", "-p"]).arg(&pipeline).args(["-j", "slow"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for_file(&started);
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let log = text(&child.wait_with_output().unwrap());
    assert!(log.contains("cancel-hook aborted"), "{log}");
    assert!(log.contains("ensure-hook aborted"), "{log}");
    assert!(!log.contains("timed out"), "{log}");
}

#[test]
fn a_tasks_outputs_and_a_gets_version_reach_the_steps_after_them() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_dir(dir.path());
    let pipeline = write(
        dir.path(),
        "pipeline.hcl",
        &format!(
            r##"
resource "fs" "my-app" {{
  params {{
    path = "{app}"
  }}
}}

job "release" {{
  get "fs" "my-app" {{}}

  task "build-it" {{
    run "shell" {{
      cmd = <<-EOT
        echo "version=1.2.3" >> "$PIKOCI_OUTPUT"
        echo "# a comment, and a line that is no pair:" >> "$PIKOCI_OUTPUT"
        echo "junk" >> "$PIKOCI_OUTPUT"
        echo " image-ref = app:1.2.3 " >> "$PIKOCI_OUTPUT"
      EOT
    }}
  }}

  task "publish" {{
    run "shell" {{
      cmd = "echo publishing $TASK_BUILD_IT_IMAGE_REF as $TASK_BUILD_IT_VERSION from $GET_MY_APP_METADATA_PATH; ls -a | grep -c pikoci-output"
    }}
  }}

  on_success "shell" {{
    cmd = "echo hook sees $TASK_BUILD_IT_VERSION"
  }}
}}
"##,
            app = app.display()
        ),
    );
    let (ok, log) = run(dir.path(), &pipeline, "release", &[]);
    assert!(ok, "{log}");
    assert!(log.contains(&format!("task publish | publishing app:1.2.3 as 1.2.3 from {}", app.display())), "{log}");
    assert!(log.contains("task build-it | $PIKOCI_OUTPUT line 3 is not KEY=VALUE; ignored"), "{log}");
    // The finished task's file is gone; only the running task's own is there.
    assert!(log.lines().any(|l| l.ends_with("task publish | 1")), "{log}");
    assert!(log.contains("on_success | hook sees 1.2.3"), "{log}");
}

#[test]
fn for_each_and_matrix_make_one_job_per_value_and_passed_waits_for_all_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_dir(dir.path());
    let pipeline = write(
        dir.path(),
        "pipeline.hcl",
        &format!(
            r#"
variable "versions" {{
  type    = string
  default = "1.21,1.22"
}}

resource "fs" "app" {{
  params {{
    path = "{app}"
  }}
}}

job "test" {{
  for_each = toset(split(",", var.versions))

  get "fs" "app" {{
    trigger = true
  }}

  task "run" {{
    run "shell" {{
      cmd = "echo testing go ${{each.value}} as $BUILD_JOB_NAME"
    }}
  }}
}}

job "build" {{
  matrix {{
    os   = ["linux", "darwin"]
    arch = ["amd64"]
  }}

  task "b" {{
    run "shell" {{
      cmd = "echo building ${{each.value.os}}/${{each.value.arch}}, key ${{each.key}}"
    }}
  }}
}}

job "release" {{
  get "fs" "app" {{
    passed = ["test"]
  }}
}}
"#,
            app = app.display()
        ),
    );
    let (ok, log) = run(dir.path(), &pipeline, "test--1-22", &[]);
    assert!(ok, "{log}");
    assert!(log.contains("task run | testing go 1.22 as test--1-22"), "{log}");
    let (ok, log) = run(dir.path(), &pipeline, "build--amd64-darwin", &[]);
    assert!(ok, "{log}");
    assert!(log.contains("task b | building darwin/amd64, key amd64-darwin"), "{log}");
    let (ok, log) = run(dir.path(), &pipeline, "test", &[]);
    assert!(!ok);
    assert!(log.contains("test--1-21, test--1-22"), "the instances are named: {log}");

    // The scheduler's plan: `passed = ["test"]` is every instance.
    let out = pikoci(dir.path()).args(["pipeline", "plan"]).arg(&pipeline).output().unwrap();
    let plan = text(&out);
    assert!(plan.contains("job release\n  input app, passed test--1-21, test--1-22"), "{plan}");

    let both = write(dir.path(), "both.hcl", "job \"j\" {\n  for_each = toset([\"a\"])\n  matrix {\n    os = [\"linux\"]\n  }\n}\n");
    let (ok, log) = run(dir.path(), &both, "j--a", &[]);
    assert!(!ok);
    assert!(log.contains("both.hcl:3:3") && log.contains("`for_each` or `matrix`, not both"), "{log}");
}

#[test]
fn pikoci_type_definitions_load_as_sources_from_hcl_files() {
    let dir = tempfile::tempdir().unwrap();
    let defs = dir.path().join("defs");
    std::fs::create_dir(&defs).unwrap();
    // PikoCI's own format for a type: what its built-ins are written in.
    write(
        &defs,
        "static.hcl",
        r#"
resource_type "static" {
  params = ["depth"]

  check "exec" {
    path = "/bin/sh"
    args = ["-ec", "echo '[{\"v\": \"7\"}]'"]
  }

  pull "exec" {
    path = "/bin/sh"
    args = ["-ec", "mkdir -p src && echo \"v$version_v depth=$get_depth\" > src/pulled"]
  }
}
"#,
    );
    write(
        &defs,
        "marker.hcl",
        &format!(
            r#"
service_type "marker" {{
  start "exec" {{
    path = "/bin/sh"
    args = ["-ec", "echo up > {m}"]
  }}

  ready_check "exec" {{
    path = "/bin/sh"
    args = ["-ec", "test -s {m}"]
  }}

  stop "exec" {{
    path = "/bin/sh"
    args = ["-ec", "echo down >> {m}"]
  }}
}}
"#,
            m = dir.path().join("marker").display()
        ),
    );
    let pipeline = write(
        dir.path(),
        "pipeline.hcl",
        r#"
resource_type "static" {
  source = "defs/static.hcl"
}

service_type "marker" {
  source = "defs/marker.hcl"
}

resource "static" "src" {}

job "build" {
  service "marker" {}

  get "static" "src" {
    params {
      depth = 3
    }
  }

  task "show" {
    run "shell" {
      cmd = "cat src/pulled"
    }
  }
}
"#,
    );
    let (ok, log) = run(dir.path(), &pipeline, "build", &[]);
    assert!(ok, "{log}");
    assert!(log.contains("task show | v7 depth=3"), "{log}");
    assert_eq!(std::fs::read_to_string(dir.path().join("marker")).unwrap(), "up\ndown\n");

    // A mistake in the definition is reported in the definition file, at its line.
    write(&defs, "static.hcl", "resource_type \"static\" {\n  check \"exec\" {\n    args = [\"x\"]\n  }\n}\n");
    let (ok, log) = run(dir.path(), &pipeline, "build", &[]);
    assert!(!ok);
    assert!(log.contains("static.hcl:2:"), "{log}");
    // A definition of another kind is named as such.
    write(&defs, "static.hcl", "service_type \"static\" {}\n");
    let (ok, log) = run(dir.path(), &pipeline, "build", &[]);
    assert!(!ok);
    assert!(log.contains("has no `resource_type` block"), "{log}");
}

#[test]
fn if_else_if_and_else_run_the_first_branch_whose_condition_holds() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = write(
        dir.path(),
        "pipeline.hcl",
        r#"
variable "target" {
  type = string
}

job "deploy" {
  task "detect" {
    run "shell" { cmd = "echo target=${var.target} >> $PIKOCI_OUTPUT" }
  }
  if "prod" {
    condition = "$TASK_DETECT_TARGET == 'production'"
    task "to-prod" {
      run "shell" { cmd = "echo deploying to production" }
    }
    on_failure "exec" {
      path = "echo"
      args = ["the deploy failed"]
    }
  }
  else_if "staging" {
    condition = "$TASK_DETECT_TARGET contains stag && $BUILD_NUMBER > 0"
    task "to-staging" {
      run "shell" { cmd = "echo deploying to staging; exit ${var.target == "staging-broken" ? 1 : 0}" }
    }
  }
  else {
    task "nowhere" {
      run "shell" { cmd = "echo nothing to deploy" }
    }
  }
  task "after" {
    run "shell" { cmd = "echo after the if" }
  }
}
"#,
    );
    let (ok, log) = run(dir.path(), &pipeline, "deploy", &["--var", "target=production"]);
    assert!(ok, "{log}");
    assert!(log.contains("deploying to production") && !log.contains("deploying to staging") && !log.contains("nothing to deploy"), "{log}");
    assert!(log.contains("if prod: its condition holds: it runs") && log.contains("else_if staging: skipped") && log.contains("else: skipped"), "{log}");
    assert!(log.contains("after the if"), "{log}");

    let (ok, log) = run(dir.path(), &pipeline, "deploy", &["--var", "target=staging"]);
    assert!(ok, "{log}");
    assert!(log.contains("deploying to staging") && !log.contains("deploying to production"), "{log}");

    let (ok, log) = run(dir.path(), &pipeline, "deploy", &["--var", "target=qa"]);
    assert!(ok, "{log}");
    assert!(log.contains("else: no condition before it held: it runs") && log.contains("nothing to deploy"), "{log}");

    let (ok, log) = run(dir.path(), &pipeline, "deploy", &["--var", "target=staging-broken"]);
    assert!(!ok, "a failing branch fails the build: {log}");
    assert!(log.contains("the deploy failed"), "the if block's hooks follow whichever branch ran: {log}");
    assert!(!log.contains("after the if"), "{log}");
}

#[test]
fn allow_failure_turns_a_failed_build_into_a_warning_after_its_failure_hooks() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = write(
        dir.path(),
        "pipeline.hcl",
        r#"
job "flaky" {
  allow_failure = true
  task "fails" {
    run "shell" { cmd = "echo trying; exit 4" }
  }
  task "never" {
    run "shell" { cmd = "echo the step after a failure" }
  }
  on_success "exec" {
    path = "echo"
    args = ["success hook"]
  }
  on_failure "exec" {
    path = "/bin/sh"
    args = ["-ec", "echo failure hook sees $BUILD_STATUS"]
  }
  ensure "exec" {
    path = "/bin/sh"
    args = ["-ec", "echo ensure sees $BUILD_STATUS"]
  }
}
"#,
    );
    let (ok, log) = run(dir.path(), &pipeline, "flaky", &[]);
    assert!(ok, "an allowed failure does not fail the command: {log}");
    assert!(log.contains("which its allow_failure lets pass (warning): exit status 4"), "{log}");
    assert!(log.contains("failure hook sees warning") && log.contains("ensure sees warning"), "{log}");
    assert!(!log.contains("success hook") && !log.contains("the step after a failure"), "{log}");
}
