//! How the server schedules: failing checks are visible on the resource and retried with backoff
//! long before the next interval, slow checks run side by side, a trigger put in one pipeline
//! starts a job in another, a job's `concurrency` caps its builds running at once, and the
//! server's check flags bound checks.

mod support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::server::{client, login, Api, Server};

async fn resource(server: &Server, token: &str, pipeline: &str, name: &str) -> Value {
    let url = format!("{}/api/v1/teams/main/pipelines/{pipeline}/resources/{name}", server.base);
    client().get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

/// Poll the resource until `done` holds, for at most `within`.
async fn wait_for(server: &Server, token: &str, pipeline: &str, name: &str, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let r = resource(server, token, pipeline, name).await;
        if done(&r) {
            return r;
        }
        assert!(Instant::now() < deadline, "{name} never got there: {r}\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_failing_check_shows_its_error_and_is_retried_before_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("not-yet");
    let pipeline = dir.path().join("retry.hcl");
    std::fs::write(&pipeline, format!("resource \"fs\" \"app\" {{\n  check_interval = \"@every 1h\"\n  params {{ path = \"{}\" }}\n}}\n", watched.display()))
        .unwrap();
    let server = support::server::start(&["--pipeline-config", pipeline.to_str().unwrap()]);
    let token = login(&client(), &server.base, "admin", "adminpw").await;

    let failed = wait_for(&server, &token, "retry", "app", Duration::from_secs(20), |r| r["last_check_error"].is_string()).await;
    let (at, next) = (failed["last_check_at"].as_i64().unwrap(), failed["next_check_at"].as_i64().unwrap());
    assert!(next - at <= 5_000, "the first retry comes after 5 s, not after the hour: {failed}");
    assert!(failed["last_check_succeeded_at"].is_null(), "{failed}");

    // The path appears: a retry (5 s, then 10 s after the first failure) finds it, where the
    // interval alone would wait an hour.
    std::fs::create_dir_all(&watched).unwrap();
    std::fs::write(watched.join("v"), "1").unwrap();
    let ok = wait_for(&server, &token, "retry", "app", Duration::from_secs(30), |r| r["last_check_succeeded_at"].is_number()).await;
    assert!(ok["last_check_error"].is_null(), "{ok}");
    let next = ok["next_check_at"].as_i64().unwrap() - ok["last_check_at"].as_i64().unwrap();
    assert!(next > 3_500_000, "after a success the interval applies again: {ok}");
}

#[tokio::test]
async fn slow_checks_of_different_resources_run_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let mut text = format!(
        r#"
resource_type "slow" {{
  check "exec" {{
    path = "/bin/sh"
    args = ["-ec", "echo start >> {ledger}; sleep 2; echo end >> {ledger}; printf '[{{\"v\":\"1\"}}]'"]
  }}
}}
"#,
        ledger = ledger.display()
    );
    for n in 1..=3 {
        text.push_str(&format!("resource \"slow\" \"r{n}\" {{\n  check_interval = \"@every 1h\"\n}}\n"));
    }
    let pipeline = dir.path().join("slow.hcl");
    std::fs::write(&pipeline, text).unwrap();
    let started = Instant::now();
    let server = support::server::start(&["--pipeline-config", pipeline.to_str().unwrap()]);
    let token = login(&client(), &server.base, "admin", "adminpw").await;
    for n in 1..=3 {
        wait_for(&server, &token, "slow", &format!("r{n}"), Duration::from_secs(30), |r| r["last_check_succeeded_at"].is_number()).await;
    }
    let ledger = std::fs::read_to_string(&ledger).unwrap();
    assert_eq!(most_at_once(&ledger), 3, "three 2 s checks overlapped: {ledger}");
    assert!(started.elapsed() < Duration::from_secs(6), "three 2 s checks took {:?}", started.elapsed());
}

#[tokio::test]
async fn the_check_flags_bound_how_many_checks_run_and_how_long_each_may_take() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let text = format!(
        r#"
resource_type "slow" {{
  check "exec" {{
    path = "/bin/sh"
    args = ["-ec", "echo start >> {ledger}; sleep 1; echo end >> {ledger}; printf '[{{\"v\":\"1\"}}]'"]
  }}
}}
resource_type "stuck" {{
  check "exec" {{
    path = "/bin/sleep"
    args = ["600"]
  }}
}}
resource "slow" "r1" {{
  check_interval = "@every 1h"
}}
resource "slow" "r2" {{
  check_interval = "@every 1h"
}}
resource "stuck" "hung" {{
  check_interval = "@every 1h"
}}
"#,
        ledger = ledger.display()
    );
    let pipeline = dir.path().join("bounded.hcl");
    std::fs::write(&pipeline, text).unwrap();
    let server = support::server::start(&["--pipeline-config", pipeline.to_str().unwrap(), "--max-concurrent-checks", "1", "--check-timeout", "2s"]);
    let token = login(&client(), &server.base, "admin", "adminpw").await;
    let hung = wait_for(&server, &token, "bounded", "hung", Duration::from_secs(30), |r| r["last_check_error"].is_string()).await;
    let error = hung["last_check_error"].as_str().unwrap();
    assert!(error.contains("2s"), "the check is stopped at --check-timeout: {error}");
    for name in ["r1", "r2"] {
        wait_for(&server, &token, "bounded", name, Duration::from_secs(30), |r| r["last_check_succeeded_at"].is_number()).await;
    }
    let ledger = std::fs::read_to_string(&ledger).unwrap();
    assert_eq!(most_at_once(&ledger), 1, "one check at a time: {ledger}");
}

