//! `pikoci client` against the real server: log in, set a pipeline, trigger a job and follow its
//! log live to the end, and the rest of PikoCI's verbs, as a user types them.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::server::start;

/// `pikoci client -u <server> ARGS` with its config under `home`.
fn client(server: &str, home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pikoci"));
    cmd.arg("client").arg("-u").arg(server).args(args);
    cmd.env("XDG_CONFIG_HOME", home.join("config")).env("HOME", home).env_remove("PIKOCI_TOKEN").env_remove("PIKOCI_URL").stdin(Stdio::null());
    cmd
}

/// Runs it and insists on success; its stdout.
fn ok(server: &str, home: &Path, args: &[&str]) -> String {
    let out = client(server, home, args).output().unwrap();
    assert!(out.status.success(), "pikoci client {args:?} failed:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs it and insists on failure; its stderr.
fn refused(server: &str, home: &Path, args: &[&str]) -> String {
    let out: Output = client(server, home, args).output().unwrap();
    assert!(!out.status.success(), "pikoci client {args:?} should have failed:\n{}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).unwrap()
}

const PIPELINE: &str = r#"
resource "fs" "app" {
  check_interval = "@every 1h"
  params { path = "WATCHED" }
}

job "test" {
  get "fs" "app" {}
  task "unit" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "for i in 1 2 3 4 5; do echo line $i; sleep 0.3; done; cat app/v"]
    }
  }
}
"#;

