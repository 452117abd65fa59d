//! The sandbox, proven with real components: each capability granted works, each one not granted
//! is refused with an error that says so, and a misbehaving plugin fails only its own call.

mod support;

use pikoci::runtime::{CallError, Version};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Duration;
use support::*;

fn answer(versions: &[Version]) -> &str {
    versions[0].field("answer").expect("probe answers")
}

/// After a plugin misbehaved, the same engine still serves an ordinary call.
async fn still_serves_calls() {
    let (_, log) = log();
    let versions = fixture("probe").check(&grants(&[]), log, &json!({"action": "echo", "value": "alive"}), None).await.unwrap();
    assert_eq!(answer(&versions), "alive");
}

#[tokio::test]
async fn a_granted_directory_is_readable_and_an_ungranted_one_is_not() {
    let granted = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    std::fs::write(granted.path().join("note"), "inside").unwrap();
    std::fs::write(other.path().join("note"), "outside").unwrap();
    let probe = fixture("probe");
    let caps = grants(&[format!("read:{}", granted.path().display())]);

    let (_, log) = log();
    let inside = json!({"action": "read", "path": granted.path().join("note")});
    assert_eq!(answer(&probe.check(&caps, log.clone(), &inside, None).await.unwrap()), "inside");

    let outside = json!({"action": "read", "path": other.path().join("note")});
    let err = probe.check(&caps, log, &outside, None).await.unwrap_err();
    let CallError::Denied { what, .. } = &err else { panic!("expected a denial, got {err}") };
    assert_eq!(what, &format!("read {}", other.path().join("note").display()));
    assert!(err.to_string().contains("not granted"), "{err}");
    still_serves_calls().await;
}

#[tokio::test]
async fn writing_to_a_read_only_grant_fails_and_to_a_read_write_grant_succeeds() {
    let ro = tempfile::tempdir().unwrap();
    let rw = tempfile::tempdir().unwrap();
    let probe = fixture("probe");
    let caps = grants(&[format!("read:{}", ro.path().display()), format!("write:{}", rw.path().display())]);
    let (_, log) = log();

    let to_ro = json!({"action": "write", "path": ro.path().join("f"), "contents": "x"});
    let err = probe.check(&caps, log.clone(), &to_ro, None).await.unwrap_err();
    assert!(matches!(err, CallError::Denied { .. }), "expected a denial, got {err}");
    assert!(!ro.path().join("f").exists());

    let to_rw = json!({"action": "write", "path": rw.path().join("f"), "contents": "x"});
    probe.check(&caps, log, &to_rw, None).await.unwrap();
    assert_eq!(std::fs::read_to_string(rw.path().join("f")).unwrap(), "x");
}

#[tokio::test]
async fn an_ungranted_program_cannot_start_and_a_granted_one_runs_into_the_log() {
    let probe = fixture("probe");
    let (log, sink) = log();

    let err = probe.check(&grants(&[]), sink.clone(), &json!({"action": "run", "program": "sh", "args": ["-c", "echo nope"]}), None).await.unwrap_err();
    assert_eq!(err, CallError::Denied { plugin: "probe".into(), what: "run sh".into(), hint: "`run:sh`".into() });

    let run = json!({"action": "run", "program": "sh", "args": ["-c", "echo hello from the child; echo to stderr >&2; exit 7"]});
    let versions = probe.check(&grants(&["run:sh".into()]), sink, &run, None).await.unwrap();
    assert_eq!(answer(&versions), "7");
    let text = log.text();
    assert!(text.contains("hello from the child\n"), "log was: {text}");
    assert!(text.contains("to stderr\n"), "log was: {text}");
    assert!(!text.contains("nope"), "the refused program must not have run: {text}");
}

#[tokio::test]
async fn captured_output_comes_back_to_the_plugin() {
    let (_, log) = log();
    let capture = json!({"action": "capture", "program": "sh", "args": ["-c", "printf captured"]});
    let versions = fixture("probe").check(&grants(&["run:sh".into()]), log, &capture, None).await.unwrap();
    assert_eq!(answer(&versions), "captured");
}

#[tokio::test]
async fn http_to_an_ungranted_host_is_refused_and_a_granted_loopback_server_is_reached() {
    let granted = TinyHttpServer::start();
    let ungranted = TinyHttpServer::start();
    let probe = fixture("probe");
    let caps = grants(&[format!("net:http://127.0.0.1:{}", granted.port)]);
    let (_, log) = log();

    let ok = json!({"action": "http", "url": format!("http://127.0.0.1:{}/ping", granted.port)});
    assert_eq!(answer(&probe.check(&caps, log.clone(), &ok, None).await.unwrap()), "204");
    assert_eq!(granted.hits.load(Ordering::SeqCst), 1);

    let refused = json!({"action": "http", "url": format!("http://127.0.0.1:{}/ping", ungranted.port)});
    let err = probe.check(&caps, log, &refused, None).await.unwrap_err();
    let CallError::Denied { what, hint, .. } = &err else { panic!("expected a denial, got {err}") };
    assert_eq!(what, &format!("send an HTTP request to http://127.0.0.1:{}", ungranted.port));
    assert_eq!(hint, &format!("`net:127.0.0.1:{}`", ungranted.port));
    assert_eq!(ungranted.hits.load(Ordering::SeqCst), 0, "no connection may reach an ungranted host");
    still_serves_calls().await;
}

