//! The example plugins of examples/plugins/, one resource type written in Rust, Python,
//! JavaScript and C, called as real components: check, get and put, a job that uses each, and the
//! sandbox refusing a file none of them was granted. The components are built by
//! examples/plugins/build-all.sh (which scripts/test.sh runs first).

mod support;

use pikoci::executor::{run_job, Action, GetStep, Hooks, JobPlan, MemoryEvents, Outcome, PutStep, ResourceBackend, Step, TaskStep};
use pikoci::runtime::{CallError, Capabilities, Plugin, Version};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use support::*;
use tokio_util::sync::CancellationToken;

const LANGUAGES: [&str; 4] = ["rust", "python", "js", "c"];

/// An example component; a missing one fails the test with how to build it, never skips it.
fn example(lang: &str) -> Plugin {
    let path = repo_root().join("target/example-plugins").join(format!("{lang}.wasm"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the {lang} example plugin {}: {e}; build it with `bash scripts/install-guest-toolchains.sh && bash examples/plugins/build-all.sh`",
            path.display()
        )
    });
    engine().load(&format!("{lang}.wasm"), &bytes).unwrap_or_else(|e| panic!("the {lang} example does not load: {e}"))
}

fn count(versions: &[Version]) -> &str {
    versions.last().and_then(|v| v.field("count")).expect("a version with a count")
}

/// A counter file holding 41 in a fresh directory, and a grant of that directory only.
fn counter() -> (tempfile::TempDir, serde_json::Value, Capabilities) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("value"), "41\n").unwrap();
    let source = json!({"file": dir.path().join("value")});
    let caps = grants(&[format!("write:{}", dir.path().display())]);
    (dir, source, caps)
}

async fn check_get_put(lang: &str) {
    let plugin = example(lang);
    let manifest = plugin.manifest();
    assert!(manifest.name.starts_with("counter-"), "{lang}: manifest name {}", manifest.name);
    assert_eq!(manifest.requested_capabilities, ["write:{source.file}"], "{lang}");
    let (dir, source, caps) = counter();
    let (_, log) = log();

    let versions = plugin.check(&caps, log.clone(), &source, None).await.unwrap_or_else(|e| panic!("{lang} check: {e}"));
    assert_eq!(count(&versions), "41", "{lang}");

    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let fetched = plugin.get(&caps, log.clone(), &source, &versions[0], &json!({}), &work.display().to_string()).await;
    let fetched = fetched.unwrap_or_else(|e| panic!("{lang} get: {e}"));
    assert_eq!(fetched.version, versions[0], "{lang}");
    assert_eq!(std::fs::read_to_string(work.join("count")).unwrap(), "41", "{lang}");

    let pushed = plugin.put(&caps, log.clone(), &source, &json!({}), &work.display().to_string()).await;
    assert_eq!(pushed.unwrap_or_else(|e| panic!("{lang} put: {e}")).version.field("count"), Some("42"), "{lang}");
    assert_eq!(std::fs::read_to_string(dir.path().join("value")).unwrap().trim(), "42", "{lang}");
    assert_eq!(count(&plugin.check(&caps, log, &source, None).await.unwrap()), "42", "{lang}: check after put");
}

#[tokio::test]
async fn the_rust_counter_checks_gets_and_puts() {
    check_get_put("rust").await;
}

#[tokio::test]
async fn the_python_counter_checks_gets_and_puts() {
    check_get_put("python").await;
}

#[tokio::test]
async fn the_js_counter_checks_gets_and_puts() {
    check_get_put("js").await;
}

#[tokio::test]
async fn the_c_counter_checks_gets_and_puts() {
    check_get_put("c").await;
}

/// The counter file lies outside the one directory granted: the sandbox refuses the read and the
/// host reports it as a denial naming the file, whatever language the plugin is written in.
async fn refused_an_ungranted_file(lang: &str) {
    let (_outside, source, _) = counter();
    let granted = tempfile::tempdir().unwrap();
    let caps = grants(&[format!("write:{}", granted.path().display())]);
    let (_, log) = log();
    let err = example(lang).check(&caps, log, &source, None).await.unwrap_err();
    let CallError::Denied { what, .. } = &err else { panic!("{lang}: expected a denial, got {err}") };
    assert_eq!(what, &format!("read {}", source["file"].as_str().unwrap()), "{lang}");
    assert!(err.to_string().contains("not granted"), "{err}");
}