#[tokio::test]
async fn a_trigger_put_in_one_pipeline_starts_a_job_in_another_of_the_team() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = dir.path().join("a.hcl");
    std::fs::write(
        &upstream,
        r#"
resource "trigger" "deploy" {}

job "build" {
  task "compile" {
    run "exec" {
      path = "/bin/echo"
      args = ["compiled"]
    }
  }
  on_success {
    put "trigger" "deploy" {
      build_sha = "abc123"
      status    = "success"
    }
  }
}
"#,
    )
    .unwrap();
    let downstream = r#"
resource "trigger" "deploy" {}

job "deploy" {
  get "trigger" "deploy" { trigger = true }
  task "run-deploy" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "echo deploying $version_build_sha from $version_trigger_pipeline/$version_trigger_job#$version_trigger_build"]
    }
  }
}
"#;
    let server = support::server::start(&["--pipeline-config", upstream.to_str().unwrap()]);
    let api = Api::admin(&server).await;
    let (c, token) = (&api.c, &api.token);
    let set = c
        .put(format!("{}/api/v1/teams/main/pipelines/b", server.base))
        .bearer_auth(token)
        .json(&serde_json::json!({"config": downstream}))
        .send()
        .await
        .unwrap();
    assert!(set.status().is_success(), "{}", set.text().await.unwrap());

    // No event yet: the downstream job waits.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(api.get("/api/v1/teams/main/pipelines/b/jobs/deploy/builds").await.as_array().unwrap().is_empty());

    let started = Instant::now();
    let run = c.post(format!("{}/api/v1/teams/main/pipelines/a/jobs/build/builds", server.base)).bearer_auth(token).send().await.unwrap();
    assert!(run.status().is_success());
    let deploy = api.finished("b", "deploy", 1).await.remove(0);
    // The put makes the listeners check at once; the default interval is a minute.
    assert!(started.elapsed() < Duration::from_secs(30), "the deploy build waited for a check interval: {}", server.log());
    let log = api.log_lines(&deploy["id"]).await.join("\n");
    assert_eq!(deploy["status"], "succeeded", "{log}");
    assert!(log.contains("deploying abc123 from a/build#1"), "{log}");
}

/// Most lines "start" open at once in a ledger of start/end lines.
fn most_at_once(ledger: &str) -> i32 {
    let (mut open, mut most) = (0, 0);
    for line in ledger.lines() {
        open += if line == "start" { 1 } else { -1 };
        most = most.max(open);
    }
    most
}

#[tokio::test]
async fn a_jobs_concurrency_caps_its_running_builds() {
    let dir = tempfile::tempdir().unwrap();
    let job = |name: &str, cap: u32| {
        let ledger = dir.path().join(name);
        format!(
            "job \"{name}\" {{\n  concurrency = {cap}\n  task \"t\" {{\n    run \"exec\" {{\n      path = \"/bin/sh\"\n      args = [\"-ec\", \"echo start >> {l}; sleep 0.6; echo end >> {l}\"]\n    }}\n  }}\n}}\n",
            l = ledger.display()
        )
    };
    let pipeline = dir.path().join("capped.hcl");
    std::fs::write(&pipeline, format!("{}{}", job("serial", 1), job("pairs", 2))).unwrap();
    let server = support::server::start(&["--pipeline-config", pipeline.to_str().unwrap(), "--concurrency", "6"]);
    let api = Api::admin(&server).await;
    for job in ["serial", "pairs"] {
        for _ in 0..3 {
            assert!(api.post(&format!("/api/v1/teams/main/pipelines/capped/jobs/{job}/builds")).await["id"].is_number());
        }
    }
    for job in ["serial", "pairs"] {
        api.finished("capped", job, 3).await;
    }
    let serial = std::fs::read_to_string(dir.path().join("serial")).unwrap();
    let pairs = std::fs::read_to_string(dir.path().join("pairs")).unwrap();
    assert_eq!(most_at_once(&serial), 1, "{serial}");
    assert_eq!(most_at_once(&pairs), 2, "{pairs}");
}

