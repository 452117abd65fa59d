//! What a team owner's pipeline, an unlucky file or an anonymous caller must not do to the
//! server: hang it, leave processes behind a build, make it spend memory out of proportion to the
//! input, read a secret in another encoding, or guess passwords at the server's expense. Each test
//! is one finding of the hardening review, run on the real binary.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::server::Api;

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

#[tokio::test]
async fn a_fifo_in_a_watched_directory_fails_its_check_and_the_server_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    // More FIFO checks than the runtime has threads: each one blocked a thread for good before.
    for n in 1..=4 {
        let watched = dir.path().join(format!("watched{n}"));
        std::fs::create_dir(&watched).unwrap();
        std::fs::write(watched.join("a"), "1").unwrap();
        mkfifo(&watched.join("pipe"));
        text.push_str(&format!("resource \"fs\" \"fifo{n}\" {{\n  check_interval = \"@every 10s\"\n  params {{ path = \"{}\" }}\n}}\n", watched.display()));
    }
    let fine = dir.path().join("fine");
    std::fs::create_dir(&fine).unwrap();
    std::fs::write(fine.join("a"), "1").unwrap();
    text.push_str(&format!("resource \"fs\" \"fine\" {{\n  check_interval = \"@every 10s\"\n  params {{ path = \"{}\" }}\n}}\n", fine.display()));
    let pipeline = dir.path().join("fifo.hcl");
    std::fs::write(&pipeline, text).unwrap();

    let server = support::server::start(&["--pipeline-config", pipeline.to_str().unwrap(), "--check-timeout", "5s"]);
    let api = Api::admin(&server).await;
    let health = reqwest::Client::builder().timeout(Duration::from_secs(1)).build().unwrap();
    let resource = |name: &str| format!("/api/v1/teams/main/pipelines/fifo/resources/{name}");

    // Every check runs several times over these seconds; the server answers within 1 s throughout.
    let until = Instant::now() + Duration::from_secs(6);
    let mut errors: Vec<Value> = Vec::new();
    while Instant::now() < until || errors.len() < 4 {
        let asked = Instant::now();
        let answer = health.get(format!("{}/health", server.base)).send().await;
        assert!(answer.as_ref().is_ok_and(|r| r.status().is_success()), "/health did not answer within 1 s: {answer:?}\n{}", server.log());
        assert!(asked.elapsed() < Duration::from_secs(1));
        errors.clear();
        for n in 1..=4 {
            let r = api.get(&resource(&format!("fifo{n}"))).await;
            if r["last_check_error"].is_string() {
                errors.push(r);
            }
        }
        assert!(Instant::now() < until + Duration::from_secs(20), "the FIFO checks never failed: {errors:?}\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for r in &errors {
        let error = r["last_check_error"].as_str().unwrap();
        assert!(error.contains("`pipe`: it is a FIFO or a socket"), "the error says which file and why: {error}");
        assert!(!error.contains("timed out"), "refused at once, not left to time out: {error}");
    }
    let fine = api.get(&resource("fine")).await;
    assert!(fine["last_check_succeeded_at"].is_number() && fine["last_check_error"].is_null(), "the other resource is checked as usual: {fine}");
}

#[test]
fn plugin_call_refuses_a_fifo_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("pipe"));
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_pikoci"))
        .args(["plugin", "call", "pikoci://fs", "check", "--timeout", "30", "--source"])
        .arg(serde_json::json!({ "path": dir.path() }).to_string())
        .arg("--allow-read")
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("plugin fs tried to open `pipe`: it is a FIFO or a socket"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20), "it failed at once, not at the timeout: {:?}", started.elapsed());
}

/// A task that leaves three processes behind, each writing its pid into `dir`: one in the
/// background of its group (`nohup ... &`), one that moved to `/`, and one in a session of its
/// own (`setsid`) that keeps the step's output open.
fn leaving_task(dir: &Path) -> String {
    format!(
        r#"
job "leave" {{
  task "t" {{
    run "exec" {{
      path = "/bin/sh"
      args = ["-ec", <<-EOT
        nohup sh -c 'echo $$ > {dir}/nohup.pid; exec sleep 600' >/dev/null 2>&1 &
        (cd / && sh -c 'echo $$ > {dir}/moved.pid; exec sleep 600') >/dev/null 2>&1 &
        setsid sh -c 'echo $$ > {dir}/setsid.pid; exec sleep 600' &
        while [ ! -s {dir}/nohup.pid ] || [ ! -s {dir}/moved.pid ] || [ ! -s {dir}/setsid.pid ]; do sleep 0.05; done
        echo main done
      EOT
      ]
    }}
  }}
}}
"#,
        dir = dir.display()
    )
}

