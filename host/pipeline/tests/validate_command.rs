//! `pikoci pipeline validate` (host/src/cli/pipeline.rs, compiled here against this crate alone):
//! exit 0 when valid, 1 when invalid, 2 when it cannot check.

#[path = "../../src/cli/pipeline.rs"]
mod pipeline_cli;

use clap::Parser;
use pipeline_cli::{run, PipelineCommand};
use std::process::ExitCode;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: PipelineCommand,
}

fn exit_of(args: &[&str]) -> ExitCode {
    let cli = Cli::try_parse_from(std::iter::once("pipeline").chain(args.iter().copied())).expect("arguments parse");
    run(&cli.command)
}

fn fixture(path: &str) -> String {
    format!("{}/tests/{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn exit_codes() {
    assert_eq!(exit_of(&["validate", &fixture("valid/pikoci-getting-started.hcl")]), ExitCode::SUCCESS);
    assert_eq!(exit_of(&["validate", "--json", &fixture("invalid/misspelt-resource.hcl")]), ExitCode::FAILURE);
    assert_eq!(exit_of(&["validate", &fixture("valid/does-not-exist.hcl")]), ExitCode::from(2));
    let two = [fixture("valid/pikoci-getting-started.hcl"), fixture("invalid/passed-cycle.hcl")];
    assert_eq!(exit_of(&["validate", &two[0], &two[1]]), ExitCode::FAILURE);
    assert_eq!(exit_of(&["validate", "--var", "novalue", &fixture("valid/pikoci-getting-started.hcl")]), ExitCode::from(2));
}

#[test]
fn values_from_var_and_vars_file() {
    let file = fixture("invalid/variable-without-value.hcl");
    assert_eq!(exit_of(&["validate", &file]), ExitCode::FAILURE);
    assert_eq!(exit_of(&["validate", "--var", "token=abc", &file]), ExitCode::SUCCESS);
    let reference = fixture("valid/pikoci-pipeline-reference.hcl");
    assert_eq!(exit_of(&["validate", &reference]), ExitCode::FAILURE);
    assert_eq!(exit_of(&["validate", "--vars", &fixture("valid/pikoci-pipeline-reference.vars.json"), &reference]), ExitCode::SUCCESS);
}

#[test]
fn json_report_has_positions() {
    let vars = pikoci_pipeline::VarValues::new();
    let report = pikoci_pipeline::check_file(fixture("invalid/misspelt-resource.hcl").as_ref(), &vars, &pikoci_pipeline::BuiltinCatalog);
    let json: serde_json::Value = serde_json::from_str(&pikoci_pipeline::render_json(&report.diagnostics)).unwrap();
    assert_eq!(json["valid"], false);
    let errors: Vec<&serde_json::Value> = json["diagnostics"].as_array().unwrap().iter().filter(|d| d["severity"] == "error").collect();
    let first = errors[0];
    assert_eq!((first["line"].as_u64(), first["column"].as_u64()), (Some(8), Some(13)));
    assert_eq!(first["severity"], "error");
    assert_eq!(first["suggestion"], "did you mean `my-app`?");
}
