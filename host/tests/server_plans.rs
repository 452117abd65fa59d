//! The server runs compiled plans: checks resolve secret-backed variables as builds do (without
//! storing or logging the secret), and a build runs the plan of the pipeline version that
//! created it, not of whatever was set since.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::server::Api;

const TOKEN: &str = "t0k3n-for-ch3cks";

#[tokio::test]
async fn a_check_resolves_a_secret_backed_param_and_never_keeps_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pikoci.db");
    let pipeline = dir.path().join("guarded.hcl");
    // The check compares a digest, so the secret itself is nowhere in the pipeline.
    let digest = pikoci_registry::Digest::of(TOKEN.as_bytes()).hex();
    std::fs::write(
        &pipeline,
        r#"
variable "token" {
  type = string
  secret "env" {
    key = "PIKOCI_TEST_CHECK_TOKEN"
  }
}
resource_type "guarded" {
  check "exec" {
    path = "/bin/sh"
    args = ["-ec", "echo checking with $param_token >&2; test \"$(printf %s \"$param_token\" | sha256sum | cut -d' ' -f1)\" = DIGEST && echo '[{\"v\": \"1\"}]'"]
  }
  pull "exec" {
    path = "/bin/sh"
    args = ["-ec", "true"]
  }
}
resource "guarded" "src" {
  check_interval = "@every 1h"
  params {
    token = var.token
  }
}
job "j" {
  get "guarded" "src" {
    trigger = true
  }
  task "t" {
    run "exec" {
      path = "/bin/echo"
      args = ["ran"]
    }
  }
}
"#
        .replace("DIGEST", &digest),
    )
    .unwrap();
    let server = support::server::start_with_env(
        &["--db-system", "sqlite", "--db-name", db.to_str().unwrap(), "--pipeline-config", pipeline.to_str().unwrap()],
        &[("PIKOCI_TEST_CHECK_TOKEN", TOKEN)],
    );
    let api = Api::admin(&server).await;
    // Only a check that saw the real token finds the version that triggers the job.
    let builds = api.finished("guarded", "j", 1).await;
    assert_eq!(builds[0]["status"], "succeeded", "{}", server.log());
    let resource = api.get("/api/v1/teams/main/pipelines/guarded/resources/src").await;
    let versions = api.get("/api/v1/teams/main/pipelines/guarded/resources/src/versions").await;
    let pipeline_view = api.get("/api/v1/teams/main/pipelines/guarded").await;
    let mut seen = vec![resource.to_string(), versions.to_string(), pipeline_view.to_string(), server.log()];
    seen.extend(api.log_lines(&builds[0]["id"]).await);
    drop(server);
    seen.push(String::from_utf8_lossy(&std::fs::read(&db).unwrap()).into_owned());
    for text in seen {
        assert!(!text.contains(TOKEN), "the secret was kept: {text}");
    }
}

/// A value given with `--var` for a secret-backed variable reaches the task and nothing the
/// server keeps or shows: the log API, the server's log, the database file.
#[tokio::test]
async fn a_value_given_for_a_secret_variable_is_never_stored_in_clear() {
    const GIVEN: &str = "g1ven-t0-the-s3rver";
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pikoci.db");
    let pipeline = dir.path().join("given.hcl");
    std::fs::write(
        &pipeline,
        r#"
variable "token" {
  type = string
  secret "env" {
    key = "PIKOCI_TEST_NEVER_SET"
  }
}
job "j" {
  task "t" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "echo 'token ${var.token}'; echo reversed $(printf %s '${var.token}' | rev | rev)"]
    }
  }
}
"#,
    )
    .unwrap();
    let var = format!("token={GIVEN}");
    let server =
        support::server::start(&["--db-system", "sqlite", "--db-name", db.to_str().unwrap(), "--pipeline-config", pipeline.to_str().unwrap(), "--var", &var]);
    let api = Api::admin(&server).await;
    trigger(&api, "given", "j").await;
    let builds = api.finished("given", "j", 1).await;
    assert_eq!(builds[0]["status"], "succeeded", "{}", server.log());
    let log = api.log_lines(&builds[0]["id"]).await;
    assert!(log.iter().any(|l| l == "token ((redacted))"), "{log:?}");
    let mut seen = vec![server.log(), api.get("/api/v1/teams/main/pipelines/given").await.to_string()];
    seen.extend(log);
    drop(server);
    seen.push(String::from_utf8_lossy(&std::fs::read(&db).unwrap()).into_owned());
    for text in seen {
        assert!(!text.contains(GIVEN), "the given secret was kept: {text}");
    }
}

async fn trigger(api: &Api, pipeline: &str, job: &str) -> Value {
    api.post(&format!("/api/v1/teams/main/pipelines/{pipeline}/jobs/{job}/builds")).await
}