#[test]
fn what_a_task_leaves_running_ends_with_its_step() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("leave.hcl");
    std::fs::write(&pipeline, leaving_task(dir.path())).unwrap();
    let mut run = Command::new(env!("CARGO_BIN_EXE_pikoci"))
        .args(["run", "-c"])
        .arg(&pipeline)
        .args(["-j", "leave"])
        .env("PIKOCI_CACHE_DIR", support::repo_root().join("target/test-cache"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = run.kill();
            panic!("the step never ended: a process it left holds its output");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = run.wait_with_output().unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(status.success() && log.contains("main done"), "{log}");
    for name in ["nohup", "moved", "setsid"] {
        let pid = std::fs::read_to_string(dir.path().join(format!("{name}.pid"))).unwrap();
        assert!(support::cli::process_gone(pid.trim()), "the {name} process outlived its build");
    }
}

/// A pipeline whose one long line holds `n` problems: an `args` list of undefined variables.
fn many_problems_on_one_line(n: usize) -> String {
    let args: Vec<String> = (0..n).map(|i| format!("var.undefined_{i}")).collect();
    format!("job \"j\" {{\n  task \"t\" {{\n    run \"exec\" {{\n      path = \"/bin/true\"\n      args = [{}]\n    }}\n  }}\n}}\n", args.join(", "))
}

/// Runs `command` to its end; its exit status, what it printed (stdout, then stderr) and the most
/// memory it held (KiB).
fn run_measured(command: &mut Command) -> (std::process::ExitStatus, Vec<u8>, i64) {
    use std::os::unix::process::ExitStatusExt;
    let (mut stdout, mut stderr) = (tempfile::tempfile().unwrap(), tempfile::tempfile().unwrap());
    // Reaped by the wait4 below, which Child::wait cannot replace.
    #[allow(clippy::zombie_processes)]
    let child = command.stdout(stdout.try_clone().unwrap()).stderr(stderr.try_clone().unwrap()).spawn().unwrap();
    let pid = child.id() as i32;
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    // wait4, not Child::wait: it reports the peak memory of this one child.
    assert_eq!(unsafe { libc::wait4(pid, &mut status, 0, &mut usage) }, pid);
    let mut out = Vec::new();
    for file in [&mut stdout, &mut stderr] {
        std::io::Seek::rewind(file).unwrap();
        std::io::Read::read_to_end(file, &mut out).unwrap();
    }
    (std::process::ExitStatus::from_raw(status), out, usage.ru_maxrss)
}

#[test]
fn many_problems_on_one_long_line_are_reported_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("long.hcl");
    let text = many_problems_on_one_line(9_000);
    assert!(text.len() > 160_000, "{}", text.len());
    std::fs::write(&file, &text).unwrap();

    let (status, out, max_rss_kib) = run_measured(Command::new(env!("CARGO_BIN_EXE_pikoci")).args(["pipeline", "validate"]).arg(&file));
    let report = String::from_utf8_lossy(&out);
    assert_eq!(status.code(), Some(1), "{report}");
    assert!(max_rss_kib < 100 * 1024, "validate held {max_rss_kib} KiB for a {} byte file", text.len());
    assert!(report.contains("variable `undefined_0`") && report.contains("... and 8900 more not shown"), "{}", &report[report.len().saturating_sub(2000)..]);
    assert!(report.contains("pipeline is invalid: 9000 errors"), "the count covers every problem: {}", &report[report.len() - 300..]);
    assert!(report.len() < 100_000, "the report is {} bytes", report.len());

    let (_, json, _) = run_measured(Command::new(env!("CARGO_BIN_EXE_pikoci")).args(["pipeline", "validate", "--json"]).arg(&file));
    let json: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!((json["diagnostics"].as_array().unwrap().len(), json["not_shown"].as_u64()), (100, Some(8_900)));
}

#[tokio::test]
async fn setting_a_pipeline_of_many_problems_answers_a_bounded_error() {
    let server = support::server::start(&[]);
    let api = Api::admin(&server).await;
    let config = many_problems_on_one_line(3_000);
    let set = api
        .c
        .put(format!("{}/api/v1/teams/main/pipelines/long", server.base))
        .bearer_auth(&api.token)
        .json(&serde_json::json!({ "config": config }))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 400);
    let body = set.text().await.unwrap();
    assert!(body.len() < 100_000, "a {} byte pipeline answered {} bytes", config.len(), body.len());
    assert!(body.contains("undefined_0") && body.contains("more not shown"), "{}", &body[..body.len().min(2000)]);
}

/// A multi-line secret longer than one line of `base64`, and every way the task below prints it.
const MASKED_KEY: &str = "-----BEGIN TEST KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ\n-----END TEST KEY-----";

const MASKING_PIPELINE: &str = r#"
variable "key" {
  type = string
  secret "env" {
    key = "PIKOCI_TEST_MASKED_KEY"
  }
}
job "leak" {
  task "print" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", <<-EOT
        S='${var.key}'
        echo "as is: $S"
        printf '%s' "$S" | base64
        printf '%s' "x$S" | base64 -w0; echo
        printf '%s' "xy$S" | base64 -w0; echo
        printf '%s' "$S" | xxd -p
        printf '%s' "$S" | od -An -tx1 | tr -d ' \n'; echo
        printf '%s' "$S" | od -An -tx1 | tr -d ' \n' | tr a-f A-F; echo
        printf '%s' "$S" | tr a-z A-Z; echo
        printf '%s\n' "$S" | sed 's/^/line: /'
        echo done
      EOT
      ]
    }
  }
}
"#;

