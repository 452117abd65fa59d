//! Reading a pipeline file: syntax, then the typed model, then whole-pipeline checks, with every
//! problem of every stage reported together.

use crate::catalog::PluginCatalog;
use crate::decode::Decoder;
use crate::diagnostic::{file_problem, Diagnostic, SourceFile, Span};
use crate::interpolate::VarValues;
use crate::model::Pipeline;
use crate::validate::validate;
use std::path::Path;

/// Everything found about one pipeline file.
#[derive(Debug)]
pub struct Report {
    /// The pipeline as read; `None` when its syntax could not be read at all. Present (as far as
    /// it could be read) even when there are errors, so tools can still show it.
    pub pipeline: Option<Pipeline>,
    /// Errors and warnings in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        !self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The pipeline when there is no error; otherwise every diagnostic.
    pub fn into_result(self) -> Result<Pipeline, Vec<Diagnostic>> {
        match self.pipeline {
            Some(p) if !self.diagnostics.iter().any(Diagnostic::is_error) => Ok(p),
            _ => Err(self.diagnostics),
        }
    }
}

/// Check the pipeline text `text`, named `file` in messages. Relative plugin paths are taken from
/// `file`'s directory.
pub fn check_str(file: &Path, text: &str, vars: &VarValues, catalog: &dyn PluginCatalog) -> Report {
    let src = SourceFile::new(file, text);
    let body = match hcl::edit::parser::parse_body(text) {
        Ok(body) => body,
        Err(e) => {
            let offset = e.location().offset();
            let d = src
                .error(Span::new(offset, offset + 1), format!("syntax error: {}", e.message().trim()))
                .expected("HCL: `name = value` attributes and `keyword \"label\" { ... }` blocks");
            return Report { pipeline: None, diagnostics: vec![d] };
        }
    };
    let base_dir = file.parent().unwrap_or(Path::new(""));
    let (mut decoder, variables) = Decoder::new(&src, base_dir, &body, vars);
    let pipeline = decoder.pipeline(&body, variables);
    let decoder_broken = decoder.broken_types;
    let mut diagnostics = decoder.problems;
    diagnostics.extend(validate(&pipeline, &decoder_broken, &src, catalog));
    diagnostics.sort_by_key(|d| (d.line, d.column));
    diagnostics.dedup();
    Report { pipeline: Some(pipeline), diagnostics }
}

/// Check the pipeline file at `path`.
pub fn check_file(path: &Path, vars: &VarValues, catalog: &dyn PluginCatalog) -> Report {
    match std::fs::read_to_string(path) {
        Ok(text) => check_str(path, &text, vars, catalog),
        Err(e) => Report { pipeline: None, diagnostics: vec![file_problem(path, format!("cannot read the pipeline: {e}"))] },
    }
}

/// The pipeline at `path` when it is valid, else every problem in it.
pub fn load_pipeline(path: &Path, vars: &VarValues, catalog: &dyn PluginCatalog) -> Result<Pipeline, Vec<Diagnostic>> {
    check_file(path, vars, catalog).into_result()
}
