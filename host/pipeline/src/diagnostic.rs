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
    /// The part of the source line around the problem, so the human form can show it without
    /// reading the file again.
    #[serde(skip)]
    pub excerpt: Option<Excerpt>,
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

/// Longest excerpt of a source line shown under a diagnostic, in bytes of the line. Bounded so
/// that many problems on one long line cost memory in proportion to their number, not to their
/// number times the line.
const EXCERPT_BYTES: usize = 160;

/// How much of the line before the problem an excerpt keeps, in bytes.
const EXCERPT_LEAD_BYTES: usize = 48;

/// A bounded slice of one source line, with where the problem is in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Excerpt {
    /// The slice, with `…` where the line goes on.
    pub text: String,
    /// One-based character column of the problem in `text`.
    pub column: usize,
    /// How many characters to underline from `column`.
    pub width: usize,
}

impl Excerpt {
    /// The excerpt of `line` for a problem `at` bytes into it, covering `covered` bytes.
    fn of(line: &str, at: usize, covered: usize) -> Excerpt {
        let at = line.floor_char_boundary(at.min(line.len()));
        let start = line.floor_char_boundary(at.saturating_sub(EXCERPT_LEAD_BYTES));
        let end = line.floor_char_boundary((start + EXCERPT_BYTES).min(line.len()));
        let lead = if start > 0 { "…" } else { "" };
        let tail = if end < line.len() { "…" } else { "" };
        let text = format!("{lead}{}{tail}", line[start..end].replace('\t', " "));
        let column = lead.chars().count() + line[start..at].chars().count() + 1;
        let after = line[at..end].chars().count();
        let width = line[at..line.ceil_char_boundary((at + covered).min(end))].chars().count().clamp(1, after.max(1));
        Excerpt { text, column, width }
    }
}

/// The text of a pipeline file, to turn byte offsets into lines and columns.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
    /// Columns are then byte distances, found without counting characters.
    ascii: bool,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        let ascii = text.is_ascii();
        SourceFile { path: path.into(), text, line_starts, ascii }
    }

    /// One-based line and character column of a byte offset (clamped to the text).
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let column = match self.text.get(start..offset) {
            Some(before) if !self.ascii => before.chars().count(),
            _ => offset - start,
        } + 1;
        (line, column)
    }

    fn line_start(&self, line: usize) -> Option<usize> {
        self.line_starts.get(line.checked_sub(1)?).copied()
    }

    fn line_text(&self, line: usize) -> Option<&str> {
        let start = self.line_start(line)?;
        let end = self.line_starts.get(line).map_or(self.text.len(), |e| e - 1);
        self.text.get(start..end).map(|l| l.trim_end_matches('\r'))
    }

    pub fn diagnostic(&self, severity: Severity, span: Span, message: impl Into<String>) -> Diagnostic {
        let (line, column) = self.position(span.start);
        let excerpt = self.line_start(line).zip(self.line_text(line)).map(|(start, text)| {
            let at = span.start.saturating_sub(start);
            // An underline stops at the end of the problem's first line.
            let covered = self.text.get(span.start..span.end).and_then(|c| c.lines().next()).map_or(1, str::len);
            Excerpt::of(text, at, covered)
        });
        Diagnostic { file: self.path.clone(), line, column, severity, message: message.into(), expected: None, suggestion: None, excerpt }
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
        excerpt: None,
    }
}

/// Most diagnostics a report shows; the count at its end still covers them all. A file with
/// thousands of problems is better fixed from its first ones, and the report stays small.
pub const MAX_SHOWN: usize = 100;

/// The report for a terminal, in the style of rustc, ending with a count.
pub fn render_human(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics.iter().take(MAX_SHOWN) {
        let label = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let gutter = " ".repeat(d.line.to_string().len());
        let _ = writeln!(out, "{label}: {}", d.message);
        let _ = writeln!(out, "{gutter}--> {}:{}:{}", d.file.display(), d.line, d.column);
        if let Some(excerpt) = &d.excerpt {
            let _ = writeln!(out, "{gutter} |");
            let _ = writeln!(out, "{} | {}", d.line, excerpt.text);
            let _ = writeln!(out, "{gutter} | {}{}", " ".repeat(excerpt.column - 1), "^".repeat(excerpt.width));
        }
        if let Some(e) = &d.expected {
            let _ = writeln!(out, "{gutter} = expected: {e}");
        }
        if let Some(h) = &d.suggestion {
            let _ = writeln!(out, "{gutter} = help: {h}");
        }
        out.push('\n');
    }
    if let Some(hidden) = diagnostics.len().checked_sub(MAX_SHOWN).filter(|&n| n > 0) {
        let _ = writeln!(out, "... and {hidden} more not shown\n");
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

/// The report for tools: `{"valid": bool, "diagnostics": [...], "not_shown": N}`, the first
/// [`MAX_SHOWN`] diagnostics and how many more there are.
pub fn render_json(diagnostics: &[Diagnostic]) -> String {
    let valid = !diagnostics.iter().any(Diagnostic::is_error);
    let shown = &diagnostics[..diagnostics.len().min(MAX_SHOWN)];
    serde_json::json!({ "valid": valid, "diagnostics": shown, "not_shown": diagnostics.len() - shown.len() }).to_string()
}