/// No piece of the key that a reader could put back together: none of its lines, nor a run of
/// 12 characters of any form the task printed.
fn assert_no_key(what: &str, text: &str) {
    for line in MASKED_KEY.lines() {
        for form in [line.to_string(), line.to_uppercase()] {
            assert!(!text.contains(&form), "{what} holds the key's line {form:?}:\n{text}");
        }
    }
    let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
    for form in [b64(MASKED_KEY), b64(&format!("x{MASKED_KEY}")), b64(&format!("xy{MASKED_KEY}")), hex::encode(MASKED_KEY), hex::encode_upper(MASKED_KEY)] {
        // Past the first few characters, which hold the `x`/`xy` before the key.
        for piece in form.as_bytes()[4..].chunks(12).filter(|c| c.len() == 12) {
            let piece = std::str::from_utf8(piece).unwrap();
            assert!(!text.contains(piece), "{what} holds {piece:?} of {form}:\n{text}");
        }
    }
}

#[test]
fn every_printed_form_of_a_secret_is_masked_in_a_local_run() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("leak.hcl");
    std::fs::write(&pipeline, MASKING_PIPELINE).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pikoci"))
        .args(["run", "-c"])
        .arg(&pipeline)
        .args(["-j", "leak"])
        .env("PIKOCI_TEST_MASKED_KEY", MASKED_KEY)
        .env("PIKOCI_CACHE_DIR", support::repo_root().join("target/test-cache"))
        .output()
        .unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && log.contains("done"), "{log}");
    assert!(log.contains("as is: ((redacted))"), "{log}");
    assert_no_key("pikoci run's output", &log);
}

#[tokio::test]
async fn every_printed_form_of_a_secret_is_masked_in_the_log_api_the_stream_and_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("leak.hcl");
    std::fs::write(&pipeline, MASKING_PIPELINE).unwrap();
    let db = dir.path().join("pikoci.db");
    let server = support::server::start_with_env(
        &["--db-system", "sqlite", "--db-name", db.to_str().unwrap(), "--pipeline-config", pipeline.to_str().unwrap()],
        &[("PIKOCI_TEST_MASKED_KEY", MASKED_KEY)],
    );
    let api = Api::admin(&server).await;
    api.post("/api/v1/teams/main/pipelines/leak/jobs/leak/builds").await;
    let builds = api.finished("leak", "leak", 1).await;
    assert_eq!(builds[0]["status"], "succeeded", "{}", server.log());
    let log = api.log_lines(&builds[0]["id"]).await.join("\n");
    assert!(log.contains("as is: ((redacted))") && log.contains("done"), "{log}");
    assert_no_key("the log API", &log);
    let stream = api.c.get(format!("{}/api/v1/builds/{}/events", api.base, builds[0]["id"])).bearer_auth(&api.token).send().await.unwrap();
    let events = tokio::time::timeout(Duration::from_secs(30), stream.text()).await.expect("the stream of a finished build ends").unwrap();
    assert!(events.contains("as is: ((redacted))"), "{events}");
    assert_no_key("the event stream", &events);
    assert_no_key("the server's own log", &server.log());
    drop(server);
    for file in [db.clone(), db.with_extension("db-wal")] {
        assert_no_key("the database file", &String::from_utf8_lossy(&std::fs::read(&file).unwrap_or_default()));
    }
}

/// `VmHWM` of a process, the most resident memory it held, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn try_login(c: &reqwest::Client, base: &str, user: &str, password: &str) -> reqwest::Response {
    c.post(format!("{base}/api/v1/login")).json(&serde_json::json!({ "username": user, "password": password })).send().await.unwrap()
}

#[tokio::test]
async fn a_thousand_wrong_passwords_are_refused_in_bounded_memory_then_limited() {
    let server = support::server::start(&[]);
    let c = support::server::client();
    let base = server.base.clone();

    // Fifty at a time, all from this address: at first each is hashed (one per core at a time),
    // then refused before hashing.
    let mut statuses = Vec::new();
    for batch in 0..20 {
        let attempts = (0..50).map(|n| {
            let (c, base) = (c.clone(), base.clone());
            async move { try_login(&c, &base, &format!("guess{batch}-{n}"), "wrong").await.status().as_u16() }
        });
        statuses.extend(futures_util::future::join_all(attempts).await);
    }
    let refused = statuses.iter().filter(|&&s| s == 401).count();
    let limited = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!((refused, limited), (30, 970), "30 wrong passwords from one address, then 429");
    let peak = peak_rss_kib(server.child.id());
    assert!(peak < 100 * 1024, "the server held {peak} KiB at its peak");

    // The address waits, even with the right password, and is told how long.
    let waiting = try_login(&c, &base, "admin", "adminpw").await;
    assert_eq!(waiting.status(), 429);
    let retry: u64 = waiting.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((250..=301).contains(&retry), "Retry-After: {retry}");
    let body: Value = waiting.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("too many wrong passwords"), "{body}");
    assert!(server.child.id() > 0 && support::server::client().get(format!("{base}/health")).send().await.unwrap().status().is_success());
}

