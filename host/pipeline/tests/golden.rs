//! Golden tests: every pipeline in tests/valid/ and examples/pipelines/ is valid; every
//! tests/invalid/NAME.hcl gives exactly the errors (and at least the warnings) in NAME.expected,
//! one `file:line:column: severity: message` per line.
//!
//! `BLESS=1 cargo test -p pikoci-pipeline --test golden` rewrites the .expected files; review
//! the diff before committing it.

use pikoci_pipeline::{check_str, render_human, BuiltinCatalog, Report, VarValues};
use std::path::{Path, PathBuf};

fn hcl_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hcl"))
        .collect();
    files.sort();
    files
}

/// `NAME.vars.json` beside `NAME.hcl` gives its variables.
fn check(path: &Path, shown_as: &Path) -> Report {
    let vars_file = path.with_extension("vars.json");
    let vars = VarValues::from_cli::<&str>(&[], vars_file.exists().then_some(vars_file.as_path())).expect("vars file");
    let text = std::fs::read_to_string(path).unwrap();
    check_str(shown_as, &text, &vars, &BuiltinCatalog)
}

#[test]
fn valid_pipelines_have_no_errors() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = hcl_files(&here.join("tests/valid"));
    files.extend(hcl_files(&here.join("../../examples/pipelines")));
    let mut failures = String::new();
    for file in &files {
        let report = check(file, file);
        if !report.is_valid() {
            failures.push_str(&render_human(&report.diagnostics));
        }
    }
    assert!(failures.is_empty(), "{failures}");
    assert!(files.len() >= 10, "the valid corpus shrank to {}", files.len());
}

#[test]
fn invalid_pipelines_give_the_expected_messages() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let files = hcl_files(&dir);
    assert!(files.len() >= 30, "the table of invalid pipelines shrank to {}", files.len());
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    for file in &files {
        let name = Path::new(file.file_name().unwrap());
        let report = check(file, name);
        let actual: Vec<String> = report.diagnostics.iter().map(|d| d.short()).collect();
        let expected_path = file.with_extension("expected");
        if bless {
            let errors: Vec<&String> = actual.iter().filter(|l| l.contains(": error: ")).collect();
            std::fs::write(&expected_path, errors.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
            continue;
        }
        let expected_text = std::fs::read_to_string(&expected_path).unwrap_or_default();
        let expected: Vec<&str> = expected_text.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(expected.iter().any(|l| l.contains(": error: ")), "{} expects no error", expected_path.display());
        let actual_errors: Vec<&str> = actual.iter().map(String::as_str).filter(|l| l.contains(": error: ")).collect();
        let expected_errors: Vec<&str> = expected.iter().copied().filter(|l| l.contains(": error: ")).collect();
        let missing_warnings: Vec<&&str> = expected.iter().filter(|l| !l.contains(": error: ") && !actual.iter().any(|a| a == *l)).collect();
        if actual_errors != expected_errors || !missing_warnings.is_empty() {
            failures.push(format!("{}:\n  expected:\n    {}\n  actual:\n    {}", name.display(), expected.join("\n    "), actual.join("\n    ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
