//! The build executor, driven with plans of real plugins (`exec`, `fs`) and real processes.

mod support;

use pikoci::executor::{run_job, Action, BuildEvent, BuildIdentity, GetStep, Hooks, JobPlan, MemoryEvents, Outcome, ResourceBackend, Step, TaskStep};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;
use tokio_util::sync::CancellationToken;

fn exec() -> pikoci::executor::PluginRef {
    builtin_ref("exec")
}

/// A task step running `sh -c SCRIPT`.
fn sh(name: &str, script: &str) -> Step {
    Step {
        name: name.to_string(),
        action: Action::Task(TaskStep {
            runner: exec(),
            path: "sh".into(),
            args: vec!["-c".into(), script.into()],
            env: vec![],
            params: json!({}),
            inputs: vec![],
            outputs: vec![],
            output_prefix: None,
        }),
        timeout: None,
        attempts: 1,
        hooks: Hooks::default(),
        secrets: vec![],
    }
}

fn plan(steps: Vec<Step>) -> JobPlan {
    JobPlan {
        build: BuildIdentity { team: "main".into(), pipeline: "demo".into(), job: "test".into(), number: 7 },
        timeout: None,
        allow_failure: false,
        env: vec![],
        steps,
        hooks: Hooks::default(),
        notifications: vec![],
        secrets: vec![],
    }
}

async fn run(plan: &JobPlan) -> (Outcome, MemoryEvents) {
    let events = MemoryEvents::default();
    let report = run_job(plan, Arc::new(events.clone()), options(), CancellationToken::new()).await;
    (report.outcome, events)
}

#[tokio::test]
async fn steps_run_in_order_and_a_failing_task_stops_the_job() {
    let (outcome, events) = run(&plan(vec![sh("one", "echo first"), sh("two", "exit 4"), sh("three", "echo never")])).await;
    assert_eq!(outcome, Outcome::Failed("exit status 4".into()));
    let text = events.text();
    assert!(text.contains("one | first"), "{text}");
    assert!(!text.contains("never"), "{text}");
}

#[tokio::test]
async fn tasks_see_the_build_metadata() {
    let (outcome, events) =
        run(&plan(vec![sh("meta", "echo $BUILD_NUMBER $BUILD_JOB_NAME $BUILD_PIPELINE_NAME $BUILD_TEAM_NAME; test \"$WORKDIR\" = \"$(pwd)\"")])).await;
    assert_eq!(outcome, Outcome::Succeeded, "{}", events.text());
    assert!(events.text().contains("meta | 7 test demo main"), "{}", events.text());
}

/// Each task appends "start" and "end" lines with a shared file as a clock; counting how many are
/// open at once needs no timing assumptions.
fn tracked(name: &str, ledger: &Path, seconds: &str) -> Step {
    sh(name, &format!("echo start >> {l}; sleep {seconds}; echo end >> {l}", l = ledger.display()))
}