#[tokio::test]
async fn jobs_sharing_a_serial_group_never_run_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let job = |name: &str, groups: &str| {
        format!(
            "job \"{name}\" {{\n  serial_groups = [{groups}]\n  task \"t\" {{\n    run \"shell\" {{\n      cmd = \"echo start {name} >> {l}; sleep 0.5; echo end {name} >> {l}\"\n    }}\n  }}\n}}\n",
            l = ledger.display()
        )
    };
    let pipeline = dir.path().join("grouped.hcl");
    let text = [job("deploy-web", "\"prod\""), job("deploy-db", "\"prod\", \"db\""), job("migrate", "\"db\""), job("lint", "")].concat();
    std::fs::write(&pipeline, text).unwrap();
    let server = support::server::start(&["--pipeline-config", pipeline.to_str().unwrap(), "--concurrency", "6"]);
    let api = Api::admin(&server).await;
    let jobs = ["deploy-web", "deploy-db", "migrate", "lint"];
    for _ in 0..2 {
        for job in jobs {
            assert!(api.post(&format!("/api/v1/teams/main/pipelines/grouped/jobs/{job}/builds")).await["id"].is_number());
        }
    }
    for job in jobs {
        api.finished("grouped", job, 2).await;
    }
    let ledger = std::fs::read_to_string(&ledger).unwrap();
    // Replay the ledger: which jobs run at each moment.
    let (mut running, mut most) = (Vec::<&str>::new(), 0);
    for line in ledger.lines() {
        match line.split_once(' ') {
            Some(("start", job)) => running.push(job),
            Some(("end", job)) => {
                running.remove(running.iter().position(|j| *j == job).unwrap());
            }
            _ => panic!("{ledger}"),
        };
        let both = |a: &str, b: &str| running.contains(&a) && running.contains(&b);
        assert!(!both("deploy-web", "deploy-db"), "group prod ran two jobs at once:\n{ledger}");
        assert!(!both("deploy-db", "migrate"), "group db ran two jobs at once:\n{ledger}");
        most = most.max(running.len());
    }
    // Not everything waited: a job outside the groups, and groups apart, ran side by side.
    assert!(most >= 2, "nothing ran at once, so the groups proved nothing:\n{ledger}");
}

#[tokio::test]
async fn an_interruptible_jobs_new_build_supersedes_the_older_ones_and_retries_can_be_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let (started, gate) = (dir.path().join("started"), dir.path().join("gate"));
    let pipeline = dir.path().join("newest.hcl");
    std::fs::write(
        &pipeline,
        format!(
            "job \"blocker\" {{\n  task \"t\" {{\n    run \"shell\" {{\n      cmd = \"while [ ! -e {g} ]; do sleep 0.05; done\"\n    }}\n  }}\n}}\n\
             job \"deploy\" {{\n  interruptible = true\n  disable_retry = true\n  task \"t\" {{\n    run \"shell\" {{\n      cmd = \"echo $BUILD_NUMBER >> {s}; exec sleep 30\"\n    }}\n  }}\n  on_cancel \"shell\" {{\n    cmd = \"echo cancelled $BUILD_NUMBER\"\n  }}\n}}\n",
            g = gate.display(),
            s = started.display()
        ),
    )
    .unwrap();
    // One build at a time, so a build can be held pending behind another.
    let server = support::server::start(&["--pipeline-config", pipeline.to_str().unwrap(), "--concurrency", "1"]);
    let api = Api::admin(&server).await;
    let trigger = |job: &str| format!("/api/v1/teams/main/pipelines/newest/jobs/{job}/builds");
    let build = |b: Value| {
        let path = format!("/api/v1/builds/{}", b["id"]);
        let api = &api;
        async move { api.get(&path).await }
    };
    let wait_started = |number: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !std::fs::read_to_string(&started).unwrap_or_default().lines().any(|l| l == number) {
            assert!(Instant::now() < deadline, "deploy #{number} never started: {}", server.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    };

    // A pending build is superseded before it starts.
    api.post(&trigger("blocker")).await;
    let first = api.post(&trigger("deploy")).await;
    let second = api.post(&trigger("deploy")).await;
    let first = build(first).await;
    assert_eq!((first["status"].as_str(), first["reason"].as_str()), (Some("aborted"), Some("superseded by build #2")), "{first}");
    assert!(first["started_at"].is_null(), "{first}");

    // A running one is aborted: its log says why and its cancel hook runs.
    std::fs::write(&gate, "").unwrap();
    wait_started("2");
    let third = api.post(&trigger("deploy")).await;
    let done = api.finished("newest", "deploy", 2).await;
    assert_eq!(done.iter().map(|b| b["number"].as_i64().unwrap()).collect::<Vec<_>>(), [1, 2], "the third runs on: {done:?}");
    let second = build(second).await;
    assert_eq!(second["status"], "aborted", "{second}");
    let log = api.log_lines(&second["id"]).await.join("\n");
    assert!(log.contains("superseded by build #3") && log.contains("cancelled 2"), "{log}");
    wait_started("3");
    assert_eq!(build(third.clone()).await["status"], "started");

    // `disable_retry`: the retry is refused, saying why.
    let retry = api.c.post(format!("{}/api/v1/builds/{}/retry", server.base, second["id"])).bearer_auth(&api.token).send().await.unwrap();
    assert_eq!(retry.status(), 409);
    assert!(retry.text().await.unwrap().contains("disable_retry"));
}

