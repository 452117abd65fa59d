//! `pikoci pipeline validate` and `pikoci pipeline plan`: check a pipeline file without a server,
//! for people, editors and pre-commit hooks, and show what it compiles to. Both compile it exactly
//! as `pikoci run` and the server do (only remote components are not downloaded), so a valid
//! pipeline is one that loads.
//!
//! Exit 0 when valid (warnings allowed), 1 when invalid, 2 when the command could not check at
//! all (unreadable file, bad `--var` or `--vars`).

use super::Cli;
use crate::planner::{self, CompiledPipeline, Compiler, Fetch, PipelineSource};
use crate::runtime::{PluginEngine, PluginSet};
use pikoci_pipeline::{render_human, render_json, Diagnostic, VarValues};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Subcommand, Debug)]
pub enum PipelineCommand {
    /// Check a pipeline file and report every problem in it at once.
    Validate(ValidateArgs),
    /// Print the compiled plan of a pipeline: each resource's plugin and each job's steps.
    Plan(PlanArgs),
}

#[derive(clap::Args, Debug)]
pub struct VarArgs {
    /// A variable value, NAME=VALUE; repeatable, and wins over the `--vars` file.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// A JSON object of variable values.
    #[arg(long = "vars", value_name = "FILE.json")]
    pub vars_file: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    /// The pipeline files (HCL); several at once for pre-commit hooks.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub vars: VarArgs,

    /// Print `{"valid": ..., "diagnostics": [...]}` instead of the human report.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// The pipeline file (HCL).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Only this job (resources are shown whenever one of the job's steps uses them).
    #[arg(long, short = 'j')]
    pub job: Option<String>,

    #[command(flatten)]
    pub vars: VarArgs,

    /// The plan as JSON, the form the server stores, instead of the summary.
    #[arg(long)]
    pub json: bool,

    /// The pipeline's name in the plan (as `pikoci run` names it by default).
    #[arg(long)]
    pub pipeline_name: Option<String>,
}

pub async fn run(cli: &Cli, command: &PipelineCommand) -> ExitCode {
    match command {
        PipelineCommand::Validate(args) => validate(cli, args).await,
        PipelineCommand::Plan(args) => plan(cli, args).await,
    }
}

fn report_usage(d: Diagnostic, json: bool) -> ExitCode {
    let list = [d];
    if json {
        println!("{}", render_json(&list));
    } else {
        eprint!("{}", render_human(&list));
    }
    ExitCode::from(2)
}

/// Check and compile one file offline.
async fn compile(cli: &Cli, file: &std::path::Path, vars: &VarValues, name: Option<&str>) -> Result<CompiledPipeline, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(file).map_err(|e| vec![pikoci_pipeline::diagnostic::file_problem(file, format!("cannot read the pipeline: {e}"))])?;
    let cache_dir = cli.cache_dir();
    let engine = PluginEngine::new(Some(&cache_dir))
        .map_err(|e| vec![pikoci_pipeline::diagnostic::file_problem(file, format!("cannot start the plugin engine: {e}"))])?;
    let plugins = PluginSet::new(Arc::new(engine), Some(cache_dir.clone()));
    let locator = cli.locator();
    let compiler = Compiler { plugins: &plugins, locator: &locator, fetch: Fetch::Offline };
    let shown = file.display().to_string();
    let name = name.map(str::to_string).unwrap_or_else(|| planner::default_name(file));
    planner::check(PipelineSource { file: &shown, text: &text, name: &name, team: "main", vars }, &compiler).await
}

async fn validate(cli: &Cli, args: &ValidateArgs) -> ExitCode {
    let vars = match VarValues::from_cli(&args.vars.vars, args.vars.vars_file.as_deref()) {
        Ok(vars) => vars,
        Err(d) => return report_usage(d, args.json),
    };
    for file in &args.files {
        if let Err(e) = std::fs::metadata(file) {
            return report_usage(pikoci_pipeline::diagnostic::file_problem(file, format!("cannot read the pipeline: {e}")), args.json);
        }
    }
    let mut diagnostics = Vec::new();
    for file in &args.files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        // Warnings of valid files are reported too.
        let report = pikoci_pipeline::check_str(file, &text, &vars, &pikoci_pipeline::BuiltinCatalog);
        if !report.is_valid() {
            diagnostics.extend(report.diagnostics);
            continue;
        }
        diagnostics.extend(report.diagnostics);
        if let Err(problems) = compile(cli, file, &vars, None).await {
            diagnostics.extend(problems);
        }
    }
    let valid = !diagnostics.iter().any(Diagnostic::is_error);
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

async fn plan(cli: &Cli, args: &PlanArgs) -> ExitCode {
    let vars = match VarValues::from_cli(&args.vars.vars, args.vars.vars_file.as_deref()) {
        Ok(vars) => vars,
        Err(d) => return report_usage(d, args.json),
    };
    let mut compiled = match compile(cli, &args.file, &vars, args.pipeline_name.as_deref()).await {
        Ok(compiled) => compiled,
        Err(problems) => {
            eprint!("{}", render_human(&problems));
            return ExitCode::FAILURE;
        }
    };
    if let Some(job) = &args.job {
        if compiled.job(job).is_none() {
            eprintln!("error: job `{job}` is not defined; the pipeline's jobs are: {}", compiled.job_names().join(", "));
            return ExitCode::FAILURE;
        }
        compiled.jobs.retain(|j| &j.name == job);
        let used = super::plan_view::used_resources(&compiled.jobs[0]);
        compiled.resources.retain(|r| used.contains(&r.name));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&compiled).expect("a compiled pipeline serialises"));
    } else {
        print!("{}", super::plan_view::render(&compiled));
    }
    ExitCode::SUCCESS
}