/// Follows a build with `builds logs -f`, noting when each stdout line arrived.
fn follow(server: &str, home: &Path, build: &str) -> (Vec<(Instant, String)>, bool, String) {
    let mut child = client(server, home, &["builds", "logs", "-f", build]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let lines: Vec<(Instant, String)> = BufReader::new(child.stdout.take().unwrap()).lines().map(|l| (Instant::now(), l.unwrap())).collect();
    let out = child.wait_with_output().unwrap();
    (lines, out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn login_set_trigger_and_follow_a_build_live_then_the_other_verbs() {
    let server = start(&[]);
    let url = server.base.trim_start_matches("http://").to_string(); // as PikoCI users write it
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let watched = tempfile::tempdir().unwrap();
    let app = watched.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("v"), "v1").unwrap();
    let hcl = watched.path().join("app.hcl");
    std::fs::write(&hcl, PIPELINE.replace("WATCHED", app.to_str().unwrap())).unwrap();
    let hcl = hcl.to_str().unwrap();

    // Not logged in: refused, with the way out.
    let err = refused(&url, h, &["teams", "list"]);
    assert!(err.contains("401") && err.contains("pikoci client login"), "{err}");
    let err = refused(&url, h, &["login", "-u", "admin", "-p", "wrong"]);
    assert!(err.contains("wrong user name or password"), "{err}");

    // Login keeps the server and token in the user's config dir, readable by them only.
    ok(&url, h, &["login", "-u", "admin", "-p", "adminpw"]);
    let saved = h.join("config/pikoci/client.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777, 0o600);
    let saved_json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(saved_json["url"], server.base);
    assert!(saved_json["token"].as_str().unwrap().starts_with("pikoci_at_"));

    // Set the pipeline; `create` will not overwrite, `update` will not create.
    ok(&url, h, &["pipelines", "create", "-tc", "main", "-n", "app", "-c", hcl]);
    let err = refused(&url, h, &["pipelines", "create", "-n", "app", "-c", hcl]);
    assert!(err.contains("pipelines update"), "{err}");
    let err = refused(&url, h, &["pipelines", "update", "-n", "other", "-c", hcl]);
    assert!(err.contains("pipelines create"), "{err}");
    ok(&url, h, &["pipelines", "update", "-pn", "app", "-c", hcl]);
    assert!(ok(&url, h, &["pipelines", "list"]).lines().any(|l| l.starts_with("app")));
    assert!(ok(&url, h, &["pipelines", "get", "-n", "app"]).contains("job \\\"test\\\""));
    let dot = ok(&url, h, &["pipelines", "graph", "-n", "app"]);
    assert!(dot.contains("\"resource:app\" -> \"job:test\""), "{dot}");

    // The first check has to find a version before a trigger can pick it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while ok(&url, h, &["resources", "versions", "-pn", "app", "-r", "app"]).trim().is_empty() {
        assert!(Instant::now() < deadline, "no version found");
        std::thread::sleep(Duration::from_millis(100));
    }
    let triggered = ok(&url, h, &["jobs", "trigger", "-tc", "main", "-pn", "app", "-jn", "test"]);
    let build = triggered.split('\t').next().unwrap().to_string();
    assert!(triggered.contains("test#1"), "{triggered}");

    // Follow it: lines arrive while the build runs, not all at its end, and the stream ends.
    let (lines, success, stderr) = follow(&url, h, &build);
    let texts: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
    let at = |text: &str| lines.iter().find(|(_, l)| l == text).unwrap_or_else(|| panic!("no `{text}` in {texts:?}")).0;
    assert!(at("line 5").duration_since(at("line 1")) >= Duration::from_millis(700), "the log came all at once: {texts:?}");
    assert!(texts.contains(&"v1") && texts.iter().any(|l| l.starts_with("--- task unit")), "{texts:?}");
    assert!(success && stderr.contains("succeeded"), "{stderr}");
    // Without -f: the stored log, the same lines.
    let stored = ok(&url, h, &["builds", "logs", &build]);
    assert!(stored.contains("line 3\n"), "{stored}");

    // Builds by job and number, get, retry, and cancel (which makes `logs -f` exit 1).
    let listed = ok(&url, h, &["builds", "list", "-pn", "app", "-jn", "test"]);
    assert!(listed.contains("test#1\tsucceeded"), "{listed}");
    let got = ok(&url, h, &["builds", "get", "-pn", "app", "-jn", "test", "--build-number", "1"]);
    assert!(got.contains("\"versions\""), "{got}");
    let retried = ok(&url, h, &["builds", "retry", &build]);
    let retry_id = retried.split('\t').next().unwrap().to_string();
    assert!(retried.contains("test#2"), "{retried}");
    ok(&url, h, &["builds", "cancel", &retry_id]);
    let (_, success, stderr) = follow(&url, h, &retry_id);
    assert!(!success && stderr.contains("aborted"), "{stderr}");
    assert!(ok(&url, h, &["builds", "list", "-pn", "app"]).contains("test#2\taborted"));

    // Jobs, resources.
    assert!(ok(&url, h, &["jobs", "get", "-pn", "app", "-n", "test"]).contains("\"latest_build\""));
    assert!(ok(&url, h, &["resources", "get", "-pn", "app", "-r", "app"]).contains("\"last_check_at\""));
    ok(&url, h, &["resources", "trigger", "-pn", "app", "--resource-canonical", "app"]);
    let hook = ok(&url, h, &["resources", "webhook-regenerate", "-pn", "app", "-r", "app"]);
    assert!(hook.starts_with(&format!("{}/webhooks/pikoci_wh_", server.base)), "{hook}");

    let workers = ok(&url, h, &["workers", "list"]);
    assert!(workers.starts_with("embedded\trunning\t"), "{workers}");

    // Users, members, tokens.
    ok(&url, h, &["users", "create", "--username", "dev", "--password", "dev-password"]);
    assert!(ok(&url, h, &["users", "list"]).contains("dev\n"));
    ok(&url, h, &["teams", "members", "create", "--team-canonical", "main", "--username", "dev", "--role", "viewer"]);
    assert!(ok(&url, h, &["teams", "members", "list", "--team-canonical", "main"]).contains("dev\tviewer"));
    assert!(ok(&url, h, &["teams", "list"]).contains("main"));
    ok(&url, h, &["teams", "create", "--name", "crew"]);
    let token = ok(&url, h, &["api-tokens", "create", "--name", "ci"]).trim().to_string();
    assert!(ok(&url, h, &["api-tokens", "list"]).contains("\tci\t"));

    // Another user's client: a viewer reads but may not trigger.
    let dev_home = tempfile::tempdir().unwrap();
    let d = dev_home.path();
    ok(&url, d, &["login", "-u", "dev", "-p", "dev-password"]);
    assert!(ok(&url, d, &["jobs", "list", "-pn", "app"]).contains("test\t#2 aborted"));
    let err = refused(&url, d, &["jobs", "trigger", "-pn", "app", "-n", "test"]);
    assert!(err.contains("403") && err.contains("operator role"), "{err}");
    let err = refused(&url, d, &["users", "list"]);
    assert!(err.contains("403"), "{err}");
    // A script's token, by flag, works without any login.
    let script_home = tempfile::tempdir().unwrap();
    assert!(ok(&url, script_home.path(), &["--jwt", &token, "pipelines", "list"]).contains("app"));

    ok(&url, h, &["pipelines", "delete", "-n", "app"]);
    assert!(!ok(&url, h, &["pipelines", "list"]).contains("app"));
}

const INPUTS_PIPELINE: &str = r#"
job "deploy" {
  input "env" {
    type        = "string"
    description = "where to"
    options     = ["staging", "production"]
  }
  input "replicas" {
    type    = "number"
    default = 2
  }
  input "regions" {
    options  = ["eu", "us", "ap"]
    multiple = true
    default  = "eu"
  }
  if "prod" {
    condition = "$INPUT_env == production"
    task "careful" {
      run "exec" {
        path = "echo"
        args = ["production: careful now"]
      }
    }
  }
  task "deploy" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "echo deploying to $INPUT_env with $INPUT_replicas replicas in $INPUT_regions"]
    }
  }
}
"#;

