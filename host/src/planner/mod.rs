//! From a pipeline to the plans the executor runs.
//!
//! The language crate (`host/pipeline`) reads the file into a typed [`pikoci_pipeline::Pipeline`]
//! with every problem reported at once; [`compile`] binds it to plugins once per pipeline
//! version, giving a [`CompiledPipeline`] (plain data, stored with that version); a build's plan
//! is that pipeline's job templates with the versions chosen for it ([`CompiledPipeline::plan`]).

pub mod compile;
pub mod compiled;

pub use compile::{CompileError, Compiler, Fetch};
pub use compiled::{CompiledJob, CompiledPipeline, CompiledResource, GetInput, JobInputs};
pub use pikoci_pipeline::VarValues;

use pikoci_pipeline::{Diagnostic, SourceFile};
use std::path::Path;

/// Names a pipeline after its file when no name is given.
/// (`ci/pipeline.hcl` is named after its directory, `release.hcl` after itself).
pub fn default_name(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if stem == "pipeline" {
        if let Some(dir) = std::path::absolute(path).ok().and_then(|p| p.parent().and_then(|d| d.file_name()).map(|d| d.to_string_lossy().into_owned())) {
            return dir;
        }
    }
    if stem.is_empty() {
        "pipeline".into()
    } else {
        stem
    }
}

/// A pipeline as it is set: its text, where it came from, its name and team, its variables.
pub struct PipelineSource<'a> {
    /// Where the text came from, for messages: a path, or `pipeline TEAM/NAME`. Relative plugin
    /// paths are taken from its directory.
    pub file: &'a str,
    pub text: &'a str,
    pub name: &'a str,
    pub team: &'a str,
    pub vars: &'a VarValues,
}

/// Check `source` with the language's checks, then compile it: every problem of either, with
/// its place, or the compiled pipeline. The one way a pipeline is loaded, by `validate`, `run`
/// and the server alike.
pub async fn check(source: PipelineSource<'_>, compiler: &Compiler<'_>) -> Result<CompiledPipeline, Vec<Diagnostic>> {
    let PipelineSource { file, text, name, team, vars } = source;
    let catalog = pikoci_pipeline::BuiltinCatalog;
    let typed = pikoci_pipeline::check_str(Path::new(file), text, vars, &catalog).into_result()?;
    compiler.compile(&typed, name, team).await.map_err(|e| {
        let src = SourceFile::new(file, text);
        vec![src.error(e.span, e.message)]
    })
}

/// [`check`], its problems rendered for a terminal or an API error.
pub async fn load(source: PipelineSource<'_>, compiler: &Compiler<'_>) -> Result<CompiledPipeline, String> {
    check(source, compiler).await.map_err(|d| pikoci_pipeline::render_human(&d))
}
