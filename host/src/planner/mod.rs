//! From a pipeline file to the plans the executor runs.
//!
//! Reads PikoCI's pipeline language (variables, the four type blocks with `source` or inline exec
//! definitions, resources, jobs with their steps and hooks, pikoci's `allow` blocks), resolves
//! every type to a loaded plugin, and turns a job into a [`JobPlan`] for given input versions.
//!
//! This reader checks what it needs to build plans and names the block at fault; the complete
//! validation with line and column, every problem at once and suggestions is the pipeline
//! language crate's (`host/pipeline`), which this module will read from once it lands.

mod body;
mod jobs;
mod types;
mod variables;

pub use jobs::{GetInput, JobInputs};
pub use types::TypeTable;
pub use variables::VarValues;

use crate::executor::{BuildIdentity, JobPlan, SecretVariable};
use crate::plugin_source::PluginLocator;
use crate::runtime::PluginEngine;
use body::{LoadResult, Place};
use hcl::Body;
use std::path::{Path, PathBuf};

/// A resource as the scheduler sees it.
#[derive(Clone, Debug)]
pub struct ResourceDef {
    pub name: String,
    pub type_name: String,
    /// The `params` block: the plugin's configuration.
    pub params: serde_json::Value,
    /// `check_interval`: `@every 1m` or a cron expression.
    pub check_interval: Option<pikoci_pipeline::CheckInterval>,
    pub cache: Option<bool>,
}

/// A pipeline read and resolved, ready to plan jobs from.
pub struct LoadedPipeline {
    pub name: String,
    pub team: String,
    body: Body,
    ctx: hcl::eval::Context<'static>,
    pub types: TypeTable,
    pub resources: Vec<ResourceDef>,
    pub secrets: Vec<SecretVariable>,
    /// Where inline types keep their `$CACHE_DIR`s.
    pub cache_root: PathBuf,
    /// Each capped job's `concurrency`, read once: the worker asks for every pending build.
    job_concurrency: std::collections::HashMap<String, usize>,
}

/// Names a pipeline after its file when no name is given.
/// (`ci/pipeline.hcl` is named after its directory, `release.hcl` after itself).
pub fn default_name(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if stem == "pipeline" {
        if let Some(dir) = std::path::absolute(path).ok().and_then(|p| p.parent().and_then(|d| d.file_name()).map(|d| d.to_string_lossy().into_owned())) {
            return dir;
        }
    }
    if stem.is_empty() { "pipeline".into() } else { stem }
}

/// A pipeline as it is set: its text, where it came from, its name and team, its variables.
pub struct PipelineSource<'a> {
    /// Where the text came from, for messages: a path, or `pipeline TEAM/NAME`.
    pub file: &'a str,
    pub text: &'a str,
    pub name: &'a str,
    pub team: &'a str,
    pub vars: &'a VarValues,
}

impl LoadedPipeline {
    /// Parse the source's text, evaluate its variables, resolve its types.
    pub async fn load(source: PipelineSource<'_>, engine: &PluginEngine, locator: &PluginLocator, cache_root: &Path) -> Result<LoadedPipeline, String> {
        let PipelineSource { file, text, name, team, vars } = source;
        // The language crate's checks first: every problem at once, with line and column.
        let report = pikoci_pipeline::check_str(Path::new(file), text, vars, &pikoci_pipeline::BuiltinCatalog);
        if !report.is_valid() {
            return Err(pikoci_pipeline::render_human(&report.diagnostics));
        }
        let body: Body = hcl::from_str(text).map_err(|e| format!("{file}: {e}"))?;
        let (ctx, secret_decls) = variables::evaluate(&body, vars).map_err(|e| format!("{file}: {e}"))?;
        let types = TypeTable::resolve(&body, &ctx, engine, locator).await.map_err(|e| format!("{file}: {e}"))?;
        let mut secrets = Vec::new();
        for decl in secret_decls {
            let (plugin, config) = types.secret_type(&decl.secret_type).map_err(|e| format!("{file}: variable \"{}\": {e}", decl.name))?;
            secrets.push(SecretVariable { name: decl.name, secret_type: plugin, config, path: decl.path, key: decl.key });
        }
        let resources = read_resources(&body, &ctx).map_err(|e| format!("{file}: {e}"))?;
        for r in &resources {
            types.resource_type(&r.type_name).map_err(|e| format!("{file}: resource \"{}\": {e}", r.name))?;
        }
        let mut pipeline = LoadedPipeline {
            name: name.to_string(),
            team: team.to_string(),
            body,
            ctx,
            types,
            resources,
            secrets,
            cache_root: cache_root.to_path_buf(),
            job_concurrency: Default::default(),
        };
        pipeline.job_concurrency = pipeline.job_names().into_iter().filter_map(|job| pipeline.read_job_concurrency(&job).map(|n| (job, n))).collect();
        // Plan every job once now, so a mistake in any of them is reported before anything runs.
        for job in pipeline.job_names() {
            pipeline.plan(&job, &JobInputs::default(), 0).map_err(|e| format!("{file}: {e}"))?;
        }
        Ok(pipeline)
    }

