//! SIGQUIT drains the real server: running builds finish (up to --drain-timeout, then they are
//! aborted), no new build starts, and the process then exits 0 by itself.
//!
//! The database is a SQLite file rather than memory: the process exits within a moment of its
//! last build ending, so the outcome is read afterwards from a second server on the same file.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};
use support::server::{start, Api, Server};

/// A pipeline `app` whose job `slow` runs `script` in a shell; triggered by hand only.
fn pipeline(dir: &Path, script: &str) -> String {
    let path = dir.join("app.hcl");
    std::fs::write(
        &path,
        format!("job \"slow\" {{\n  task \"work\" {{\n    run \"exec\" {{\n      path = \"/bin/sh\"\n      args = [\"-ec\", \"{script}\"]\n    }}\n  }}\n}}\n"),
    )
    .unwrap();
    path.display().to_string()
}

async fn trigger(c: &reqwest::Client, base: &str, token: &str) -> (u16, Value) {
    let r = c.post(format!("{base}/api/v1/teams/main/pipelines/app/jobs/slow/builds")).bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn build(api: &Api, id: &Value) -> Value {
    api.get(&format!("/api/v1/builds/{id}")).await
}

/// Triggers `slow` and returns its build id once the build runs.
async fn start_slow_build(api: &Api, server: &Server) -> Value {
    let (status, first) = trigger(&api.c, &api.base, &api.token).await;
    assert_eq!(status, 201, "{first}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while build(api, &first["id"]).await["status"] != "started" {
        assert!(Instant::now() < deadline, "the build never started: {}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first["id"].clone()
}

fn sigquit(server: &Server) {
    assert_eq!(unsafe { libc::kill(server.child.id() as i32, libc::SIGQUIT) }, 0);
}

/// Waits (`limit` at most) for the server to exit by itself.
async fn exit_of(server: &mut Server, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the server is still running: {}", server.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigquit_lets_the_running_build_finish_starts_no_other_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pikoci.db").display().to_string();
    let args = ["--db-system", "sqlite", "--db-name", &db];
    // Room for two builds at once: only the drain keeps a second one from starting.
    let mut server =
        start(&[&args[..], &["--run-worker", "true", "--concurrency", "2", "--pipeline-config", &pipeline(dir.path(), "sleep 3; echo done")]].concat());
    let api = Api::admin(&server).await;
    let first = start_slow_build(&api, &server).await;

    // Follow the build's log live, to know when it ends without polling a server that is leaving.
    let mut events = api.c.get(format!("{}/api/v1/builds/{first}/events", server.base)).bearer_auth(&api.token).send().await.unwrap();
    assert_eq!(events.status(), 200);
    sigquit(&server);
    let quit_at = Instant::now();
    while !server.log().contains("pikoci: draining") {
        assert!(quit_at.elapsed() < Duration::from_secs(10), "no drain: {}", server.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A trigger during the drain is taken (the API still answers) but its build never starts.
    let (status, second) = trigger(&api.c, &server.base, &api.token).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(build(&api, &second["id"]).await["status"], "pending");

    // The process stays up while the build runs: the log's end comes from it. (Whether it is
    // still alive when this reads a chunk proves nothing: it may have finished the build and
    // left while the chunks wait here to be read.)
    let mut body = String::new();
    while !body.contains("event: end") {
        let chunk = tokio::time::timeout(Duration::from_secs(20), events.chunk()).await.expect("the build's log stalled").unwrap();
        let Some(chunk) = chunk else { panic!("the log stream closed before the build ended: {body}\n{}", server.log()) };
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(body.contains("\"text\":\"done\""), "{body}");
    assert!(quit_at.elapsed() > Duration::from_secs(1), "the build ended {:?} after SIGQUIT", quit_at.elapsed());

    // Then it exits by itself, successfully.
    let status = exit_of(&mut server, Duration::from_secs(15)).await;
    assert_eq!(status.code(), Some(0), "{}", server.log());

    // What the database kept: the drained build succeeded with its whole log; the one triggered
    // during the drain never ran (a server without a worker shows it as it was left).
    let after = start(&[&args[..], &["--run-worker", "false"]].concat());
    let api = Api::admin(&after).await;
    let drained = build(&api, &first).await;
    assert_eq!(drained["status"], "succeeded", "{drained}");
    assert!(api.log_lines(&first).await.contains(&"done".to_string()));
    let queued = build(&api, &second["id"]).await;
    assert_eq!((queued["status"].as_str(), queued["started_at"].is_null()), (Some("pending"), true), "{queued}");
    assert!(api.log_lines(&second["id"]).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigquit_aborts_what_still_runs_after_the_drain_timeout_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pikoci.db").display().to_string();
    let args = ["--db-system", "sqlite", "--db-name", &db];
    let mut server = start(&[&args[..], &["--drain-timeout", "1s", "--pipeline-config", &pipeline(dir.path(), "echo begun; sleep 30; echo done")]].concat());
    let first = start_slow_build(&Api::admin(&server).await, &server).await;
    sigquit(&server);
    let quit_at = Instant::now();

    let status = exit_of(&mut server, Duration::from_secs(20)).await;
    let took = quit_at.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(10), "exited {took:?} after SIGQUIT: {}", server.log());
    assert_eq!(status.code(), Some(0), "{}", server.log());

    let after = start(&[&args[..], &["--run-worker", "false"]].concat());
    let api = Api::admin(&after).await;
    let aborted = build(&api, &first).await;
    assert_eq!(aborted["status"], "aborted", "{aborted}");
    let log = api.log_lines(&first).await;
    assert!(log.contains(&"begun".to_string()) && !log.contains(&"done".to_string()), "{log:?}");
}