#[tokio::test]
async fn the_python_counter_is_denied_a_file_it_was_not_granted() {
    refused_an_ungranted_file("python").await;
}

#[tokio::test]
async fn the_js_counter_is_denied_a_file_it_was_not_granted() {
    refused_an_ungranted_file("js").await;
}

#[tokio::test]
async fn the_rust_and_c_counters_are_denied_a_file_they_were_not_granted() {
    refused_an_ungranted_file("rust").await;
    refused_an_ungranted_file("c").await;
}

fn step(name: &str, action: Action) -> Step {
    Step { name: name.into(), action, timeout: None, attempts: 1, hooks: Hooks::default(), secrets: vec![] }
}

/// A job of get (which checks first), a task reading what get wrote, and put, with each example
/// as a third-party plugin: it gets only what the pipeline's `allow` block grants.
#[tokio::test]
async fn a_job_uses_each_example_through_get_task_and_put() {
    for lang in LANGUAGES {
        let (dir, source, _) = counter();
        let counter = reference(example(lang), lang, &[&format!("write:{}", dir.path().display())], false);
        let exec = builtin_ref("exec");
        let backend = ResourceBackend::Plugin { plugin: counter, source, cache: false };
        let get = GetStep { resource: "counter".into(), directory: "counter".into(), backend: backend.clone(), params: json!({}), version: None, local: None };
        let task = TaskStep {
            runner: exec,
            path: "cat".into(),
            args: vec!["count".into()],
            env: vec![],
            params: json!({}),
            inputs: vec![],
            outputs: vec![],
            output_prefix: None,
        };
        let put = PutStep { resource: "counter".into(), backend, params: json!({}) };
        let plan = JobPlan {
            build: pikoci::executor::BuildIdentity { team: "main".into(), pipeline: "examples".into(), job: lang.into(), number: 1 },
            timeout: None,
            allow_failure: false,
            env: vec![],
            steps: vec![step("get", Action::Get(get)), step("show", Action::Task(task)), step("bump", Action::Put(put))],
            hooks: Hooks::default(),
            notifications: vec![],
            secrets: vec![],
        };
        let events = MemoryEvents::default();
        let report = run_job(&plan, Arc::new(events.clone()), options(), CancellationToken::new()).await;
        assert_eq!(report.outcome, Outcome::Succeeded, "{lang}: {}", events.text());
        assert!(events.text().contains("show | 41"), "{lang}: {}", events.text());
        assert_eq!(std::fs::read_to_string(dir.path().join("value")).unwrap().trim(), "42", "{lang}");
    }
}

/// The guide shows each example's build script and the WIT contract; they must be the scripts CI
/// runs and the WIT the host loads, verbatim (each WIT file without its `package` line).
#[test]
fn the_guide_quotes_the_build_scripts_and_the_wit_verbatim() {
    let guide = read(&repo_root().join("docs/plugins/guide.md"));
    for lang in LANGUAGES {
        let script = read(&repo_root().join(format!("examples/plugins/{lang}/build.sh")));
        assert!(guide.contains(&script), "docs/plugins/guide.md must quote examples/plugins/{lang}/build.sh verbatim");
    }
    for entry in std::fs::read_dir(repo_root().join("wit/since_v0.1.1")).unwrap() {
        let path = entry.unwrap().path();
        let text = read(&path);
        let body: Vec<&str> = text.lines().filter(|l| !l.starts_with("package ")).collect();
        let body = body.join("\n");
        assert!(guide.contains(body.trim_matches('\n')), "docs/plugins/guide.md must quote {} as it is", path.display());
    }
}

/// Every ```sh block of the guide marked `<!-- ci: run -->` runs here, from the repository's root,
/// with this build's pikoci first on PATH.
#[test]
fn the_guides_commands_run() {
    let guide = read(&repo_root().join("docs/plugins/guide.md"));
    let blocks: Vec<&str> = guide.split("<!-- ci: run -->\n```sh\n").skip(1).map(|rest| rest.split("\n```").next().unwrap()).collect();
    assert!(!blocks.is_empty(), "the guide has no `<!-- ci: run -->` blocks");
    let bin = Path::new(env!("CARGO_BIN_EXE_pikoci")).parent().unwrap();
    for block in blocks {
        let out = std::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", block])
            .current_dir(repo_root())
            .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()))
            .env("PIKOCI_CACHE_DIR", repo_root().join("target/test-cache"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "a command block of docs/plugins/guide.md failed:\n{block}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}