    pub fn job_names(&self) -> Vec<String> {
        self.body
            .blocks()
            .filter(|b| b.identifier.as_str() == "job")
            .filter_map(|b| b.labels.first().map(|l| l.as_str().to_string()))
            .collect()
    }

    pub fn resource(&self, name: &str) -> Option<&ResourceDef> {
        self.resources.iter().find(|r| r.name == name)
    }

    /// The plan of `job`, fetching `inputs` where given (other gets check for their latest).
    pub fn plan(&self, job: &str, inputs: &JobInputs, number: u64) -> LoadResult<JobPlan> {
        let block = self
            .body
            .blocks()
            .find(|b| b.identifier.as_str() == "job" && b.labels.first().map(|l| l.as_str()) == Some(job))
            .ok_or_else(|| {
                let names = self.job_names();
                format!("job `{job}` is not defined; the pipeline's jobs are: {}", names.join(", "))
            })?;
        let identity = BuildIdentity { team: self.team.clone(), pipeline: self.name.clone(), job: job.to_string(), number };
        jobs::plan_job(self, block, identity, inputs)
    }

    /// Who checks `resource`, as a scheduler calls it.
    pub fn resource_backend(&self, resource: &str) -> LoadResult<crate::executor::ResourceBackend> {
        let identity = BuildIdentity { team: self.team.clone(), pipeline: self.name.clone(), job: String::new(), number: 0 };
        let inputs = JobInputs::default();
        let planner = jobs::Planner { pipeline: self, inputs: &inputs, build: &identity };
        planner.resource_call(resource, &Place::default()).map(|(backend, _)| backend)
    }

    /// Whether `resource` is of PikoCI's `trigger` type (served by the server's event streams).
    pub fn is_trigger(&self, resource: &str) -> bool {
        self.resource(resource).is_some_and(|r| matches!(self.types.resource_type(&r.type_name), Ok(types::ResourceTypeImpl::Trigger)))
    }

    /// How many builds of `job` may run at once (its `concurrency`; `None`: no cap).
    pub fn job_concurrency(&self, job: &str) -> Option<usize> {
        self.job_concurrency.get(job).copied()
    }

    fn read_job_concurrency(&self, job: &str) -> Option<usize> {
        let block = self.body.blocks().find(|b| b.identifier.as_str() == "job" && b.labels.first().map(|l| l.as_str()) == Some(job))?;
        body::u32_attr(&block.body, &self.ctx, &Place::default(), "concurrency").ok().flatten().filter(|n| *n > 0).map(|n| n as usize)
    }

    /// The get steps of `job`: what triggers it and through which upstream jobs.
    pub fn gets_of(&self, job: &str) -> Vec<GetInput> {
        self.body
            .blocks()
            .find(|b| b.identifier.as_str() == "job" && b.labels.first().map(|l| l.as_str()) == Some(job))
            .map(|b| jobs::gets(self, b))
            .unwrap_or_default()
    }
}

fn read_resources(body: &Body, ctx: &hcl::eval::Context) -> LoadResult<Vec<ResourceDef>> {
    let mut out: Vec<ResourceDef> = Vec::new();
    for block in body.blocks().filter(|b| b.identifier.as_str() == "resource") {
        let place = Place::default().child(block);
        let [type_name, name] = block.labels.as_slice() else {
            return Err(format!("{place}: a resource has two labels: resource \"TYPE\" \"NAME\""));
        };
        let name = name.as_str().to_string();
        if out.iter().any(|r| r.name == name) {
            return Err(format!("{place}: resource `{name}` is defined twice"));
        }
        let params = match body::block(&block.body, "params") {
            Some(p) => serde_json::Value::Object(body::attributes(&p.body, ctx, &place.child(p), &[])?),
            None => serde_json::json!({}),
        };
        let check_interval = match body::string_attr(&block.body, ctx, &place, "check_interval")? {
            Some(text) => Some(pikoci_pipeline::schedule::parse_check_interval(&text).map_err(|e| format!("{place}: check_interval: {e}"))?),
            None => None,
        };
        out.push(ResourceDef {
            name,
            type_name: type_name.as_str().to_string(),
            params,
            check_interval,
            cache: body::bool_attr(&block.body, ctx, &place, "cache")?,
        });
    }
    Ok(out)
}