#[tokio::test]
async fn a_user_name_is_limited_wherever_the_guesses_come_from_and_a_token_still_works() {
    let server = support::server::start(&[]);
    let api = Api::admin(&server).await;
    let c = support::server::client();
    for _ in 0..10 {
        assert_eq!(try_login(&c, &server.base, "viewer", "wrong").await.status(), 401);
    }
    assert_eq!(try_login(&c, &server.base, "viewer", "viewerpw").await.status(), 429, "the name is locked, even for its right password");
    assert_eq!(try_login(&c, &server.base, "admin", "adminpw").await.status(), 200, "other names from the same address are not");
    assert!(api.get("/api/v1/teams").await.is_array(), "a token taken before keeps working");
}

#[tokio::test]
async fn every_error_is_json_what_a_caller_may_not_see_is_not_found_and_names_are_plain() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("private.hcl");
    std::fs::write(&pipeline, "job \"j\" {\n  task \"t\" {\n    run \"exec\" {\n      path = \"/bin/true\"\n    }\n  }\n}\n").unwrap();
    let server = support::server::start(&["--pipeline-config", pipeline.to_str().unwrap()]);
    let api = Api::admin(&server).await;
    api.post("/api/v1/teams/main/pipelines/private/jobs/j/builds").await;
    let build = &api.finished("private", "j", 1).await[0];
    let anonymous = support::server::client();
    let answer = |response: reqwest::Response| async move {
        let (status, kind) = (response.status().as_u16(), response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()));
        let body = response.text().await.unwrap();
        assert_eq!(kind.as_deref(), Some("application/json"), "{status} {body}");
        (status, serde_json::from_str::<Value>(&body).unwrap_or_else(|e| panic!("{status} {body}: {e}"))["error"].as_str().unwrap().to_string())
    };
    let get = |path: &str| anonymous.get(format!("{}{path}", server.base)).send();

    // A private build and a build that does not exist get the same answer.
    let (status, hidden) = answer(get(&format!("/api/v1/builds/{}/log", build["id"])).await.unwrap()).await;
    let (_, absent) = answer(get("/api/v1/builds/999999/log").await.unwrap()).await;
    assert_eq!(status, 404);
    assert_eq!(hidden.replace(&build["id"].to_string(), "999999"), absent);

    // What axum's extractors and router answer is JSON too.
    let (status, error) = answer(get("/api/v1/builds/not-a-number").await.unwrap()).await;
    assert_eq!(status, 400, "{error}");
    let (status, error) = answer(get("/api/v1/nothing-here").await.unwrap()).await;
    assert_eq!((status, error.contains("openapi.json")), (404, true), "{error}");
    let (status, _) = answer(anonymous.delete(format!("{}/api/v1/login", server.base)).send().await.unwrap()).await;
    assert_eq!(status, 405);
    let malformed =
        anonymous.post(format!("{}/api/v1/login", server.base)).header("content-type", "application/json").body("{\"username\":").send().await.unwrap();
    assert_eq!(answer(malformed).await.0, 400);

    // Names with control characters are refused: they would rewrite a terminal that lists them.
    for name in ["evil%1B%5B2J", "nul%00name"] {
        let set = api
            .c
            .put(format!("{}/api/v1/teams/main/pipelines/{name}", server.base))
            .bearer_auth(&api.token)
            .json(&serde_json::json!({ "config": "" }))
            .send()
            .await
            .unwrap();
        let (status, error) = answer(set).await;
        assert_eq!(status, 400, "{name}: {error}");
        assert!(error.contains("control character"), "{error}");
    }
}

/// docs/security.md proves each line by a test's name: every name it gives is a test that exists.
#[test]
fn the_security_doc_names_tests_that_exist() {
    let root = support::repo_root();
    let doc = std::fs::read_to_string(root.join("docs/security.md")).unwrap();
    let mut named = 0;
    for quoted in doc.split('`').skip(1).step_by(2) {
        let Some((file, test)) = quoted.split_once("::").filter(|(file, _)| *file != "file") else { continue };
        let source = match file {
            "pipelines" => root.join("host/store/tests/store/pipelines.rs"),
            "never_panics" => root.join("host/pipeline/tests/never_panics.rs"),
            "bad_urls" => root.join("host/store/tests/store/bad_urls.rs"),
            _ => root.join(format!("host/tests/{file}.rs")),
        };
        let text = std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("docs/security.md names {quoted}: {}: {e}", source.display()));
        assert!(text.contains(&format!("fn {test}(")), "docs/security.md names {quoted}, which {} does not have", source.display());
        named += 1;
    }
    assert!(named >= 20, "only {named} tests named");
}

