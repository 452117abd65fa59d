//! Problems found in a pipeline, with where they are and how to fix them, rendered for people
//! (like rustc) or as JSON for editors and pre-commit hooks.

use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A byte range in the pipeline file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end: end.max(start) }
    }
}

impl From<std::ops::Range<usize>> for Span {
    fn from(r: std::ops::Range<usize>) -> Self {
        Span::new(r.start, r.end)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem. `line` and `column` are one-based; `column` counts characters, not bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub severity: Severity,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// The source line, so the human form can show it without reading the file again.
    #[serde(skip)]
    pub source_line: Option<String>,
    /// How many characters to underline from `column`.
    #[serde(skip)]
    pub width: usize,
}

impl Diagnostic {
    pub fn expected(mut self, what: impl Into<String>) -> Self {
        self.expected = Some(what.into());
        self
    }

    pub fn suggestion(mut self, what: impl Into<String>) -> Self {
        self.suggestion = Some(what.into());
        self
    }

    /// A `did you mean` suggestion, when there is a close name.
    pub fn did_you_mean(self, name: Option<&str>) -> Self {
        match name {
            Some(n) => self.suggestion(format!("did you mean `{n}`?")),
            None => self,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:column: severity: message; suggestion (expected ...)`, one line, as the golden
    /// tests compare it.
    pub fn short(&self) -> String {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut s = format!("{}:{}:{}: {severity}: {}", self.file.display(), self.line, self.column, self.message);
        if let Some(h) = &self.suggestion {
            let _ = write!(s, "; {h}");
        }
        if let Some(e) = &self.expected {
            let _ = write!(s, " (expected {e})");
        }
        s
    }
}

/// The text of a pipeline file, to turn byte offsets into lines and columns.
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        SourceFile { path: path.into(), text, line_starts }
    }

    /// One-based line and character column of a byte offset (clamped to the text).
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let column = self.text.get(start..offset).map_or(offset - start, |s| s.chars().count()) + 1;
        (line, column)
    }

    fn line_text(&self, line: usize) -> Option<&str> {
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let end = self.line_starts.get(line).map_or(self.text.len(), |e| e - 1);
        self.text.get(start..end).map(|l| l.trim_end_matches('\r'))
    }

    pub fn diagnostic(&self, severity: Severity, span: Span, message: impl Into<String>) -> Diagnostic {
        let (line, column) = self.position(span.start);
        let source_line = self.line_text(line).map(str::to_string);
        let width = match (&source_line, self.text.get(span.start..span.end)) {
            (Some(l), Some(covered)) => {
                let rest = l.chars().count().saturating_sub(column - 1);
                covered.lines().next().map_or(1, |first| first.chars().count()).clamp(1, rest.max(1))
            }
            _ => 1,
        };
        Diagnostic { file: self.path.clone(), line, column, severity, message: message.into(), expected: None, suggestion: None, source_line, width }
    }

    pub fn error(&self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.diagnostic(Severity::Error, span, message)
    }

    pub fn warning(&self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.diagnostic(Severity::Warning, span, message)
    }
}

/// A problem that is about the files given rather than a place in one (a vars file, `--var`).
pub fn file_problem(file: &Path, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        file: file.to_path_buf(),
        line: 1,
        column: 1,
        severity: Severity::Error,
        message: message.into(),
        expected: None,
        suggestion: None,
        source_line: None,
        width: 1,
    }
}

/// The report for a terminal, in the style of rustc, ending with a count.
pub fn render_human(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let label = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let gutter = " ".repeat(d.line.to_string().len());
        let _ = writeln!(out, "{label}: {}", d.message);
        let _ = writeln!(out, "{gutter}--> {}:{}:{}", d.file.display(), d.line, d.column);
        if let Some(src) = &d.source_line {
            let _ = writeln!(out, "{gutter} |");
            let _ = writeln!(out, "{} | {}", d.line, src.replace('\t', " "));
            let _ = writeln!(out, "{gutter} | {}{}", " ".repeat(d.column - 1), "^".repeat(d.width.max(1)));
        }
        if let Some(e) = &d.expected {
            let _ = writeln!(out, "{gutter} = expected: {e}");
        }
        if let Some(h) = &d.suggestion {
            let _ = writeln!(out, "{gutter} = help: {h}");
        }
        out.push('\n');
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let plural = |n: usize, w: &str| if n == 1 { format!("1 {w}") } else { format!("{n} {w}s") };
    if errors == 0 {
        let _ = writeln!(out, "pipeline is valid ({})", plural(warnings, "warning"));
    } else {
        let _ = writeln!(out, "pipeline is invalid: {}, {}", plural(errors, "error"), plural(warnings, "warning"));
    }
    out
}

/// The report for tools: `{"valid": bool, "diagnostics": [...]}`.
pub fn render_json(diagnostics: &[Diagnostic]) -> String {
    let valid = !diagnostics.iter().any(Diagnostic::is_error);
    serde_json::json!({ "valid": valid, "diagnostics": diagnostics }).to_string()
}
