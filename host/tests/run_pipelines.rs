//! `pikoci run` end to end: real pipeline files, the real binary, real git repositories,
//! a real OCI registry and real processes.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::cli::{pikoci, process_gone, text};
use support::*;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_readme_example_runs() {
    let cache = tempfile::tempdir().unwrap();
    let root = repo_root();
    let out = pikoci(cache.path())
        .args(["run", "--pipeline-config"])
        .arg(root.join("examples/hello/pipeline.hcl"))
        .args(["--job", "test", "--var"])
        .arg(format!("app_dir={}", root.join("examples/hello/app").display()))
        .output()
        .unwrap();
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("task unit | testing 1.0.0"), "{log}");
    assert!(log.contains("on_success | all good"), "{log}");
    assert!(log.contains("job test succeeded"), "{log}");

    // The README shows this very pipeline.
    let file = std::fs::read_to_string(root.join("examples/hello/pipeline.hcl")).unwrap();
    let body = &file[file.find("variable \"app_dir\"").unwrap()..];
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains(&format!("```hcl\n{body}```")), "README.md's first pipeline differs from examples/hello/pipeline.hcl");
}

#[test]
fn a_pipeline_with_a_mistake_runs_nothing_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.hcl");
    std::fs::write(
        &file,
        "job \"test\" {\n  task \"t\" {\n    run \"exec\" {\n      path = \"/bin/touch\"\n      args = [\"ran\"]\n    }\n  }\n  get \"fs\" \"nope\" {}\n}\n",
    )
    .unwrap();
    let out = pikoci(dir.path()).args(["run", "-c"]).arg(&file).args(["-j", "test"]).current_dir(dir.path()).output().unwrap();
    assert!(!out.status.success());
    let log = text(&out);
    assert!(log.contains("resource `nope` is not defined"), "{log}");
    assert!(!dir.path().join("ran").exists(), "nothing may run");

    std::fs::write(&file, "job \"test\" {\n  task \"t\" {\n").unwrap();
    let out = pikoci(dir.path()).args(["run", "-c"]).arg(&file).args(["-j", "test"]).output().unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("broken.hcl"), "{}", text(&out));
}

#[test]
fn an_inline_git_resource_type_sees_new_commits_pulls_and_pushes_a_tag() {
    let dir = tempfile::tempdir().unwrap();
    let origin = dir.path().join("origin.git");
    let seed = dir.path().join("seed");
    std::fs::create_dir_all(&seed).unwrap();
    git(dir.path(), &["init", "-q", "--bare", "-b", "main", origin.to_str().unwrap()]);
    git(&seed, &["init", "-q", "-b", "main"]);
    std::fs::write(seed.join("README"), "one\n").unwrap();
    git(&seed, &["add", "."]);
    git(&seed, &["commit", "-q", "-m", "first"]);
    git(&seed, &["push", "-q", origin.to_str().unwrap(), "main"]);

    // PikoCI's own example of an inline git type, with a tag push.
    let pipeline = dir.path().join("pipeline.hcl");
    std::fs::write(
        &pipeline,
        format!(
            r#"
resource_type "git" {{
  params = ["url", "name"]
  check "exec" {{
    path = "/bin/sh"
    args = ["-ec", "printf '[{{\"ref\":\"%s\"}}]' $(git ls-remote $param_url refs/heads/main | cut -f1)"]
  }}
  pull "exec" {{
    path = "/bin/sh"
    args = ["-ec", "git clone -q $param_url $param_name && cd $param_name && git checkout -q $version_ref"]
  }}
  push "exec" {{
    path = "/bin/sh"
    args = ["-ec", "cd $param_name && git -c user.name=ci -c user.email=ci@ci tag $put_tag && git push -q origin $put_tag"]
  }}
}}

resource "git" "repo" {{
  params {{
    url  = "file://{origin}"
    name = "repo"
  }}
}}

job "build" {{
  get "git" "repo" {{ trigger = true }}
  task "read" {{
    inputs = ["repo/README"]
    run "exec" {{
      path = "/bin/cat"
      args = ["repo/README"]
    }}
  }}
  put "git" "repo" {{
    params {{
      tag = "v1"
    }}
  }}
}}
"#,
            origin = origin.display()
        ),
    )
    .unwrap();
    let run = |cache: &Path| pikoci(cache).args(["run", "-c"]).arg(&pipeline).args(["-j", "build"]).output().unwrap();
    let out = run(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("task read | one"), "{}", text(&out));
    let tags = Command::new("git").args(["tag"]).current_dir(&origin).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&tags.stdout).trim(), "v1");

    // A new commit is the version the next build fetches.
    std::fs::write(seed.join("README"), "two\n").unwrap();
    git(&seed, &["commit", "-qam", "second"]);
    git(&seed, &["push", "-q", origin.to_str().unwrap(), "main"]);
    std::fs::write(&pipeline, std::fs::read_to_string(&pipeline).unwrap().replace("\"v1\"", "\"v2\"")).unwrap();
    let out = run(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("task read | two"), "{}", text(&out));
}