/// schemathesis fuzzes every operation of the OpenAPI spec, as admin, on a server with a pipeline,
/// a build and a version to find: no answer may be a server error, and the server stays up.
#[tokio::test]
async fn the_api_fuzzed_from_its_spec_never_answers_a_server_error() {
    let schemathesis = support::repo_root().join("target/tools/schemathesis/bin/schemathesis");
    assert!(schemathesis.exists(), "{} is missing: scripts/install-deps.sh installs it", schemathesis.display());
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("app");
    std::fs::create_dir(&watched).unwrap();
    std::fs::write(watched.join("v"), "1").unwrap();
    let pipeline = dir.path().join("fuzzed.hcl");
    std::fs::write(&pipeline, support::server::pipeline_text(&watched)).unwrap();
    let server = support::server::start(&["--pipeline-config", pipeline.to_str().unwrap()]);
    let api = Api::admin(&server).await;
    api.finished("fuzzed", "test", 1).await;

    let mut fuzz = tokio::process::Command::new(&schemathesis);
    fuzz.args(["run", &format!("{}/api/v1/openapi.json", server.base), "--checks", "not_a_server_error", "--max-examples", "15", "--no-color"])
        .args(["-H", &format!("Authorization: Bearer {}", api.token)])
        .current_dir(dir.path())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(300), fuzz.output()).await.expect("schemathesis ran for 5 minutes").unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}\n{}\n{}", String::from_utf8_lossy(&out.stderr), server.log());
    assert!(report.contains("passed"), "{report}");
    let health = support::server::client().get(format!("{}/health", server.base)).send().await.unwrap();
    assert!(health.status().is_success());
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

#[tokio::test]
async fn a_job_dropped_from_a_pipeline_is_no_longer_listed_and_comes_back_with_its_builds() {
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("app");
    std::fs::create_dir(&watched).unwrap();
    std::fs::write(watched.join("v"), "1").unwrap();
    let server = support::server::start(&[]);
    let api = Api::admin(&server).await;
    let set = |config: String| {
        let api = &api;
        async move {
            let url = format!("{}/api/v1/teams/main/pipelines/flow", api.base);
            let answer = api.c.put(url).bearer_auth(&api.token).json(&serde_json::json!({ "config": config })).send().await.unwrap();
            assert!(answer.status().is_success(), "{}", answer.text().await.unwrap());
        }
    };
    let both = support::server::pipeline_text(&watched);
    set(both.clone()).await;
    api.finished("flow", "deploy", 1).await;
    let only_test = both[..both.find("job \"deploy\"").unwrap()].to_string();
    set(only_test).await;
    let jobs = api.get("/api/v1/teams/main/pipelines/flow/jobs").await;
    let names: Vec<&str> = jobs.as_array().unwrap().iter().filter_map(|j| j["name"].as_str()).collect();
    assert_eq!(names, ["test"], "{jobs}");
    let gone = api.c.get(format!("{}/api/v1/teams/main/pipelines/flow/jobs/deploy", api.base)).bearer_auth(&api.token).send().await.unwrap();
    assert_eq!(gone.status(), 404);
    set(both).await;
    assert_eq!(api.finished("flow", "deploy", 1).await.len(), 1, "set again, the job is back with its build");
}

/// A tmpfs of `size` mounted for a test (which runs as root), unmounted when dropped.
struct SmallDisk {
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(dir.path()).status().unwrap();
        assert!(status.success(), "mount a {size} tmpfs");
        SmallDisk { path: dir.path().to_path_buf(), _dir: dir }
    }

    fn grow(&self, size: &str) {
        let status = Command::new("mount").args(["-o", &format!("remount,size={size}")]).arg(&self.path).status().unwrap();
        assert!(status.success());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

#[tokio::test]
async fn a_full_disk_errors_the_build_that_hit_it_and_the_server_writes_again_once_there_is_room() {
    let disk = SmallDisk::mount("3m");
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("disk.hcl");
    std::fs::write(
        &pipeline,
        r#"
job "chatty" {
  task "t" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "i=0; while [ $i -lt 20000 ]; do echo line $i of a log long enough to fill a small disk; i=$((i+1)); done"]
    }
  }
}
job "small" {
  task "t" {
    run "exec" {
      path = "/bin/echo"
      args = ["small"]
    }
  }
}
"#,
    )
    .unwrap();
    let db = disk.path.join("ci.db");
    let server = support::server::start(&["--db-system", "sqlite", "--db-name", db.to_str().unwrap(), "--pipeline-config", pipeline.to_str().unwrap()]);
    let api = Api::admin(&server).await;

    // Chatty builds until one finds the disk full: it ends errored, saying why.
    let mut errored = None;
    for n in 1..=6 {
        api.post("/api/v1/teams/main/pipelines/disk/jobs/chatty/builds").await;
        let last = api.finished("disk", "chatty", n).await.pop().unwrap();
        if last["status"] == "errored" {
            errored = Some(last);
            break;
        }
        assert_eq!(last["status"], "succeeded", "{last}");
    }
    let errored = errored.expect("the disk never filled");
    let reason = errored["reason"].as_str().unwrap();
    assert!(reason.contains("could not be stored") && reason.contains("disk is full"), "{reason}");

    // Room again, no restart: the server writes as before.
    disk.grow("32m");
    assert_eq!(status_of_ready(&api).await, 200);
    for n in 1..=3 {
        let answer = api.c.post(format!("{}/api/v1/teams/main/pipelines/disk/jobs/small/builds", api.base)).bearer_auth(&api.token).send().await.unwrap();
        assert_eq!(answer.status(), 201, "{}\n{}", answer.text().await.unwrap(), server.log());
        let done = api.finished("disk", "small", n).await;
        assert_eq!(done[n - 1]["status"], "succeeded", "{done:?}");
    }
    let log = api.log_lines(&api.finished("disk", "small", 3).await[2]["id"]).await;
    assert!(log.iter().any(|l| l == "small"), "its log is stored: {log:?}");
}

