//! `pikoci pipeline validate`: check a pipeline file without a server, for people, editors and
//! pre-commit hooks. Exit 0 when valid (warnings allowed), 1 when invalid, 2 when the command
//! could not check at all (unreadable file, bad `--var` or `--vars`).

use pikoci_pipeline::{check_file, render_human, render_json, BuiltinCatalog, PluginCatalog, VarValues};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum PipelineCommand {
    /// Check a pipeline file and report every problem in it at once.
    Validate(ValidateArgs),
}

#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    /// The pipeline files (HCL); several at once for pre-commit hooks.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// A variable value, NAME=VALUE; repeatable, and wins over the `--vars` file.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// A JSON object of variable values.
    #[arg(long = "vars", value_name = "FILE.json")]
    pub vars_file: Option<PathBuf>,

    /// Print `{"valid": ..., "diagnostics": [...]}` instead of the human report.
    #[arg(long)]
    pub json: bool,
}

pub fn run(command: &PipelineCommand) -> ExitCode {
    match command {
        PipelineCommand::Validate(args) => validate(args, &BuiltinCatalog),
    }
}

/// `validate` with a catalog that may know more than the built-ins (files, registries).
pub fn validate(args: &ValidateArgs, catalog: &dyn PluginCatalog) -> ExitCode {
    let report_usage = |d: pikoci_pipeline::Diagnostic| {
        let list = [d];
        if args.json {
            println!("{}", render_json(&list));
        } else {
            eprint!("{}", render_human(&list));
        }
        ExitCode::from(2)
    };
    let vars = match VarValues::from_cli(&args.vars, args.vars_file.as_deref()) {
        Ok(vars) => vars,
        Err(d) => return report_usage(d),
    };
    for file in &args.files {
        if let Err(e) = std::fs::metadata(file) {
            return report_usage(pikoci_pipeline::diagnostic::file_problem(file, format!("cannot read the pipeline: {e}")));
        }
    }
    let diagnostics: Vec<_> = args.files.iter().flat_map(|f| check_file(f, &vars, catalog).diagnostics).collect();
    let valid = !diagnostics.iter().any(pikoci_pipeline::Diagnostic::is_error);
    if args.json {
        println!("{}", render_json(&diagnostics));
    } else if diagnostics.is_empty() {
        for file in &args.files {
            println!("{}: valid", file.display());
        }
    } else {
        eprint!("{}", render_human(&diagnostics));
    }
    if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