#[test]
fn an_input_directory_replaces_a_get() {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local");
    std::fs::create_dir_all(&local).unwrap();
    std::fs::write(local.join("VERSION"), "from my laptop").unwrap();
    let pipeline = dir.path().join("p.hcl");
    std::fs::write(
        &pipeline,
        r#"
resource "fs" "app" {
  params { path = "/nonexistent/never/read" }
}
job "test" {
  get "fs" "app" {}
  task "show" {
    run "exec" {
      path = "/bin/cat"
      args = ["app/VERSION"]
    }
  }
}
"#,
    )
    .unwrap();
    let out = pikoci(dir.path()).args(["run", "-c"]).arg(&pipeline).args(["-j", "test", "--input"]).arg(format!("app={}", local.display())).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("task show | from my laptop"), "{}", text(&out));
}

#[test]
fn ctrl_c_aborts_the_build_runs_its_hooks_and_leaves_no_process() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let pipeline = dir.path().join("p.hcl");
    std::fs::write(
        &pipeline,
        format!(
            r#"
job "slow" {{
  task "sleep" {{
    run "exec" {{
      path = "/bin/sh"
      args = ["-ec", "echo $$ > {pid}; exec sleep 300"]
    }}
  }}
  on_abort "exec" {{
    path = "/bin/echo"
    args = ["aborted, cleaning up"]
  }}
}}
"#,
            pid = pid_file.display()
        ),
    )
    .unwrap();
    let child = pikoci(dir.path()).args(["run", "-c"]).arg(&pipeline).args(["-j", "slow"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    for _ in 0..200 {
        if pid_file.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(text(&out).contains("on_abort | aborted, cleaning up"), "{}", text(&out));
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    assert!(process_gone(pid.trim()), "the task's process {pid} outlived pikoci run");
}

#[test]
fn a_plugin_published_to_a_registry_is_pulled_and_run_by_a_job() {
    let registry = pikoci_registry::testing::TestRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let counter_file = dir.path().join("count");
    std::fs::write(&counter_file, "41").unwrap();
    let reference = format!("oci://{}/plugins/counter:1.0.0", registry.host());
    let publish = pikoci(dir.path())
        .env("PIKOCI_INSECURE_REGISTRIES", registry.host())
        .args(["plugin", "publish"])
        .arg(repo_root().join("target/test-plugins/counter.wasm"))
        .arg(&reference)
        .output()
        .unwrap();
    assert!(publish.status.success(), "{}", text(&publish));

    let pipeline = dir.path().join("p.hcl");
    std::fs::write(
        &pipeline,
        format!(
            r#"
resource_type "counter" {{
  source = "{reference}"
  allow {{
    write = ["{dir}"]
  }}
}}
resource "counter" "n" {{
  params {{ file = "{file}" }}
}}
job "count" {{
  get "counter" "n" {{}}
  task "show" {{
    run "exec" {{
      path = "/bin/cat"
      args = ["count"]
    }}
  }}
  put "counter" "n" {{}}
}}
"#,
            dir = dir.path().display(),
            file = counter_file.display()
        ),
    )
    .unwrap();
    // A fresh cache: the plugin must come from the registry.
    let user_cache = tempfile::tempdir().unwrap();
    let out =
        pikoci(user_cache.path()).env("PIKOCI_INSECURE_REGISTRIES", registry.host()).args(["run", "-c"]).arg(&pipeline).args(["-j", "count"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("task show | 41"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&counter_file).unwrap(), "42");
}

/// A PikoCI-style exec-defined service (a real HTTP server), the task that uses it, and how the
/// job ends: `succeed`, `fail`, or `hang` (to be interrupted).
fn service_pipeline(dir: &Path, port: u16, task_script: &str) -> std::path::PathBuf {
    let pid_file = dir.join("service.pid");
    let file = dir.join("service.hcl");
    std::fs::write(
        &file,
        format!(
            r#"
service_type "web" {{
  params = ["port"]
  start "exec" {{
    path = "/bin/sh"
    args = ["-ec", "echo $$ > {pid}; exec python3 -m http.server --bind 127.0.0.1 $param_port"]
  }}
  ready_check "exec" {{
    path     = "/bin/sh"
    args     = ["-ec", "python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:$param_port/')\""]
    interval = "100ms"
    timeout  = "20s"
  }}
  stop "exec" {{
    path = "/bin/echo"
    args = ["stopping the web service"]
  }}
}}

job "it" {{
  service "web" {{
    port = "{port}"
  }}
  task "use" {{
    run "exec" {{
      path = "/bin/sh"
      args = ["-ec", "{task}"]
    }}
  }}
}}
"#,
            pid = pid_file.display(),
            task = task_script.replace('"', "\\\"")
        ),
    )
    .unwrap();
    file
}

fn service_is_gone(dir: &Path) -> bool {
    process_gone(std::fs::read_to_string(dir.join("service.pid")).unwrap().trim())
}

#[test]
fn a_service_is_ready_before_the_task_and_stopped_after_success_and_failure() {
    for (script, should_pass) in
        [("python3 -c 'import urllib.request; print(urllib.request.urlopen(\"http://127.0.0.1:PORT/\").status)'", true), ("exit 3", false)]
    {
        let dir = tempfile::tempdir().unwrap();
        let port = support::server::free_port();
        let file = service_pipeline(dir.path(), port, &script.replace("PORT", &port.to_string()));
        let out = pikoci(dir.path()).args(["run", "-c"]).arg(&file).args(["-j", "it"]).output().unwrap();
        let log = text(&out);
        assert_eq!(out.status.success(), should_pass, "{log}");
        if should_pass {
            assert!(log.contains("task use | 200"), "the task reached the service: {log}");
        }
        assert!(log.contains("stopping the web service"), "{log}");
        assert!(service_is_gone(dir.path()), "the service outlived its job: {log}");
    }
}

#[test]
fn ctrl_c_stops_the_service_too() {
    let dir = tempfile::tempdir().unwrap();
    let port = support::server::free_port();
    let file = service_pipeline(dir.path(), port, "echo waiting; sleep 300");
    let child = pikoci(dir.path()).args(["run", "-c"]).arg(&file).args(["-j", "it"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // Wait until the service is up and the task runs.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "the service never came up");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(service_is_gone(dir.path()), "the service outlived Ctrl-C: {}", text(&out));
}

#[test]
fn a_plugin_from_a_url_runs_only_with_the_digest_the_pipeline_pins() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let wasm = std::fs::read(repo_root().join("target/test-plugins/counter.wasm")).unwrap();
    std::fs::write(served.join("counter.wasm"), &wasm).unwrap();
    let port = support::server::free_port();
    let mut server = Command::new("python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string()])
        .current_dir(&served)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "http.server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let count = dir.path().join("count");
    std::fs::write(&count, "7").unwrap();
    let pipeline = dir.path().join("p.hcl");
    let write = |digest: &str| {
        std::fs::write(
            &pipeline,
            format!(
                r#"
resource_type "counter" {{
  source = "http://127.0.0.1:{port}/counter.wasm"
  digest = "{digest}"
  allow {{
    write = ["{dir}"]
  }}
}}
resource "counter" "n" {{
  params {{ file = "{count}" }}
}}
job "show" {{
  get "counter" "n" {{}}
  task "cat" {{
    run "exec" {{
      path = "/bin/cat"
      args = ["count"]
    }}
  }}
}}
"#,
                dir = dir.path().display(),
                count = count.display()
            ),
        )
        .unwrap()
    };
    let cache = tempfile::tempdir().unwrap();
    let wrong = pikoci_registry::Digest::of(b"something else").to_string();
    write(&wrong);
    let out = pikoci(cache.path()).args(["run", "-c"]).arg(&pipeline).args(["-j", "show"]).output().unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("not the pinned"), "{}", text(&out));
    assert!(
        !cache.path().join("components").exists() || std::fs::read_dir(cache.path().join("components/sha256")).map_or(true, |d| d.count() == 0),
        "nothing may be kept"
    );

    write(&pikoci_registry::Digest::of(&wasm).to_string());
    let out = pikoci(cache.path()).args(["run", "-c"]).arg(&pipeline).args(["-j", "show"]).output().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("task cat | 7"), "{}", text(&out));
    // Cached by digest: the same pipeline runs with the web server gone.
    let out = pikoci(cache.path()).args(["run", "-c"]).arg(&pipeline).args(["-j", "show"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn secrets_from_env_and_file_reach_the_task_and_never_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("creds.json");
    std::fs::write(&creds, r#"{"password": "fi1e-s3cret/\"x\"", "pem": "k3y-line-one\nk3y-line-two"}"#).unwrap();
    let dotenv = dir.path().join("db.env");
    std::fs::write(&dotenv, "# database\nDB_USER=\"ci-user-9\"\n").unwrap();
    let pipeline = dir.path().join("p.hcl");
    std::fs::write(
        &pipeline,
        format!(
            r#"
variable "token" {{
  type = string
  secret "env" {{
    key = "PIKOCI_TEST_TOKEN"
  }}
}}
variable "password" {{
  type = string
  secret "file" {{
    path = "{creds}"
    key  = "password"
  }}
}}
variable "pem" {{
  type = string
  secret "file" {{
    path = "{creds}"
    key  = "pem"
  }}
}}
variable "db_user" {{
  type = string
  secret "file" {{
    path = "{dotenv}"
    key  = "DB_USER"
  }}
}}
job "deploy" {{
  task "use" {{
    run "exec" {{
      path = "/bin/sh"
      args = ["-ec", "test '${{var.token}}' = env-t0ken-42; echo 'token ${{var.token}}'; printf 'split %s' '${{var.token}}' | head -c 12; sleep 0.1; printf '%s\n' '${{var.token}}' | tail -c +7; echo b64 $(printf %s '${{var.token}}' | base64); echo user ${{var.db_user}}; echo pw '${{var.password}}'; echo json $(printf %s '${{var.password}}' | sed 's/\"/\\\\\"/g'); echo url $(printf %s '${{var.password}}' | sed 's,/,%2F,g; s,\",%22,g'); echo second $(printf '%s\\n' '${{var.pem}}' | tail -n 1)"]
    }}
  }}
}}
"#,
            creds = creds.display(),
            dotenv = dotenv.display()
        ),
    )
    .unwrap();
    let out = pikoci(dir.path()).env("PIKOCI_TEST_TOKEN", "env-t0ken-42").args(["run", "-c"]).arg(&pipeline).args(["-j", "deploy"]).output().unwrap();
    let log = text(&out);
    assert!(out.status.success(), "the task must see the real values: {log}");
    for leaked in ["env-t0ken-42", "ZW52LXQwa2VuLTQy", "ci-user-9", "fi1e-s3cret", "k3y-line"] {
        assert!(!log.contains(leaked), "`{leaked}` reached the log:\n{log}");
    }
    assert!(log.contains("task use | token ((redacted))"), "{log}");
    assert!(log.contains("task use | b64 ((redacted))"), "{log}");
    assert!(log.contains("task use | user ((redacted))"), "{log}");
    // JSON-escaped, URL-encoded, and one line of a multi-line value.
    assert!(log.contains("task use | json ((redacted))"), "{log}");
    assert!(log.contains("task use | url ((redacted))"), "{log}");
    assert!(log.contains("task use | second ((redacted))"), "{log}");
}

/// The line numbers of the output lines that contain each needle, in the needles' order.
fn line_of(log: &str, needle: &str) -> usize {
    log.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("no `{needle}` in:\n{log}"))
}

#[test]
fn step_shapes_from_a_pipeline_file_run_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let counter = dir.path().join("tries");
    let tracked = |name: &str| {
        format!(
            "task \"{name}\" {{\n run \"exec\" {{\n path = \"/bin/sh\"\n args = [\"-ec\", \"echo start >> {l}; sleep 0.3; echo end >> {l}\"]\n }}\n }}\n",
            l = ledger.display()
        )
    };
    let pipeline = dir.path().join("p.hcl");
    std::fs::write(
        &pipeline,
        format!(
            r#"
job "shapes" {{
  in_parallel {{
    limit = 2
    {p1}{p2}{p3}{p4}{p5}
  }}
  task "flaky" {{
    attempts = 3
    run "exec" {{
      path = "/bin/sh"
      args = ["-ec", "echo x >> {counter}; test $(wc -l < {counter}) -ge 2"]
    }}
  }}
  task "slow" {{
    timeout = "500ms"
    run "exec" {{
      path = "/bin/sleep"
      args = ["20"]
    }}
    on_failure "exec" {{
      path = "/bin/echo"
      args = ["step on_failure"]
    }}
    ensure "exec" {{
      path = "/bin/echo"
      args = ["step ensure"]
    }}
  }}
  on_success "exec" {{
    path = "/bin/echo"
    args = ["WRONG job on_success"]
  }}
  on_failure "exec" {{
    path = "/bin/echo"
    args = ["job on_failure"]
  }}
  ensure "exec" {{
    path = "/bin/echo"
    args = ["job ensure"]
  }}
}}

job "fast" {{
  in_parallel {{
    fail_fast = true
    task "quick-fail" {{
      run "exec" {{
        path = "/bin/sh"
        args = ["-ec", "sleep 0.2; exit 1"]
      }}
    }}
    task "sibling" {{
      run "exec" {{
        path = "/bin/sh"
        args = ["-ec", "echo $$ > {pid}; exec sleep 60"]
      }}
    }}
  }}
}}
"#,
            p1 = tracked("p1"),
            p2 = tracked("p2"),
            p3 = tracked("p3"),
            p4 = tracked("p4"),
            p5 = tracked("p5"),
            counter = counter.display(),
            pid = dir.path().join("sibling.pid").display(),
        ),
    )
    .unwrap();

    let out = pikoci(dir.path()).args(["run", "-c"]).arg(&pipeline).args(["-j", "shapes"]).output().unwrap();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    let ledger = std::fs::read_to_string(&ledger).unwrap();
    let (mut open, mut most) = (0i32, 0i32);
    for line in ledger.lines() {
        open += if line == "start" { 1 } else { -1 };
        most = most.max(open);
    }
    assert_eq!((ledger.lines().count(), most), (10, 2), "five tasks, at most two at once: {ledger}");
    assert!(log.contains("task flaky | --- attempt 1/3 ---") && log.contains("task flaky | --- attempt 2/3 ---"), "{log}");
    assert!(!log.contains("attempt 3/3"), "the second try succeeded: {log}");
    assert!(log.contains("task slow | step timed out after 500ms"), "{log}");
    let order: Vec<usize> = ["step on_failure", "step ensure", "job on_failure", "job ensure"].iter().map(|n| line_of(&log, &format!("| {n}"))).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "hooks out of order {order:?}:\n{log}");
    assert!(!log.contains("WRONG"), "{log}");

    let started = std::time::Instant::now();
    let out = pikoci(dir.path()).args(["run", "-c"]).arg(&pipeline).args(["-j", "fast"]).output().unwrap();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(started.elapsed() < Duration::from_secs(30), "fail_fast did not cancel the sibling: {log}");
    assert!(log.contains("task sibling aborted"), "{log}");
    let pid = std::fs::read_to_string(dir.path().join("sibling.pid")).unwrap();
    assert!(process_gone(pid.trim()), "the cancelled sibling's process survives: {log}");
}

#[test]
fn a_secret_may_not_ride_in_a_trigger_event() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("p.hcl");
    std::fs::write(
        &pipeline,
        r#"
variable "token" {
  type = string
  secret "env" {
    key = "PIKOCI_TEST_TRIGGER_TOKEN"
  }
}
resource "trigger" "deploy" {}
job "release" {
  put "trigger" "deploy" {
    token = var.token
  }
}
"#,
    )
    .unwrap();
    let out =
        pikoci(dir.path()).env("PIKOCI_TEST_TRIGGER_TOKEN", "tr1gger-s3cret").args(["run", "-c"]).arg(&pipeline).args(["-j", "release"]).output().unwrap();
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("put to trigger stream `deploy` uses secret variable `token`"), "{log}");
    assert!(!log.contains("tr1gger-s3cret"), "{log}");
}

/// A value given with `--var` or a vars file for a variable that has a `secret` block (or is
/// `sensitive`) is a secret as a fetched one is: the task gets it, the log never does, and it may
/// not ride in a trigger event.
#[test]
fn a_value_given_for_a_secret_variable_is_redacted_as_a_fetched_one() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("p.hcl");
    std::fs::write(
        &pipeline,
        r#"
variable "token" {
  type = string
  secret "env" {
    key = "PIKOCI_TEST_UNSET_TOKEN"
  }
}
variable "note" {
  type      = string
  sensitive = true
}
variable "plain" {
  type = string
}
resource "trigger" "deploy" {}
job "use" {
  task "show" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "test '${var.token}' = g1ven-t0ken; echo 'token ${var.token}'; echo 'note ${var.note}'; echo 'plain ${var.plain}'"]
    }
  }
}
job "release" {
  put "trigger" "deploy" {
    token = var.token
  }
}
"#,
    )
    .unwrap();
    let vars = dir.path().join("vars.json");
    std::fs::write(&vars, r#"{"note": "s3nsitive-n0te"}"#).unwrap();
    let run = |job: &str| {
        pikoci(dir.path())
            .args(["run", "-c"])
            .arg(&pipeline)
            .args(["-j", job, "--var", "token=g1ven-t0ken", "--var", "plain=in-the-clear", "--vars"])
            .arg(&vars)
            .output()
            .unwrap()
    };
    let out = run("use");
    let log = text(&out);
    assert!(out.status.success(), "the task must see the given value: {log}");
    for leaked in ["g1ven-t0ken", "s3nsitive-n0te"] {
        assert!(!log.contains(leaked), "`{leaked}` reached the log:\n{log}");
    }
    assert!(log.contains("task show | token ((redacted))") && log.contains("task show | note ((redacted))"), "{log}");
    assert!(log.contains("task show | plain in-the-clear"), "a variable that is no secret is shown: {log}");

    let out = run("release");
    let log = text(&out);
    assert!(!out.status.success() && log.contains("put to trigger stream `deploy` uses secret variable `token`"), "{log}");
    assert!(!log.contains("g1ven-t0ken"), "{log}");
}