async fn status_of_ready(api: &Api) -> u16 {
    api.c.get(format!("{}/ready", api.base)).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_database_that_takes_no_write_is_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ci.db");
    let server = support::server::start(&["--db-system", "sqlite", "--db-name", db.to_str().unwrap()]);
    let api = Api::admin(&server).await;
    assert_eq!(status_of_ready(&api).await, 200);
    // Another process takes the database's write lock and keeps it: reads go on, writes cannot.
    let script = format!("import sqlite3, sys, time\nc = sqlite3.connect({:?}, isolation_level=None)\nc.execute('BEGIN EXCLUSIVE')\nprint('locked', flush=True)\ntime.sleep(60)\n", db.to_str().unwrap());
    let mut holder = Command::new("python3").args(["-c", &script]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()), &mut line).unwrap();
    assert_eq!(line.trim(), "locked");
    let answer = api.c.get(format!("{}/ready", api.base)).send().await.unwrap();
    let (status, body) = (answer.status().as_u16(), answer.text().await.unwrap());
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("locked"), "{body}");
    assert_eq!(status_of_ready(&api).await, 200, "ready again once the lock is gone");
}

/// A pipeline whose task proves it holds the value of the worker's variable `var` (printed
/// reversed, past masking) or fails.
fn reading_pipeline(var: &str) -> String {
    format!(
        r#"
variable "token" {{
  type = string
  secret "env" {{
    key = "{var}"
  }}
}}
job "read" {{
  task "print" {{
    run "exec" {{
      path = "/bin/sh"
      args = ["-ec", "printf '%s' '${{var.token}}' | rev; echo"]
    }}
  }}
}}
"#
    )
}

/// The first finished build of `team`'s `read` job of pipeline `pipeline`, and its log.
async fn read_build(api: &Api, team: &str, pipeline: &str) -> (Value, String) {
    run_once(api, team, pipeline, &reading_pipeline(pipeline)).await
}