#[tokio::test]
async fn a_failed_build_of_an_allow_failure_job_is_a_warning_and_lets_its_versions_pass() {
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("app");
    std::fs::create_dir(&watched).unwrap();
    std::fs::write(watched.join("v"), "1\n").unwrap();
    let pipeline = dir.path().join("lenient.hcl");
    std::fs::write(
        &pipeline,
        format!(
            r#"
resource "fs" "app" {{
  params {{ path = "{watched}" }}
}}

job "flaky" {{
  allow_failure = true
  get "fs" "app" {{ trigger = true }}
  task "fails" {{
    run "exec" {{ path = "false" }}
  }}
  on_failure "exec" {{
    path = "/bin/sh"
    args = ["-ec", "echo hook saw $BUILD_STATUS"]
  }}
}}

job "after" {{
  get "fs" "app" {{
    trigger = true
    passed  = ["flaky"]
  }}
  task "runs" {{
    run "exec" {{ path = "true" }}
  }}
}}
"#,
            watched = watched.display()
        ),
    )
    .unwrap();
    let server = support::server::start(&["--pipeline-config", pipeline.to_str().unwrap()]);
    let api = Api::admin(&server).await;
    let flaky = api.finished("lenient", "flaky", 1).await;
    assert_eq!(flaky[0]["status"], "warning", "{}", server.log());
    assert!(api.log_lines(&flaky[0]["id"]).await.iter().any(|l| l.contains("hook saw warning")), "{}", server.log());
    // The version went through `flaky`, if only with a warning: `after` is not blocked.
    let after = api.finished("lenient", "after", 1).await;
    assert_eq!(after[0]["status"], "succeeded", "{}", server.log());
}

#[tokio::test]
async fn on_trigger_notifies_before_the_build_of_a_new_version_and_a_failing_one_does_not_stop_it() {
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("app");
    std::fs::create_dir(&watched).unwrap();
    std::fs::write(watched.join("v"), "1\n").unwrap();
    let record = dir.path().join("triggered");
    let pipeline = dir.path().join("announced.hcl");
    std::fs::write(
        &pipeline,
        format!(
            r#"
notification_type "record" {{
  notify "exec" {{
    path = "/bin/sh"
    args = ["-ec", "echo \"$BUILD_JOB_NAME|$version_sha256|$notify_phase|$INPUT_env\" >> {record}; test -z \"$param_broken\""]
  }}
}}
notification "record" "queue" {{
  params {{ channel = "ci" }}
}}
notification "record" "broken" {{
  params {{ broken = "yes" }}
}}

resource "fs" "app" {{
  params {{ path = "{watched}" }}
}}

job "build" {{
  input "env" {{
    default = "staging"
  }}
  on_trigger {{
    notify "record" "broken" {{ phase = "first" }}
    notify "record" "queue" {{ phase = "queued" }}
  }}
  get "fs" "app" {{ trigger = true }}
  task "t" {{
    run "exec" {{ path = "true" }}
  }}
}}
"#,
            record = record.display(),
            watched = watched.display()
        ),
    )
    .unwrap();
    let server = support::server::start(&["--pipeline-config", pipeline.to_str().unwrap()]);
    let api = Api::admin(&server).await;
    let builds = api.finished("announced", "build", 1).await;
    assert_eq!(builds[0]["status"], "succeeded", "a failing on_trigger does not stop the build: {}", server.log());
    let lines = std::fs::read_to_string(&record).unwrap_or_else(|e| panic!("{e}: {}", server.log()));
    // The first notification fails (its command exits 1), the second is still sent; both see
    // the job, the new version's fields and the input's default.
    let lines: Vec<Vec<&str>> = lines.lines().map(|l| l.split('|').collect()).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for (line, phase) in lines.iter().zip(["first", "queued"]) {
        assert_eq!((line[0], line[2], line[3]), ("build", phase, "staging"), "{lines:?}");
        assert!(line[1].len() == 64 && line[1].chars().all(|c| c.is_ascii_hexdigit()), "version_sha256 is the version's: {lines:?}");
    }
    assert!(server.log().contains("on_trigger hook failed"), "{}", server.log());
}
