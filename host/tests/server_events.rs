//! The scheduler is driven by events, not by polling: an idle server issues no SQL at all, a due
//! check runs on time, a resource removed from its pipeline is never checked again, and a long log
//! streams through the store in bounded memory with nothing lost.

mod support;

use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};
use support::server::{client, Api, Server};

/// `pikoci_store_statements_total` from the server's `/metrics`.
async fn statements(server: &Server) -> u64 {
    let text = client().get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    let line = text.lines().find(|l| l.starts_with("pikoci_store_statements_total")).unwrap_or_else(|| panic!("no statement counter in\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// An exec-defined resource type whose check appends the resource's name to `ledger`.
fn ledger_type(ledger: &Path) -> String {
    format!(
        r#"
resource_type "noted" {{
  params = ["name"]
  check "exec" {{
    path = "/bin/sh"
    args = ["-ec", "echo \"$param_name\" >> {ledger}; printf '[{{\"v\":\"1\"}}]'"]
  }}
  pull "exec" {{
    path = "/bin/true"
  }}
}}
"#,
        ledger = ledger.display()
    )
}

fn checks_of(ledger: &Path, name: &str) -> usize {
    std::fs::read_to_string(ledger).unwrap_or_default().lines().filter(|l| *l == name).count()
}

async fn wait_until(what: &str, server: &Server, within: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done().await {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_idle_server_issues_no_sql_however_many_jobs_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = ledger_type(&dir.path().join("ledger"));
    for n in 0..40 {
        text.push_str(&format!(
            "resource \"noted\" \"r{n}\" {{\n  check_interval = \"@every 24h\"\n  params {{ name = \"r{n}\" }}\n}}\n\
             job \"j{n}\" {{\n  get \"noted\" \"r{n}\" {{ trigger = true }}\n  task \"t\" {{\n    run \"exec\" {{ path = \"/bin/true\" }}\n  }}\n}}\n"
        ));
    }
    let pipeline = dir.path().join("idle.hcl");
    std::fs::write(&pipeline, text).unwrap();
    let db = dir.path().join("idle.db");
    let server = support::server::start(&["--pipeline-config", pipeline.to_str().unwrap(), "--db-system", "sqlite", "--db-name", db.to_str().unwrap()]);
    let api = Api::admin(&server).await;
    // Everything the pipeline set off: 40 first checks, 40 builds.
    wait_until("every job built once", &server, Duration::from_secs(60), async || {
        let jobs = api.get("/api/v1/teams/main/pipelines/idle/jobs").await;
        jobs.as_array().unwrap().iter().all(|j| j["latest_build"]["status"] == "succeeded")
    })
    .await;
    // The last check results are written a moment after the checks.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let before = statements(&server).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = statements(&server).await;
    assert_eq!(after, before, "an idle server with 40 resources and 40 jobs issued {} statements in 4 s", after - before);

    // Idle is not asleep: a check asked for is run at once, and its new version builds its job.
    let ledger = dir.path().join("ledger");
    let checked = checks_of(&ledger, "r7");
    api.post("/api/v1/teams/main/pipelines/idle/resources/r7/check").await;
    wait_until("the asked-for check ran", &server, Duration::from_secs(10), async || checks_of(&ledger, "r7") > checked).await;
}

#[tokio::test]
async fn a_due_check_runs_and_a_removed_resource_is_never_checked_again() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    // 10 s is the shortest interval a pipeline may ask for.
    let resource = |name: &str| format!("resource \"noted\" \"{name}\" {{\n  check_interval = \"@every 10s\"\n  params {{ name = \"{name}\" }}\n}}\n");
    let server = support::server::start(&[]);
    let api = Api::admin(&server).await;
    let set = |config: String| {
        let api = &api;
        async move {
            let r = api
                .c
                .put(format!("{}/api/v1/teams/main/pipelines/p", api.base))
                .bearer_auth(&api.token)
                .json(&json!({ "config": config }))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        }
    };
    set(format!("{}{}{}", ledger_type(&ledger), resource("kept"), resource("dropped"))).await;
    wait_until("both checked when set", &server, Duration::from_secs(30), async || checks_of(&ledger, "kept") == 1 && checks_of(&ledger, "dropped") == 1).await;

    set(format!("{}{}", ledger_type(&ledger), resource("kept"))).await;
    // The kept one comes due 10 s after its first check; the dropped one would have too.
    wait_until("the kept resource checked again when due", &server, Duration::from_secs(20), async || checks_of(&ledger, "kept") == 2).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(checks_of(&ledger, "dropped"), 1, "the removed resource was checked again:\n{}", std::fs::read_to_string(&ledger).unwrap());
}

#[tokio::test]
async fn a_build_of_many_lines_is_stored_whole_and_in_order() {
    const LINES: usize = 60_000;
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("chatty.hcl");
    std::fs::write(
        &pipeline,
        format!("job \"chatty\" {{\n  task \"t\" {{\n    run \"exec\" {{\n      path = \"/usr/bin/seq\"\n      args = [\"{LINES}\"]\n    }}\n  }}\n}}\n"),
    )
    .unwrap();
    let server = support::server::start(&["--pipeline-config", pipeline.to_str().unwrap()]);
    let api = Api::admin(&server).await;
    let build = api.post("/api/v1/teams/main/pipelines/chatty/jobs/chatty/builds").await;
    let done = api.finished("chatty", "chatty", 1).await;
    assert_eq!(done[0]["status"], "succeeded", "{done:?}");
    // Paged through the API: every line once, in order.
    let mut numbers = Vec::new();
    let mut after = 0;
    loop {
        let page = api.get(&format!("/api/v1/builds/{}/log?after={after}", build["id"])).await;
        let page = page.as_array().unwrap().clone();
        let Some(last) = page.last() else { break };
        after = last["seq"].as_i64().unwrap();
        numbers.extend(page.iter().filter(|l| l["step"] == "task t" && l["kind"] == "line").filter_map(|l| l["text"].as_str()?.parse::<usize>().ok()));
    }
    assert_eq!(numbers.len(), LINES, "every line stored once");
    assert!(numbers.iter().enumerate().all(|(i, n)| *n == i + 1), "in order");

    // Streamed from an offset near the end: from the next event on, then `end`.
    let from = after - 3;
    let stream = api.c.get(format!("{}/api/v1/builds/{}/events?after={from}", api.base, build["id"])).bearer_auth(&api.token).send().await.unwrap();
    let body = tokio::time::timeout(Duration::from_secs(30), stream.text()).await.expect("the stream of a finished build ends").unwrap();
    let ids: Vec<i64> = body.lines().filter_map(|l| l.strip_prefix("id:")).map(|id| id.trim().parse().unwrap()).collect();
    assert_eq!(ids, vec![from + 1, from + 2, from + 3], "{body}");
    assert!(body.contains("event: end"), "{body}");
}

#[tokio::test]
async fn a_restarted_server_keeps_each_resources_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let pipeline = dir.path().join("kept.hcl");
    std::fs::write(
        &pipeline,
        format!("{}resource \"noted\" \"daily\" {{\n  check_interval = \"@every 24h\"\n  params {{ name = \"daily\" }}\n}}\n", ledger_type(&ledger)),
    )
    .unwrap();
    let db = dir.path().join("kept.db");
    let args = ["--pipeline-config", pipeline.to_str().unwrap(), "--db-system", "sqlite", "--db-name", db.to_str().unwrap()];
    let server = support::server::start(&args);
    wait_until("the first check", &server, Duration::from_secs(30), async || checks_of(&ledger, "daily") == 1).await;
    // Its record (next check in 24 h) is written within a quarter second.
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(server);

    let server = support::server::start(&args);
    let api = Api::admin(&server).await;
    let resource = api.get("/api/v1/teams/main/pipelines/kept/resources/daily").await;
    assert!(resource["next_check_at"].as_i64().unwrap() > resource["last_check_at"].as_i64().unwrap() + 23 * 3600 * 1000, "{resource}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(checks_of(&ledger, "daily"), 1, "the restarted server checked a resource not due for a day");
}
