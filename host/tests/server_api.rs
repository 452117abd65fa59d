//! `pikoci server` end to end: the real binary on loopback, driven by a real HTTP client.

mod support;

use support::server::*;

use serde_json::{json, Value};

use std::time::{Duration, Instant};

async fn wait_for_builds(c: &reqwest::Client, base: &str, token: &str, job: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let builds: Vec<Value> =
            c.get(format!("{base}/api/v1/teams/main/pipelines/app/jobs/{job}/builds")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        let done = builds.iter().filter(|b| b["finished_at"].is_number()).count();
        if done >= count {
            return builds;
        }
        assert!(Instant::now() < deadline, "{job}: waited for {count} finished builds, have {builds:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_a_pipeline_trigger_it_follow_the_log_and_see_downstream_run() {
    let server = start(&[]);
    let c = client();
    let base = &server.base;
    let watched = tempfile::tempdir().unwrap();
    let app = watched.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("v"), "v1").unwrap();

    // Unauthenticated and wrong credentials are refused.
    let anon = c.put(format!("{base}/api/v1/teams/main/pipelines/app")).json(&json!({"config": pipeline_text(&app)})).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    let bad = c.post(format!("{base}/api/v1/login")).json(&json!({"username": "admin", "password": "nope"})).send().await.unwrap();
    assert_eq!(bad.status(), 401);

    let admin = login(&c, base, "admin", "adminpw").await;
    // A broken pipeline is refused with the reason, and nothing is set.
    let broken = c
        .put(format!("{base}/api/v1/teams/main/pipelines/app"))
        .bearer_auth(&admin)
        .json(&json!({"config": "job \"x\" {\n  get \"fs\" \"missing\" {}\n}\n"}))
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
    let reason = broken.text().await.unwrap();
    assert!(reason.contains("resource `missing` is not defined"), "{reason}");

    let set = c.put(format!("{base}/api/v1/teams/main/pipelines/app")).bearer_auth(&admin).json(&json!({"config": pipeline_text(&app)})).send().await.unwrap();
    assert_eq!(set.status(), 200, "{}", set.text().await.unwrap());

    // The first check finds v1: test runs, then deploy through `passed`.
    let first = wait_for_builds(&c, base, &admin, "test", 1).await;
    let build_id = first[0]["id"].as_i64().unwrap();
    assert_eq!(first[0]["status"], "succeeded", "{first:?}");
    wait_for_builds(&c, base, &admin, "deploy", 1).await;

    // A new version through the webhook: a new test build, whose log we follow live over SSE.
    let hook: Value =
        c.post(format!("{base}/api/v1/teams/main/pipelines/app/resources/app/webhook_token")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    std::fs::write(app.join("v"), "v2").unwrap();
    let webhook = c.post(format!("{base}{}", hook["url"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(webhook.status(), 202);
    let builds = wait_for_builds(&c, base, &admin, "test", 2).await;
    let second = builds.iter().find(|b| b["id"].as_i64() != Some(build_id)).unwrap();
    let mut events = c.get(format!("{base}/api/v1/builds/{}/events", second["id"])).bearer_auth(&admin).send().await.unwrap();
    let mut body = String::new();
    while let Some(chunk) = events.chunk().await.unwrap() {
        body.push_str(&String::from_utf8_lossy(&chunk));
        if body.contains("event: end") {
            break;
        }
    }
    assert!(body.contains("line 3") && body.contains("v2"), "{body}");
    let deploys = wait_for_builds(&c, base, &admin, "deploy", 2).await;
    assert!(deploys.iter().all(|b| b["status"] == "succeeded"), "{deploys:?}");

    // A viewer (no role in the team) may not trigger; the admin may.
    let viewer = login(&c, base, "viewer", "viewerpw").await;
    let refused = c.post(format!("{base}/api/v1/teams/main/pipelines/app/jobs/test/builds")).bearer_auth(&viewer).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let triggered = c.post(format!("{base}/api/v1/teams/main/pipelines/app/jobs/test/builds")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(triggered.status(), 201);
    wait_for_builds(&c, base, &admin, "test", 3).await;

    let metrics = c.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("pikoci_builds_total{status=\"succeeded\"}"), "{metrics}");
    for call in [
        "kind=\"resource-type\",function=\"check\",outcome=\"succeeded\"",
        "kind=\"resource-type\",function=\"get\",outcome=\"succeeded\"",
        "kind=\"runner\",function=\"run\",outcome=\"succeeded\"",
    ] {
        assert!(metrics.contains(&format!("pikoci_plugin_call_duration_seconds_count{{{call}}}")), "plugin call latency of {call}: {metrics}");
    }
}

/// The log is followed while the build runs: its first line arrives over SSE while the task is
/// still blocked, and the rest once the test lets it go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_builds_log_is_followed_live() {
    let server = start(&[]);
    let c = client();
    let base = &server.base;
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("gate");
    let config = format!(
        "job \"gated\" {{\n  task \"wait\" {{\n    run \"exec\" {{\n      path = \"/bin/sh\"\n      args = [\"-ec\", \"echo before the gate; while [ ! -e {} ]; do sleep 0.05; done; echo after the gate\"]\n    }}\n  }}\n}}\n",
        gate.display()
    );
    let admin = login(&c, base, "admin", "adminpw").await;
    let set = c.put(format!("{base}/api/v1/teams/main/pipelines/live")).bearer_auth(&admin).json(&json!({"config": config})).send().await.unwrap();
    assert_eq!(set.status(), 200, "{}", set.text().await.unwrap());
    let build: Value =
        c.post(format!("{base}/api/v1/teams/main/pipelines/live/jobs/gated/builds")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();

    let mut events = c.get(format!("{base}/api/v1/builds/{}/events", build["id"])).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(events.status(), 200);
    let mut body = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !body.contains("before the gate") {
        let chunk = tokio::time::timeout_at(deadline.into(), events.chunk()).await.expect("no log line within 60 s").unwrap().expect("the stream ended early");
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    let now: Value = c.get(format!("{base}/api/v1/builds/{}", build["id"])).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(now["status"], "started", "the first line came while the build ran: {now}");
    assert!(!body.contains("after the gate") && !body.contains("event: end"), "{body}");
    // The embedded worker shows itself to any signed-in user, and the build it runs to those
    // who may see the build's pipeline (not to `viewer`, who has no role in its team).
    let viewer = login(&c, base, "viewer", "viewerpw").await;
    let workers: Value = c.get(format!("{base}/api/v1/workers")).bearer_auth(&viewer).send().await.unwrap().json().await.unwrap();
    assert_eq!((workers[0]["name"].as_str(), workers[0]["status"].as_str()), (Some("embedded"), Some("running")), "{workers}");
    assert_eq!(workers[0]["running_builds"], json!([]), "{workers}");
    let workers: Value = c.get(format!("{base}/api/v1/workers")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(workers[0]["running_builds"], json!([build["id"]]), "{workers}");
    assert_eq!(c.get(format!("{base}/api/v1/workers")).send().await.unwrap().status(), 401);

    std::fs::write(&gate, "").unwrap();
    while !body.contains("event: end") {
        let chunk =
            tokio::time::timeout_at(deadline.into(), events.chunk()).await.expect("the build never ended").unwrap().expect("the stream ended without `end`");
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(body.contains("after the gate"), "{body}");
    let done: Value = c.get(format!("{base}/api/v1/builds/{}", build["id"])).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(done["status"], "succeeded", "{done}");

    // An anonymous caller may not follow a private pipeline's build, nor learn it exists.
    let anon = c.get(format!("{base}/api/v1/builds/{}/events", build["id"])).send().await.unwrap();
    assert_eq!(anon.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_aborts_running_builds_stops_their_services_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pikoci.db");
    let (service_pid, task_pid) = (dir.path().join("service.pid"), dir.path().join("task.pid"));
    let pipeline = dir.path().join("app.hcl");
    std::fs::write(
        &pipeline,
        format!(
            r#"
service_type "sleeper" {{
  start "exec" {{
    path = "/bin/sh"
    args = ["-ec", "echo $$ > {service_pid}; exec sleep 300"]
  }}
  stop "exec" {{
    path = "/bin/sh"
    args = ["-c", "kill $(cat {service_pid})"]
  }}
}}

job "long" {{
  service "sleeper" {{}}
  task "wait" {{
    run "exec" {{
      path = "/bin/sh"
      args = ["-ec", "echo $$ > {task_pid}; exec sleep 300"]
    }}
  }}
  on_abort "exec" {{
    path = "/bin/echo"
    args = ["cleaning up after the abort"]
  }}
}}
"#,
            service_pid = service_pid.display(),
            task_pid = task_pid.display()
        ),
    )
    .unwrap();
    let args = ["--db-system", "sqlite", "--db-name", db.to_str().unwrap(), "--pipeline-config", pipeline.to_str().unwrap()];
    let c = client();
    let mut server = start(&args);
    let admin = login(&c, &server.base, "admin", "adminpw").await;
    let r = c.post(format!("{}/api/v1/teams/main/pipelines/app/jobs/long/builds", server.base)).bearer_auth(&admin).send().await.unwrap();
    assert!(r.status().is_success());
    let pids = [support::cli::wait_for_file(&service_pid), support::cli::wait_for_file(&task_pid)];

    unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not stop on SIGTERM: {}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status:?}: {}", server.log());
    for pid in &pids {
        assert!(support::cli::process_gone(pid), "{pid} outlived the server's SIGTERM");
    }
    drop(server);

    // The build was recorded as aborted by the server itself, with its abort hook's output.
    let server = start(&args);
    let admin = login(&c, &server.base, "admin", "adminpw").await;
    let builds: Vec<Value> =
        c.get(format!("{}/api/v1/teams/main/pipelines/app/jobs/long/builds", server.base)).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(builds[0]["status"], "aborted", "{builds:?}");
    let log: Vec<Value> =
        c.get(format!("{}/api/v1/builds/{}/log", server.base, builds[0]["id"])).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert!(log.iter().any(|l| l["text"] == "cleaning up after the abort"), "{log:?}");
}
