//! The built-in plugins and the SDK example, called through the runtime like any plugin.

mod support;

use pikoci::runtime::{CallError, PluginKind, TaskSpec};
use serde_json::json;
use support::*;

#[tokio::test]
async fn a_resource_type_written_on_the_sdk_answers_check_get_and_put() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("count");
    std::fs::write(&file, "41").unwrap();
    let work = tempfile::tempdir().unwrap();
    let counter = fixture("counter");
    assert_eq!(counter.kind(), PluginKind::ResourceType);
    let caps = grants(&[format!("write:{}", dir.path().display()), format!("write:{}", work.path().display())]);
    let source = json!({"file": file});
    let (_, log) = log();

    let versions = counter.check(&caps, log.clone(), &source, None).await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].field("count"), Some("41"));

    let fetched = counter.get(&caps, log.clone(), &source, &versions[0], &json!({}), &work.path().display().to_string()).await.unwrap();
    assert_eq!(std::fs::read_to_string(work.path().join("count")).unwrap(), "41");
    assert_eq!(fetched.metadata, vec![("note".to_string(), "fetched by the counter".to_string())]);

    let pushed = counter.put(&caps, log, &source, &json!({}), &work.path().display().to_string()).await.unwrap();
    assert_eq!(pushed.version.field("count"), Some("42"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "42");
}

#[tokio::test]
async fn fs_finds_a_new_version_only_when_the_contents_change() {
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("watched");
    std::fs::create_dir(&watched).unwrap();
    std::fs::write(watched.join("a.txt"), "one").unwrap();
    let fs = builtin("fs");
    let caps = grants(&[format!("read:{}", watched.display())]);
    let source = json!({"path": watched});
    let (_, log) = log();

    let first = fs.check(&caps, log.clone(), &source, None).await.unwrap();
    std::fs::write(watched.join("a.txt"), "one").unwrap();
    assert_eq!(fs.check(&caps, log.clone(), &source, first.last()).await.unwrap(), first, "rewriting the same bytes is no new version");
    std::fs::write(watched.join("b.txt"), "two").unwrap();
    let second = fs.check(&caps, log.clone(), &source, first.last()).await.unwrap();
    assert_ne!(second, first);

    let work = tempfile::tempdir().unwrap();
    let mut get_caps = caps.clone();
    get_caps.grant(format!("write:{}", work.path().display()).parse().unwrap());
    fs.get(&get_caps, log, &source, &second[0], &json!({}), &work.path().display().to_string()).await.unwrap();
    assert_eq!(std::fs::read_to_string(work.path().join("watched/b.txt")).unwrap(), "two");
}

#[tokio::test]
async fn fs_without_a_grant_for_its_path_says_what_to_grant() {
    let dir = tempfile::tempdir().unwrap();
    let (_, log) = log();
    let err = builtin("fs").check(&grants(&[]), log, &json!({"path": dir.path()}), None).await.unwrap_err();
    assert!(matches!(err, CallError::Denied { .. }), "{err}");
    assert!(err.to_string().contains(&format!("read {}", dir.path().display())), "{err}");
}

#[tokio::test]
async fn fs_rejects_a_misspelt_source_field() {
    let (_, log) = log();
    let err = builtin("fs").check(&grants(&[]), log, &json!({"pth": "/tmp"}), None).await.unwrap_err();
    let CallError::InvalidConfig { message, .. } = err else { panic!("expected invalid config, got {err}") };
    assert!(message.contains("pth"), "{message}");
}

#[tokio::test]
async fn cron_yields_the_current_time_on_every_check() {
    let (_, log) = log();
    let versions = builtin("cron").check(&grants(&[]), log, &json!({}), None).await.unwrap();
    let time = versions[0].field("time").unwrap();
    assert!(time.len() == 20 && time.ends_with('Z'), "not an RFC 3339 time: {time}");
}

