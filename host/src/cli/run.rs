//! `pikoci run`: one job of a pipeline on this machine, with no server, exactly as a worker runs it.

use super::Cli;
use crate::executor::{run_job, ExecOptions, Outcome, TerminalEvents};
use crate::planner::{self, default_name, Compiler, Fetch, JobInputs, VarValues};
use crate::runtime::{PluginEngine, PluginSet};
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(clap::Args)]
pub struct RunArgs {
    /// The pipeline file (`-p` as in PikoCI).
    #[arg(long, short = 'c', short_alias = 'p')]
    pipeline_config: PathBuf,
    /// The job to run.
    #[arg(long, short = 'j')]
    job: String,
    /// A variable value, NAME=VALUE. Repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// A JSON file of variable values.
    #[arg(long = "vars", short = 'v', value_name = "FILE")]
    vars_file: Option<PathBuf>,
    /// Use a local directory instead of fetching a resource: NAME=DIR. Repeatable.
    #[arg(long = "input", value_name = "RESOURCE=DIR")]
    inputs: Vec<String>,
    /// PikoCI's form of `--input`: TYPE.NAME=DIR (`git.my-repo=./src`). Repeatable.
    #[arg(long = "resource", value_name = "TYPE.NAME=DIR")]
    resources: Vec<String>,
    /// Keep the build's work directory afterwards, for debugging.
    #[arg(long)]
    keep_workdir: bool,
    /// Pipeline name the build reports in BUILD_PIPELINE_NAME (default: the file's directory
    /// name for a file called pipeline.hcl, else the file's name).
    #[arg(long)]
    pipeline_name: Option<String>,
    /// Team name the build reports in BUILD_TEAM_NAME.
    #[arg(long, default_value = "main")]
    team: String,
}

pub async fn run(cli: &Cli, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.pipeline_config).with_context(|| format!("cannot read {}", args.pipeline_config.display()))?;
    let vars = VarValues::from_cli(&args.vars, args.vars_file.as_deref()).map_err(|d| anyhow::anyhow!("{}", pikoci_pipeline::render_human(&[d])))?;
    let mut inputs = JobInputs::default();
    // PikoCI's TYPE.NAME=DIR; the type is checked once the pipeline is loaded.
    let mut typed = Vec::new();
    for r in &args.resources {
        let (type_and_name, dir) = r.split_once('=').with_context(|| format!("--resource `{r}` is not TYPE.NAME=DIR"))?;
        let (type_name, name) = type_and_name
            .split_once('.')
            .with_context(|| format!("--resource `{r}`: `{type_and_name}` is not TYPE.NAME (git.my-repo); or use --input NAME=DIR"))?;
        typed.push((type_name, name, dir));
    }
    let ours = args.inputs.iter().map(|i| i.split_once('=').with_context(|| format!("--input `{i}` is not RESOURCE=DIR")));
    for input in ours.chain(typed.iter().map(|(_, name, dir)| Ok((*name, *dir)))) {
        let (name, dir) = input?;
        let dir = std::path::absolute(dir)?;
        anyhow::ensure!(dir.is_dir(), "--input {name}={}: not a directory", dir.display());
        inputs.local.insert(name.to_string(), dir);
    }

    let cache_dir = cli.cache_dir();
    let plugins = Arc::new(PluginSet::new(Arc::new(PluginEngine::new(Some(&cache_dir))?), Some(cache_dir.clone())));
    let locator = cli.locator();
    let file = args.pipeline_config.display().to_string();
    let name = args.pipeline_name.clone().unwrap_or_else(|| default_name(&args.pipeline_config));
    let source = planner::PipelineSource { file: &file, text: &text, name: &name, team: &args.team, vars: &vars };
    let compiler = Compiler { plugins: &plugins, locator: &locator, fetch: Fetch::Remote };
    let pipeline = match planner::load(source, &compiler).await {
        Ok(p) => p,
        Err(report) => {
            eprintln!("error: {report}");
            return Ok(ExitCode::from(2));
        }
    };
    for resource in inputs.local.keys() {
        anyhow::ensure!(pipeline.resource(resource).is_some(), "--input {resource}: the pipeline has no resource `{resource}`");
    }
    for (type_name, name, _) in typed {
        let declared = pipeline.resource(name).map(|r| r.type_name.as_str()).unwrap_or_default();
        anyhow::ensure!(declared == type_name, "--resource {type_name}.{name}: resource `{name}` is a `{declared}`, not a `{type_name}`");
    }
    let plan = pipeline.plan(&args.job, &inputs, 1).map_err(anyhow::Error::msg)?;

    // Ctrl-C aborts the build (hooks and service stops still run); a second one exits at once.
    let cancel = CancellationToken::new();
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("interrupted: aborting the build (Ctrl-C again to exit now)");
                cancel.cancel();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        });
    }
    let mut options = ExecOptions::new(plugins.clone(), cache_dir.join("cache"));
    options.keep_workdir = args.keep_workdir;
    let report = run_job(&plan, Arc::new(TerminalEvents), options, cancel).await;

    eprintln!();
    for (resource, fetched) in &report.versions {
        let shown: Vec<_> = fetched.version.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        eprintln!("  {resource}: {}", shown.join(" "));
    }
    if let Some(dir) = &report.kept_workdir {
        eprintln!("  work directory kept at {}", dir.display());
    }
    let secs = report.duration.as_secs_f64();
    match &report.outcome {
        Outcome::Succeeded => eprintln!("job {} succeeded in {secs:.2}s", args.job),
        Outcome::Failed(why) => eprintln!("job {} failed in {secs:.2}s: {why}", args.job),
        Outcome::Errored(why) => eprintln!("job {} errored in {secs:.2}s: {why}", args.job),
        Outcome::Aborted => eprintln!("job {} aborted after {secs:.2}s", args.job),
        Outcome::Warning(why) => eprintln!("job {} failed in {secs:.2}s, which its allow_failure lets pass (warning): {why}", args.job),
    }
    Ok(match report.outcome {
        // The job's failure is allowed: what runs it may go on.
        Outcome::Succeeded | Outcome::Warning(_) => ExitCode::SUCCESS,
        Outcome::Aborted => ExitCode::from(130),
        _ => ExitCode::FAILURE,
    })
}