#[tokio::test]
async fn an_infinite_loop_is_stopped_by_the_timeout() {
    let mut caps = grants(&[]);
    caps.timeout = Duration::from_millis(300);
    let (_, log) = log();
    let started = std::time::Instant::now();
    let err = fixture("probe").check(&caps, log, &json!({"action": "loop"}), None).await.unwrap_err();
    assert!(matches!(err, CallError::Timeout { .. }), "expected a timeout, got {err}");
    assert_eq!(err.to_string(), "plugin probe timed out after 300ms");
    assert!(started.elapsed() < Duration::from_secs(10), "the loop was not interrupted promptly");
    still_serves_calls().await;
}

#[tokio::test]
async fn a_memory_bomb_is_stopped_by_the_limit() {
    let mut caps = grants(&[]);
    caps.memory_limit = 64 * 1024 * 1024;
    let (_, log) = log();
    let err = fixture("probe").check(&caps, log, &json!({"action": "alloc"}), None).await.unwrap_err();
    let CallError::MemoryLimit { limit, requested, .. } = err else { panic!("expected the memory limit, got {err}") };
    assert_eq!(limit, 64 * 1024 * 1024);
    assert!(requested > limit);
    still_serves_calls().await;
}

#[tokio::test]
async fn a_panic_fails_the_call_and_its_message_reaches_the_log() {
    let (log, sink) = log();
    let err = fixture("probe").check(&grants(&[]), sink, &json!({"action": "panic"}), None).await.unwrap_err();
    assert!(matches!(err, CallError::Crashed { .. }), "expected a crash, got {err}");
    assert!(log.text().contains("the probe was asked to panic"), "log was: {}", log.text());
    still_serves_calls().await;
}

#[tokio::test]
async fn a_timed_out_call_leaves_no_process_behind() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let mut caps = grants(&["run:sh".into(), format!("write:{}", dir.path().display())]);
    caps.timeout = Duration::from_millis(500);
    let script = format!("echo $$ > {}; exec sleep 300", pid_file.display());
    let (_, log) = log();
    let err = fixture("probe").check(&caps, log, &json!({"action": "capture", "program": "sh", "args": ["-c", script]}), None).await.unwrap_err();
    assert!(matches!(err, CallError::Timeout { .. }), "expected a timeout, got {err}");
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    let gone = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        // Gone, or a zombie waiting to be reaped: either way no longer running.
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z "))
    });
    assert!(gone, "process {pid} is still running after its plugin call timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runaway_plugin_does_not_hold_up_other_calls() {
    let mut slow = grants(&[]);
    slow.timeout = Duration::from_secs(3);
    let runaway = tokio::spawn(async move {
        let (_, log) = log();
        fixture("probe").check(&slow, log, &json!({"action": "loop"}), None).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    for _ in 0..5 {
        still_serves_calls().await;
    }
    assert!(started.elapsed() < Duration::from_secs(2), "calls waited for the runaway plugin");
    assert!(matches!(runaway.await.unwrap(), Err(CallError::Timeout { .. })));
}

#[tokio::test]
async fn environment_variables_are_only_those_granted() {
    let probe = fixture("probe");
    let (_, log) = log();
    // The probe starts `sh` with an empty environment; what it sees of HOME comes only from the
    // command it was given, never from the worker.
    let run = json!({"action": "capture", "program": "sh", "args": ["-c", "printf %s \"${HOME:-unset}\""]});
    let versions = probe.check(&grants(&["run:sh".into()]), log, &run, None).await.unwrap();
    assert_eq!(answer(&versions), "unset");
}

#[tokio::test]
async fn a_process_may_outlive_its_call_only_where_the_call_allows_it() {
    let probe = fixture("probe");
    let detach = json!({"action": "detach", "program": "sleep", "args": ["300"]});
    let (_, log) = log();
    let err = probe.check(&grants(&["run:sleep".into()]), log.clone(), &detach, None).await.unwrap_err();
    let CallError::Denied { what, .. } = &err else { panic!("expected a denial, got {err}") };
    assert_eq!(what, "leave a process running after the call");

    let background = pikoci::runtime::host_process::BackgroundProcesses::default();
    let caps = grants(&["run:sleep".into()]);
    let versions = pikoci::runtime::host_process::detaching_into(&background, probe.check(&caps, log, &detach, None)).await.unwrap();
    let (pid, second_refused) = answer(&versions).split_once(' ').unwrap();
    assert_eq!(second_refused, "true");
    assert_eq!(background.len(), 1);
    let running = |pid: &str| std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "));
    assert!(running(pid), "the detached process must outlive its call");
    background.kill_all();
    std::thread::sleep(Duration::from_millis(200));
    assert!(!running(pid), "killing the scope kills the process");
    still_serves_calls().await;
}