fn most_at_once(ledger: &Path) -> usize {
    let (mut open, mut most) = (0usize, 0usize);
    for line in std::fs::read_to_string(ledger).unwrap().lines() {
        if line == "start" {
            open += 1;
            most = most.max(open);
        } else {
            open -= 1;
        }
    }
    most
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_parallel_with_limit_two_never_runs_three_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let steps = (0..5).map(|i| tracked(&format!("t{i}"), &ledger, "0.3")).collect();
    let mut job = plan(vec![]);
    job.steps.push(Step {
        name: "parallel".into(),
        action: Action::InParallel { steps, limit: Some(2), fail_fast: false },
        timeout: None,
        attempts: 1,
        hooks: Hooks::default(),
        secrets: vec![],
    });
    let (outcome, events) = run(&job).await;
    assert_eq!(outcome, Outcome::Succeeded, "{}", events.text());
    assert_eq!(most_at_once(&ledger), 2, "ledger: {}", std::fs::read_to_string(&ledger).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_fast_cancels_the_siblings() {
    let started = Instant::now();
    let steps = vec![sh("quick-fail", "sleep 0.2; exit 1"), sh("slow", "sleep 30"), sh("slower", "sleep 60")];
    let job = plan(vec![Step {
        name: "p".into(),
        action: Action::InParallel { steps, limit: None, fail_fast: true },
        timeout: None,
        attempts: 1,
        hooks: Hooks::default(),
        secrets: vec![],
    }]);
    let (outcome, events) = run(&job).await;
    assert_eq!(outcome, Outcome::Failed("exit status 1".into()));
    assert!(started.elapsed() < Duration::from_secs(10), "siblings were not cancelled");
    let aborted = events.events().into_iter().filter(|e| matches!(e, BuildEvent::StepFinished { outcome: Outcome::Aborted, .. })).count();
    assert_eq!(aborted, 2);
}

#[tokio::test]
async fn a_step_over_its_timeout_fails_and_says_so() {
    let mut step = sh("slow", "sleep 20");
    step.timeout = Some(Duration::from_millis(500));
    let started = Instant::now();
    let (outcome, events) = run(&plan(vec![step])).await;
    assert_eq!(outcome, Outcome::Failed("step timed out after 500ms".into()));
    assert!(events.text().contains("slow | step timed out after 500ms"), "{}", events.text());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn attempts_retry_until_success_with_markers() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("n");
    // Fails on the first two tries, succeeds on the third.
    let mut step = sh("flaky", &format!("echo x >> {c}; test $(wc -l < {c}) -ge 3", c = counter.display()));
    step.attempts = 3;
    let (outcome, events) = run(&plan(vec![step])).await;
    assert_eq!(outcome, Outcome::Succeeded);
    let text = events.text();
    for n in 1..=3 {
        assert!(text.contains(&format!("flaky | --- attempt {n}/3 ---")), "{text}");
    }
    assert!(!text.contains("attempt 4"), "{text}");
}

#[tokio::test]
async fn hooks_run_in_the_documented_order() {
    let mut failing = sh("build", "echo building; exit 2");
    failing.hooks = Hooks {
        on_success: vec![sh("step-success", "echo WRONG")],
        on_failure: vec![sh("step-failure", "echo step on_failure")],
        ensure: vec![sh("step-ensure", "echo step ensure")],
        ..Default::default()
    };
    let mut job = plan(vec![failing]);
    job.hooks = Hooks { on_failure: vec![sh("job-failure", "echo job on_failure")], ensure: vec![sh("job-ensure", "echo job ensure")], ..Default::default() };
    let (outcome, events) = run(&job).await;
    assert_eq!(outcome, Outcome::Failed("exit status 2".into()));
    let order: Vec<String> = events
        .events()
        .into_iter()
        .filter_map(|e| match e {
            BuildEvent::StepStarted { step, .. } => Some(step),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["build", "step-failure", "step-ensure", "job-failure", "job-ensure"]);
}

#[tokio::test]
async fn a_failing_ensure_hook_fails_a_successful_step() {
    let mut ok = sh("ok", "true");
    ok.hooks.ensure = vec![sh("cleanup", "exit 9")];
    let (outcome, _) = run(&plan(vec![ok])).await;
    assert_eq!(outcome, Outcome::Failed("exit status 9".into()));
}

#[tokio::test]
async fn get_fetches_into_the_resource_directory_and_records_the_version() {
    let watched = tempfile::tempdir().unwrap();
    let watched = watched.path().join("app");
    std::fs::create_dir(&watched).unwrap();
    std::fs::write(watched.join("app.txt"), "v1").unwrap();
    let fs = builtin_ref("fs");
    let get = Step {
        name: "get app".into(),
        action: Action::Get(GetStep {
            resource: "app".into(),
            directory: "app".into(),
            backend: ResourceBackend::Plugin { plugin: fs, source: json!({"path": watched}), cache: false },
            params: json!({}),
            version: None,
            local: None,
        }),
        timeout: None,
        attempts: 1,
        hooks: Hooks::default(),
        secrets: vec![],
    };
    let mut task = sh("test", "cat app/app.txt; echo; echo version $version_sha256");
    if let Action::Task(t) = &mut task.action {
        t.inputs = vec!["app".into()];
    }
    let events = MemoryEvents::default();
    let report = run_job(&plan(vec![get, task]), Arc::new(events.clone()), options(), CancellationToken::new()).await;
    assert_eq!(report.outcome, Outcome::Succeeded, "{}", events.text());
    assert!(events.text().contains("test | v1"), "{}", events.text());
    assert_eq!(report.versions.len(), 1);
    assert_eq!(report.versions[0].0, "app");
    let sha = report.versions[0].1.version.field("sha256").unwrap();
    assert!(events.text().contains(&format!("test | version {sha}")), "tasks see $version_<key>: {}", events.text());
}

#[tokio::test]
async fn a_missing_input_errors_before_the_task_runs() {
    let mut task = sh("test", "echo ran");
    if let Action::Task(t) = &mut task.action {
        t.inputs = vec!["app".into()];
    }
    let (outcome, events) = run(&plan(vec![task])).await;
    assert!(matches!(&outcome, Outcome::Errored(m) if m.contains("input `app` does not exist")), "{outcome:?}");
    assert!(!events.text().contains("ran"));
}

#[tokio::test]
async fn cancelling_a_build_aborts_the_step_kills_its_processes_and_runs_abort_hooks() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let mut step = sh("long", &format!("echo $$ > {}; exec sleep 300", pid_file.display()));
    step.hooks.on_abort = vec![sh("on-abort", "echo cleaning up")];
    let job = plan(vec![step]);
    let cancel = CancellationToken::new();
    let events = MemoryEvents::default();
    let canceller = {
        let cancel = cancel.clone();
        let pid_file = pid_file.clone();
        tokio::spawn(async move {
            // The shell creates the file before it writes the pid: wait for the whole line.
            while std::fs::read_to_string(&pid_file).map_or(true, |t| !t.ends_with('\n')) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            cancel.cancel();
        })
    };
    let report = run_job(&job, Arc::new(events.clone()), options(), cancel).await;
    canceller.await.unwrap();
    assert_eq!(report.outcome, Outcome::Aborted);
    assert!(events.text().contains("on-abort | cleaning up"), "{}", events.text());
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    let gone = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z "))
    });
    assert!(gone, "the task's process {pid} survived the abort");
}