/// Set `config` as `team`'s pipeline `pipeline`, run its job `read` once: the build and its log.
async fn run_once(api: &Api, team: &str, pipeline: &str, config: &str) -> (Value, String) {
    let put = api
        .c
        .put(format!("{}/api/v1/teams/{team}/pipelines/{pipeline}", api.base))
        .bearer_auth(&api.token)
        .json(&serde_json::json!({ "config": config }))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{team}/{pipeline}: {}", put.text().await.unwrap());
    api.post(&format!("/api/v1/teams/{team}/pipelines/{pipeline}/jobs/read/builds")).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let builds = api.get(&format!("/api/v1/teams/{team}/pipelines/{pipeline}/jobs/read/builds")).await;
        if let Some(build) = builds.as_array().and_then(|b| b.iter().find(|b| b["finished_at"].is_number())) {
            let log = api.log_lines(&build["id"]).await.join("\n");
            return (build.clone(), log);
        }
        assert!(std::time::Instant::now() < deadline, "{team}/{pipeline}: no finished build: {builds}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_team_reads_only_the_worker_variables_its_operator_gave_it() {
    const A: &str = "PIKOCI_TEST_TEAM_A_TOKEN";
    const B: &str = "PIKOCI_TEST_TEAM_B_TOKEN";
    let server = support::server::start_with_env(
        &["--team-env", &format!("alpha={A}"), "--team-env", "beta=PIKOCI_TEST_TEAM_B_*"],
        &[(A, "alpha-secret"), (B, "beta-secret")],
    );
    let api = Api::admin(&server).await;
    for team in ["alpha", "beta", "gamma"] {
        let made = api.c.post(format!("{}/api/v1/teams", api.base)).bearer_auth(&api.token).json(&serde_json::json!({ "name": team })).send().await.unwrap();
        assert_eq!(made.status(), 201, "{}", made.text().await.unwrap());
    }
    // Pipelines are named after the variable they read.
    let (own, log) = read_build(&api, "beta", B).await;
    assert_eq!(own["status"], "succeeded", "{log}");
    assert!(log.contains("terces-ateb"), "team beta reads its own variable: {log}");

    let (across, log) = read_build(&api, "beta", A).await;
    assert_ne!(across["status"], "succeeded", "{log}");
    assert!(!log.contains("terces-ahpla"), "{log}");
    assert!(log.contains(&format!("may not read the worker's variable {A}: team beta was not given it")), "the log says why: {log}");

    let (unlisted, log) = read_build(&api, "gamma", A).await;
    assert_ne!(unlisted["status"], "succeeded", "a team without a rule reads nothing: {log}");

    let (operator, log) = read_build(&api, "main", B).await;
    assert_eq!(operator["status"], "succeeded", "the default team reads every variable until a rule names it: {log}");
    assert!(log.contains("terces-ateb"), "{log}");
    assert!(!server.log().contains("alpha-secret"), "{}", server.log());
}

#[test]
fn a_bad_team_env_rule_stops_the_server_with_what_was_expected() {
    let out = Command::new(env!("CARGO_BIN_EXE_pikoci"))
        .args(["server", "--listen", "127.0.0.1:0", "--team-env", "beta"])
        .env("PIKOCI_CACHE_DIR", support::repo_root().join("target/test-cache"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--team-env `beta`: expected TEAM=NAME"), "{err}");
}

/// A pipeline whose task says of each of `paths` whether it could read it (`read PATH`) or not
/// (`kept from PATH`), then whether it could write in its own work directory, and leaves a
/// process in a session of its own whose command line holds `mark`.
fn prying_pipeline(paths: &[String], mark: &str) -> String {
    let script = format!(
        "setsid sh -c 'sleep 300; : {mark}' >/dev/null 2>&1 & for f in {}; do n=$(wc -c < \"$f\" 2>/dev/null) || n=0; if [ \"$n\" -gt 0 ] 2>/dev/null; then echo \"read $f\"; else echo \"kept from $f\"; fi; done; echo mine > ./own && echo \"wrote $(cat ./own)\"",
        paths.join(" ")
    );
    format!(
        r#"
job "read" {{
  task "pry" {{
    run "exec" {{
      path = "/bin/sh"
      args = ["-c", {}]
    }}
  }}
}}
"#,
        serde_json::to_string(&script).unwrap()
    )
}

#[tokio::test]
async fn a_confined_task_reads_neither_the_server_nor_another_builds_files() {
    // What another build left in the worker's temporary directory, owned by the worker's user.
    let other_build = tempfile::Builder::new().prefix("pikoci-build-other-").tempdir_in(std::env::temp_dir()).unwrap();
    let planted = other_build.path().join("artifact");
    std::fs::write(&planted, "another team's artifact").unwrap();
    std::fs::set_permissions(&planted, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();

    // By default the default team's programs see the worker, as PikoCI's do, and the teams added
    // to the server are confined; `bubblewrap` confines every team.
    for (flags, team, confined) in [(&[][..], "main", false), (&[][..], "beta", true), (&["--task-sandbox", "bubblewrap"][..], "main", true)] {
        let data = tempfile::tempdir().unwrap();
        let db = data.path().join("pikoci.db");
        let mut args = vec!["--db-system", "sqlite", "--db-name", db.to_str().unwrap()];
        args.extend(flags);
        let server = support::server::start(&args);
        let api = Api::admin(&server).await;
        add_team(&api, "beta").await;

        let environ = format!("/proc/{}/environ", server.child.id());
        let (db, planted) = (db.display().to_string(), planted.display().to_string());
        let mut paths = vec![environ, db, planted];
        if confined {
            // Inside, the task's uid maps to the worker's: what only that user may read is hidden.
            paths.push("/etc/shadow".into());
        }
        let mark = format!("pikoci-escapee-{}", rand_suffix());
        let (build, log) = run_once(&api, team, "pry", &prying_pipeline(&paths, &mark)).await;
        let case = format!("team {team} with {flags:?}");
        assert_eq!(build["status"], "succeeded", "{case}: {log}\n{}", server.log());
        let deadline = Instant::now() + Duration::from_secs(10);
        while processes_mentioning(&mark) > 0 {
            assert!(Instant::now() < deadline, "{case}: a process of the build outlived it");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(log.contains("wrote mine"), "a task writes in its own directory: {log}");
        for path in &paths {
            let expected = if confined { format!("kept from {path}") } else { format!("read {path}") };
            assert!(log.contains(&expected), "{case}: expected `{expected}`: {log}");
        }
    }
}

#[tokio::test]
async fn a_confined_service_ends_with_its_build_though_its_stop_cannot_signal_it() {
    let server = support::server::start(&[]);
    let api = Api::admin(&server).await;
    add_team(&api, "beta").await;
    let mark = format!("pikoci-service-{}", rand_suffix());
    // PikoCI's way: `stop` kills the PID `start` wrote down, which is not its PID outside.
    let config = format!(
        r#"
service_type "sleeper" {{
  start "exec" {{
    path = "/bin/sh"
    args = ["-ec", "echo $$ > /tmp/service.pid; exec sh -c 'sleep 300; : {mark}'"]
  }}
  stop "exec" {{
    path = "/bin/sh"
    args = ["-ec", "kill $(cat /tmp/service.pid)"]
  }}
}}
job "read" {{
  service "sleeper" {{}}
  task "work" {{
    run "exec" {{
      path = "/bin/sh"
      args = ["-ec", "echo working beside the service"]
    }}
  }}
}}
"#
    );
    let (build, log) = run_once(&api, "beta", "services", &config).await;
    assert_eq!(build["status"], "succeeded", "{log}");
    assert!(log.contains("working beside the service"), "{log}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while processes_mentioning(&mark) > 0 {
        assert!(Instant::now() < deadline, "the service outlived its build: {log}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn a_confined_postgresql_service_runs_as_nobody_without_a_user_to_switch_to() {
    let server = support::server::start(&[]);
    let api = Api::admin(&server).await;
    add_team(&api, "beta").await;
    let config = r#"
job "read" {
  service "postgresql" {
    version = "15"
  }
  task "query" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "psql \"$DATABASE_URL\" -tAc 'select 40 + 2'"]
    }
  }
}
"#;
    let (build, log) = run_once(&api, "beta", "db", config).await;
    assert_eq!(build["status"], "succeeded", "{log}\n{}", server.log());
    assert!(log.contains("42"), "the task queried the build's own server: {log}");
}

#[tokio::test]
async fn a_confined_team_may_not_run_its_programs_through_the_container_engine() {
    let server = support::server::start(&[]);
    let api = Api::admin(&server).await;
    add_team(&api, "beta").await;
    // The engine would run as the worker's user, and `args` mount what the pipeline likes.
    let config = r#"
resource_type "escape" {
  runner "docker" {
    image  = "localhost/pikoci-never-pulled"
    engine = "podman"
    args   = ["-v", "/:/host"]
  }
  check "exec" {
    path = "/bin/sh"
    args = ["-c", "cat /host/etc/shadow"]
  }
}
resource "escape" "out" {}
"#;
    let put = api
        .c
        .put(format!("{}/api/v1/teams/beta/pipelines/container", api.base))
        .bearer_auth(&api.token)
        .json(&serde_json::json!({ "config": config }))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.text().await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let error = loop {
        let resource = api.get("/api/v1/teams/beta/pipelines/container/resources/out").await;
        if let Some(error) = resource["last_check_error"].as_str() {
            break error.to_string();
        }
        assert!(Instant::now() < deadline, "never checked: {resource}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(error.contains("cannot run /bin/sh in a container: the engine runs as the worker's user"), "{error}");
}

#[tokio::test]
async fn a_team_grants_only_the_worker_directories_its_operator_gave_it() {
    let (shared, private) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::write(shared.path().join("file"), "shared with beta").unwrap();
    std::fs::write(private.path().join("file"), "the operator's own").unwrap();
    let rule = format!("beta={}", shared.path().display());
    let server = support::server::start(&["--team-dirs", &rule]);
    let api = Api::admin(&server).await;
    add_team(&api, "beta").await;
    let (shared, private) = (shared.path().display(), private.path().display());
    let config = format!(
        r#"
runner_type "exec" {{
  allow {{
    read = ["{shared}", "{private}"]
  }}
}}
job "read" {{
  task "both" {{
    run "exec" {{
      path = "/bin/sh"
      args = ["-c", "cat {shared}/file; echo; cat {private}/file || echo not there"]
    }}
  }}
}}
"#
    );
    let (build, log) = run_once(&api, "beta", "dirs", &config).await;
    assert_eq!(build["status"], "succeeded", "{log}");
    assert!(log.contains("shared with beta"), "a directory the operator gave the team is granted: {log}");
    assert!(!log.contains("the operator's own") && log.contains("not there"), "{log}");
    assert!(log.contains(&format!("may not use the worker's directory {private}: team beta was not given it (`--team-dirs beta={private}`)")), "{log}");

    let (main, log) = run_once(&api, "main", "dirs", &config).await;
    assert_eq!(main["status"], "succeeded", "{log}");
    assert!(log.contains("the operator's own"), "the default team grants any directory: {log}");
}

async fn add_team(api: &Api, team: &str) {
    let made = api.c.post(format!("{}/api/v1/teams", api.base)).bearer_auth(&api.token).json(&serde_json::json!({ "name": team })).send().await.unwrap();
    assert_eq!(made.status(), 201, "{}", made.text().await.unwrap());
}

fn rand_suffix() -> String {
    format!("{}-{:?}", std::process::id(), Instant::now()).chars().filter(char::is_ascii_alphanumeric).collect()
}

/// How many processes have `mark` in their command line.
fn processes_mentioning(mark: &str) -> usize {
    let Ok(procs) = std::fs::read_dir("/proc") else { return 0 };
    procs.flatten().filter(|p| std::fs::read(p.path().join("cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(mark))).count()
}

#[test]
fn a_sandbox_that_cannot_be_made_stops_the_server_with_what_to_do() {
    let out = Command::new(env!("CARGO_BIN_EXE_pikoci"))
        .args(["server", "--listen", "127.0.0.1:0", "--task-sandbox", "bubblewrap"])
        .env("PIKOCI_CACHE_DIR", support::repo_root().join("target/test-cache"))
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bubblewrap (`bwrap`) is not installed") && err.contains("--task-sandbox none"), "{err}");
}

#[tokio::test]
async fn without_bubblewrap_only_the_default_team_starts_programs() {
    let server = support::server::start_with_env(&[], &[("PATH", "/nonexistent")]);
    assert!(server.log().contains("only the default team's builds may start programs: bubblewrap (`bwrap`) is not installed"), "{}", server.log());
    let api = Api::admin(&server).await;
    add_team(&api, "beta").await;
    let config = prying_pipeline(&[], "pikoci-unused-mark");
    let (tenant, log) = run_once(&api, "beta", "pry", &config).await;
    assert_ne!(tenant["status"], "succeeded", "{log}");
    assert!(log.contains("may not start programs for team beta: they must run confined, and bubblewrap (`bwrap`) is not installed"), "{log}");
    let (operator, log) = run_once(&api, "main", "pry", &config).await;
    assert_eq!(operator["status"], "succeeded", "{log}");
}