fn slow_job(gate: &std::path::Path, marker: &str) -> String {
    format!(
        r#"
job "slow" {{
  concurrency = 1
  task "t" {{
    run "exec" {{
      path = "/bin/sh"
      args = ["-ec", "echo {marker}; while [ ! -e {gate} ]; do sleep 0.1; done"]
    }}
  }}
}}
"#,
        gate = gate.display()
    )
}

/// A server running pipeline `name` whose job `slow` (concurrency 1) prints `plan-v1` and waits
/// for `DIR/gate`: build 1 running, build 2 pending behind it.
async fn one_running_one_pending(dir: &std::path::Path, name: &str) -> (support::server::Server, Api, Value) {
    let pipeline = dir.join(format!("{name}.hcl"));
    std::fs::write(&pipeline, slow_job(&dir.join("gate"), "plan-v1")).unwrap();
    let server = support::server::start(&["--pipeline-config", pipeline.to_str().unwrap()]);
    let api = Api::admin(&server).await;
    let first = trigger(&api, name, "slow").await;
    let second = trigger(&api, name, "slow").await;
    assert!(first["id"].is_number() && second["id"].is_number(), "{first} {second}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !api.log_lines(&first["id"]).await.iter().any(|l| l.contains("plan-v1")) {
        assert!(Instant::now() < deadline, "the first build never started: {}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (server, api, second)
}

/// PUT `body` as pipeline `name` of team main.
async fn set_pipeline(api: &Api, name: &str, body: Value) {
    let r = api.c.put(format!("{}/api/v1/teams/main/pipelines/{name}", api.base)).bearer_auth(&api.token).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn a_pending_build_runs_the_plan_it_was_created_with() {
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("gate");
    // The first build runs, the second waits (concurrency 1); then the pipeline changes.
    let (server, api, second) = one_running_one_pending(dir.path(), "versions").await;
    set_pipeline(&api, "versions", json!({"config": slow_job(&gate, "plan-v2")})).await;
    let third = trigger(&api, "versions", "slow").await;
    std::fs::write(&gate, "open").unwrap();

    let builds = api.finished("versions", "slow", 3).await;
    assert!(builds.iter().all(|b| b["status"] == "succeeded"), "{builds:?}\n{}", server.log());
    let log_of = |id: &Value| {
        let id = id.clone();
        let api = &api;
        async move { api.log_lines(&id).await.join("\n") }
    };
    assert!(log_of(&second["id"]).await.contains("plan-v1"), "the pending build must keep its plan");
    assert!(log_of(&third["id"]).await.contains("plan-v2"), "a build created after the change runs the new plan");
}

/// A pipeline set through the API (without variables) is stored with its plan, so a restarted
/// server runs it again; one set with variables waits to be set again, saying why.
#[tokio::test]
async fn a_restarted_server_runs_the_pipelines_set_through_its_api() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pikoci.db");
    let db_flags = ["--db-system", "sqlite", "--db-name", db.to_str().unwrap()];
    let job = |marker: &str| {
        format!("job \"hello\" {{\n  task \"t\" {{\n    run \"exec\" {{\n      path = \"/bin/echo\"\n      args = [\"{marker}\"]\n    }}\n  }}\n}}\n")
    };
    {
        let server = support::server::start(&db_flags);
        let api = Api::admin(&server).await;
        set_pipeline(&api, "kept", json!({"config": job("from-the-api")})).await;
        set_pipeline(&api, "with-vars", json!({"config": format!("variable \"v\" {{ type = string }}\n{}", job("${var.v}")), "vars": {"v": "x"}})).await;
    }
    let server = support::server::start(&db_flags);
    let api = Api::admin(&server).await;
    assert_eq!(api.get("/api/v1/teams/main/pipelines/kept").await["loaded"], true, "{}", server.log());
    assert_eq!(api.get("/api/v1/teams/main/pipelines/with-vars").await["loaded"], false, "{}", server.log());
    trigger(&api, "kept", "hello").await;
    let builds = api.finished("kept", "hello", 1).await;
    assert_eq!(builds[0]["status"], "succeeded", "{}", server.log());
    assert!(api.log_lines(&builds[0]["id"]).await.iter().any(|l| l.contains("from-the-api")));
    assert!(server.log().contains("set with variables"), "{}", server.log());
}

#[tokio::test]
async fn a_pending_build_runs_even_when_the_change_removed_its_job() {
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("gate");
    let (server, api, second) = one_running_one_pending(dir.path(), "removal").await;
    let other = "job \"other\" {\n  task \"t\" {\n    run \"exec\" {\n      path = \"/bin/true\"\n    }\n  }\n}\n";
    set_pipeline(&api, "removal", json!({"config": other})).await;
    std::fs::write(&gate, "open").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let build = api.get(&format!("/api/v1/builds/{}", second["id"])).await;
        if build["finished_at"].is_number() {
            assert_eq!(build["status"], "succeeded", "{build}\n{}", server.log());
            break;
        }
        assert!(Instant::now() < deadline, "the pending build never ran: {build}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(api.log_lines(&second["id"]).await.iter().any(|l| l.contains("plan-v1")));
}