#[test]
fn a_trigger_gives_the_jobs_inputs_their_values_and_wrong_ones_are_refused() {
    let server = start(&[]);
    let url = server.base.clone();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let hcl = h.join("inputs.hcl");
    std::fs::write(&hcl, INPUTS_PIPELINE).unwrap();
    ok(&url, h, &["login", "-u", "admin", "-p", "adminpw"]);
    ok(&url, h, &["pipelines", "create", "-n", "rollout", "-c", hcl.to_str().unwrap()]);

    let trigger = |inputs: &[&str]| {
        let mut args = vec!["jobs", "trigger", "-pn", "rollout", "-n", "deploy", "-f"];
        for i in inputs {
            args.extend(["--input", i]);
        }
        client(&url, h, &args).output().unwrap()
    };
    let out = trigger(&["env=production", "regions=eu,us"]);
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{log}{}", String::from_utf8_lossy(&out.stderr));
    assert!(log.contains("deploying to production with 2 replicas in eu,us"), "given values and a default: {log}");
    assert!(log.contains("production: careful now"), "conditions see the inputs: {log}");

    for (inputs, said) in [
        (&[][..], "input `env` is required"),
        (&["env=qa"][..], "input `env` takes `staging`, `production`, not `qa`"),
        (&["env=staging", "replicas=many"][..], "input `replicas` is a number, not `many`"),
        (&["env=staging", "regions=eu,mars"][..], "not `mars`"),
        (&["env=staging", "colour=blue"][..], "the job has no input `colour`"),
    ] {
        let out = trigger(inputs);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success() && err.contains("400") && err.contains(said), "{inputs:?}: {err}");
    }
    let builds = ok(&url, h, &["builds", "list", "-p", "rollout", "-j", "deploy"]);
    assert_eq!(builds.lines().filter(|l| !l.trim().is_empty()).count(), 1, "refused triggers made no build: {builds}");

    // A retry runs with the values of the build it repeats.
    ok(&url, h, &["builds", "retry", "-p", "rollout", "-j", "deploy", "-b", "1"]);
    let (lines, succeeded, err) = follow(&url, h, "2");
    let log: Vec<String> = lines.into_iter().map(|(_, l)| l).collect();
    assert!(succeeded, "{err}");
    assert!(log.iter().any(|l| l.contains("deploying to production with 2 replicas in eu,us")), "{log:?}");
}