/// PikoCI's inline secret type: its `get` command sees the block's settings and the variable's
/// path as `$param_*`, prints a JSON object last, and the variable's key picks the value.
#[test]
fn an_inline_secret_type_runs_its_get_command() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("p.hcl");
    std::fs::write(
        &pipeline,
        r#"
secret_type "vaultish" {
  params = ["path", "region"]
  region = "eu-west-3"

  get "exec" {
    path = "/bin/sh"
    args = ["-ec", "echo looking up $param_path >&2; echo noise; printf '{\"value\": \"s3cret-%s-%s\", \"other\": 1}\n' $param_path $param_region"]
  }
}
variable "api_key" {
  type = string
  secret "vaultish" {
    path = "prod-api"
    key  = "value"
  }
}
variable "missing" {
  type = string
  secret "vaultish" {
    path = "prod-api"
    key  = "nope"
  }
}
job "use" {
  task "t" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "test '${var.api_key}' = s3cret-prod-api-eu-west-3; echo key ${var.api_key}"]
    }
  }
}
job "absent" {
  task "t" {
    run "exec" {
      path = "/bin/echo"
      args = ["${var.missing}"]
    }
  }
}
"#,
    )
    .unwrap();
    let out = pikoci(dir.path()).args(["run", "-c"]).arg(&pipeline).args(["-j", "use"]).output().unwrap();
    let log = text(&out);
    assert!(out.status.success(), "the task must see the value: {log}");
    assert!(log.contains("task t | key ((redacted))"), "{log}");
    assert!(!log.contains("s3cret-prod"), "{log}");

    let out = pikoci(dir.path()).args(["run", "-c"]).arg(&pipeline).args(["-j", "absent"]).output().unwrap();
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("secret for variable `missing` not found (path `prod-api`, key `nope`)"), "{log}");
}