#[tokio::test]
async fn secrets_never_reach_the_log_in_any_common_form() {
    let secret = "pa55/w0rd \"q\"";
    let b64 = "cGE1NS93MHJkICJxIg==";
    // The value whole, split across two writes with a pause between, base64, JSON-escaped, URL-encoded.
    let json_escaped = r#"pa55/w0rd \"q\""#;
    let script = [
        format!("echo 'plain: {secret}'"),
        "printf 'split: pa55/w'; sleep 0.2; printf '0rd \"q\"\\n'".to_string(),
        format!("echo 'b64: {b64}'"),
        format!("printf '%s\\n' 'json: {json_escaped}'"),
        "echo 'url: pa55%2Fw0rd%20%22q%22'".to_string(),
    ]
    .join("; ");
    let events = MemoryEvents::default();
    let mut options = options();
    options.secrets = vec![secret.to_string()];
    let report = run_job(&plan(vec![sh("leak", &script)]), Arc::new(events.clone()), options, CancellationToken::new()).await;
    assert_eq!(report.outcome, Outcome::Succeeded, "{}", events.text());
    let text = events.text();
    for label in ["plain", "split", "b64", "json", "url"] {
        assert!(text.contains(&format!("leak | {label}: ((redacted))\n")), "{label} not redacted in:\n{text}");
    }
    assert!(!text.contains("pa55"), "{text}");
}

#[tokio::test]
async fn a_secret_backed_variable_is_resolved_when_its_step_starts_and_redacted() {
    use pikoci::executor::{secret_placeholder, SecretOrigin, SecretSource, SecretVariable};
    let store = reference(fixture("static-secrets"), "static-secrets.wasm", &[], false);
    let config = json!({"secrets": {"db": {"password": "hunter22"}}});
    let mut job = plan(vec![sh(
        "connect",
        &format!("echo connecting with {}; test {} = hunter22", secret_placeholder("db_password"), secret_placeholder("db_password")),
    )]);
    let fetched = |plugin, config, key: &str| SecretOrigin::Fetched { source: Box::new(SecretSource { plugin, config }), path: "db".into(), key: key.into() };
    job.secrets.push(SecretVariable { name: "db_password".into(), origin: fetched(store.clone(), config.clone(), "password") });
    let (outcome, events) = run(&job).await;
    assert_eq!(outcome, Outcome::Succeeded, "{}", events.text());
    assert!(events.text().contains("connect | connecting with ((redacted))"), "{}", events.text());

    let mut job = plan(vec![sh("connect", &format!("echo {}", secret_placeholder("missing")))]);
    job.secrets.push(SecretVariable { name: "missing".into(), origin: fetched(store, config, "nope") });
    let (outcome, _) = run(&job).await;
    assert_eq!(outcome, Outcome::Errored("secret for variable `missing` not found (path `db`, key `nope`)".into()));
}
