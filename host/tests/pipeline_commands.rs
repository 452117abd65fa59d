//! `pikoci pipeline validate` and `pikoci pipeline plan` on the real binary, and the promise
//! behind them: every pipeline the language accepts loads in the host and plans every job.

use std::path::{Path, PathBuf};
use std::process::Command;

fn pikoci() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pikoci"));
    cmd.env("PIKOCI_CACHE_DIR", std::env::temp_dir().join("pikoci-test-cache"));
    cmd
}

fn fixture(path: &str) -> String {
    format!("{}/pipeline/tests/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn code(args: &[&str]) -> i32 {
    pikoci().args(args).output().expect("pikoci runs").status.code().unwrap_or(-1)
}

#[test]
fn validate_exit_codes() {
    assert_eq!(code(&["pipeline", "validate", &fixture("valid/pikoci-getting-started.hcl")]), 0);
    assert_eq!(code(&["pipeline", "validate", "--json", &fixture("invalid/misspelt-resource.hcl")]), 1);
    assert_eq!(code(&["pipeline", "validate", &fixture("valid/does-not-exist.hcl")]), 2);
    assert_eq!(code(&["pipeline", "validate", &fixture("valid/pikoci-getting-started.hcl"), &fixture("invalid/passed-cycle.hcl")]), 1);
    assert_eq!(code(&["pipeline", "validate", "--var", "novalue", &fixture("valid/pikoci-getting-started.hcl")]), 2);
    let file = fixture("invalid/variable-without-value.hcl");
    assert_eq!(code(&["pipeline", "validate", &file]), 1);
    assert_eq!(code(&["pipeline", "validate", "--var", "token=abc", &file]), 0);
    let reference = fixture("valid/pikoci-pipeline-reference.hcl");
    assert_eq!(code(&["pipeline", "validate", &reference]), 1);
    assert_eq!(code(&["pipeline", "validate", "--vars", &fixture("valid/pikoci-pipeline-reference.vars.json"), &reference]), 0);
}

fn hcl_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "hcl")).collect();
    files.sort();
    files
}

/// What validate accepts, the host loads: each valid fixture compiles through the host (remote
/// components aside, which validate does not download either) and every job plans.
#[tokio::test]
async fn every_valid_fixture_loads_and_plans_every_job() {
    use pikoci::planner::{self, Compiler, Fetch, JobInputs, PipelineSource, VarValues};
    let engine = std::sync::Arc::new(pikoci::runtime::PluginEngine::new(None).unwrap());
    let cache = tempfile::tempdir().unwrap();
    let plugins = pikoci::runtime::PluginSet::new(engine, Some(cache.path().to_path_buf()));
    let locator = pikoci::plugin_source::PluginLocator::new(cache.path(), Default::default());
    let compiler = Compiler { plugins: &plugins, locator: &locator, fetch: Fetch::Offline };
    let mut failures = Vec::new();
    let files = hcl_files(Path::new(&fixture("valid")));
    for file in &files {
        let vars_file = file.with_extension("vars.json");
        let vars = VarValues::from_cli::<&str>(&[], vars_file.exists().then_some(vars_file.as_path())).unwrap();
        let text = std::fs::read_to_string(file).unwrap();
        let shown = file.display().to_string();
        match planner::load(PipelineSource { file: &shown, text: &text, name: "p", team: "main", vars: &vars }, &compiler).await {
            Ok(compiled) => {
                for job in compiled.job_names() {
                    if let Err(e) = compiled.plan(&job, &JobInputs::default(), 1) {
                        failures.push(format!("{shown}: job {job}: {e}"));
                    }
                }
                // The plan is plain data: it survives a trip through JSON, as the server stores it.
                let json = serde_json::to_string(&compiled).unwrap();
                let back: planner::CompiledPipeline = serde_json::from_str(&json).unwrap();
                assert_eq!(serde_json::to_string(&back).unwrap(), json);
            }
            Err(e) => failures.push(e),
        }
    }
    assert!(files.len() >= 14, "the valid corpus shrank to {}", files.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Digests change whenever a built-in is rebuilt; the rest of the documented output may not.
fn without_digests(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("sha256:") {
        out.push_str(&rest[..at + 7]);
        rest = &rest[at + 7..];
        rest = rest.trim_start_matches(|c: char| c.is_ascii_hexdigit());
    }
    out.push_str(rest);
    out
}

#[test]
fn the_documented_plan_is_what_plan_prints() {
    let root = format!("{}/..", env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(format!("{root}/docs/language/validate.md")).unwrap();
    let example =
        doc.split("$ pikoci pipeline plan examples/hello/pipeline.hcl --var app_dir=/srv/app\n").nth(1).expect("the plan example").split("```").next().unwrap();
    let out = pikoci().current_dir(&root).args(["pipeline", "plan", "examples/hello/pipeline.hcl", "--var", "app_dir=/srv/app"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(without_digests(&String::from_utf8(out.stdout).unwrap()), without_digests(example));
}

#[test]
fn plan_shows_the_compiled_pipeline() {
    let hello = format!("{}/../examples/hello/pipeline.hcl", env!("CARGO_MANIFEST_DIR"));
    let out = pikoci().args(["pipeline", "plan", &hello, "--var", "app_dir=/srv/app"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for expected in
        ["pipeline hello (team main)", "app (fs)", "pikoci://fs (sha256:", "job test", "input app, triggers", "task unit: pikoci://exec", "on_success:"]
    {
        assert!(text.contains(expected), "`{expected}` missing from:\n{text}");
    }
    let out = pikoci().args(["pipeline", "plan", &hello, "--var", "app_dir=/srv/app", "--json", "--job", "test"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["resources"][0]["backend"]["Plugin"]["source"]["path"], "/srv/app");
    assert_eq!(json["jobs"][0]["name"], "test");
    let out = pikoci().args(["pipeline", "plan", &hello, "--var", "app_dir=/srv/app", "--job", "deploy"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("job `deploy` is not defined"));
}