#[tokio::test]
async fn exec_runs_the_task_in_its_directory_and_reports_the_exit_code() {
    let work = tempfile::tempdir().unwrap();
    let task = TaskSpec {
        path: "sh".into(),
        args: vec!["-c".into(), "echo building in $(pwd); echo artifact > out.txt; exit 3".into()],
        env: vec![("PATH".into(), std::env::var("PATH").unwrap())],
        dir: work.path().display().to_string(),
        params: json!({}),
    };
    let exec = builtin("exec");
    let caps = grants(&["run:sh".into(), format!("write:{}", work.path().display())]);
    let (log, sink) = log();
    assert_eq!(exec.run(&caps, sink.clone(), &task).await.unwrap(), 3);
    assert!(log.text().contains(&format!("building in {}", work.path().display())), "{}", log.text());
    assert_eq!(std::fs::read_to_string(work.path().join("out.txt")).unwrap(), "artifact\n");

    let err = exec.run(&grants(&[format!("write:{}", work.path().display())]), sink, &task).await.unwrap_err();
    assert!(matches!(err, CallError::Denied { .. }), "{err}");
}

#[tokio::test]
async fn calling_a_plugin_as_another_kind_is_refused() {
    let (_, log) = log();
    let err = builtin("exec").check(&grants(&[]), log, &json!({}), None).await.unwrap_err();
    assert!(err.to_string().contains("it is a runner, not a resource type"), "{err}");
}

#[tokio::test]
async fn an_inline_exec_resource_type_checks_pulls_and_pushes_as_pikoci_does() {
    let work = tempfile::tempdir().unwrap();
    let definition = json!({
        "name": "counter",
        "check": {"path": "/bin/sh", "args": ["-ec", "echo \"[{\\\"n\\\": \\\"$param_start\\\"}, {\\\"n\\\": 2}]\""]},
        "pull": {"path": "/bin/sh", "args": ["-ec", "echo $version_n > $param_name; echo pulled into $(pwd)"]},
        "push": {"path": "/bin/sh", "args": ["-ec", "test \"$put_message\" = hello"]},
        "params": {"start": "1", "name": "counted"},
        "env": [["PATH", std::env::var("PATH").unwrap()], ["WORKDIR", work.path()]],
    });
    let adapter = builtin("exec-resource-type");
    // Called directly, nothing is auto-granted: the executor grants a built-in's requests.
    let caps = grants(&["run:/bin/sh".into(), format!("write:{}", work.path().display())]);
    let (log, sink) = log();
    let versions = adapter.check(&caps, sink.clone(), &definition, None).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.field("n").unwrap()).collect::<Vec<_>>(), ["1", "2"]);

    let dir = work.path().display().to_string();
    adapter.get(&caps, sink.clone(), &definition, &versions[1], &json!({}), &dir).await.unwrap();
    assert_eq!(std::fs::read_to_string(work.path().join("counted")).unwrap(), "2\n");
    assert!(log.text().contains(&format!("pulled into {dir}")), "{}", log.text());

    adapter.put(&caps, sink.clone(), &definition, &json!({"message": "hello"}), &dir).await.unwrap();
    let err = adapter.put(&caps, sink, &definition, &json!({"message": "bye"}), &dir).await.unwrap_err();
    assert!(err.to_string().contains("push of `counter` exited with status 1"), "{err}");
}

#[tokio::test]
async fn an_inline_check_that_prints_no_json_array_says_what_was_expected() {
    let definition = json!({
        "name": "broken",
        "check": {"path": "/bin/sh", "args": ["-ec", "echo not json"]},
        "env": [["PATH", std::env::var("PATH").unwrap()]],
    });
    let (_, log) = log();
    let err = builtin("exec-resource-type").check(&grants(&["run:/bin/sh".into()]), log, &definition, None).await.unwrap_err();
    assert!(err.to_string().contains("must print a JSON array of version objects"), "{err}");
}
