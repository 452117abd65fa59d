//! Variables: their values from `--var`, a vars file, a secret or a default, and evaluating
//! expressions (`var.N`, `"${var.N}"`, PikoCI's functions) against them.

use crate::diagnostic::{file_problem, Diagnostic, Span};
use hcl::edit::expr::{Expression, TraversalOperator};
use hcl::edit::visit::{self, Visit};
use hcl::edit::Span as _;
use hcl::eval::{Context, Evaluate};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What a secret-backed variable evaluates to while loading; the executor swaps in the secret
/// when a step runs, so secrets are never part of the stored pipeline. The same text the host's
/// executor looks for.
pub fn secret_placeholder(name: &str) -> String {
    format!("((pikoci-secret:{name}))")
}

/// Variable values given from outside the pipeline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VarValues {
    values: BTreeMap<String, serde_json::Value>,
}

impl VarValues {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, name: impl Into<String>, value: serde_json::Value) {
        self.values.insert(name.into(), value);
    }

    pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.values.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// `--vars FILE.json` (an object of name → value), then each `--var NAME=VALUE` over it.
    /// The error is a diagnostic so the CLI reports it like any other problem.
    #[allow(clippy::result_large_err)]
    pub fn from_cli<S: AsRef<str>>(pairs: &[S], vars_file: Option<&Path>) -> Result<Self, Diagnostic> {
        let mut vars = VarValues::new();
        if let Some(path) = vars_file {
            let text = std::fs::read_to_string(path).map_err(|e| file_problem(path, format!("cannot read the vars file: {e}")))?;
            let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).map_err(|e| {
                let mut d = file_problem(path, format!("the vars file is not a JSON object of variable values: {e}"));
                d.line = e.line().max(1);
                d.column = e.column().max(1);
                d.expected("{\"NAME\": VALUE, ...}")
            })?;
            vars.values.extend(object);
        }
        for pair in pairs {
            let pair = pair.as_ref();
            match pair.split_once('=') {
                Some((name, value)) if !name.is_empty() => vars.insert(name, serde_json::Value::String(value.to_string())),
                _ => return Err(file_problem(Path::new("--var"), format!("`{pair}` is not NAME=VALUE")).expected("--var NAME=VALUE")),
            }
        }
        Ok(vars)
    }
}

/// A `var.NAME` written in an expression.
#[derive(Clone, Debug)]
pub struct VarUse {
    pub name: String,
    pub span: Span,
}

/// Every `var.NAME` in `expr`, templates included.
pub fn var_uses(expr: &Expression) -> Vec<VarUse> {
    struct Finder(Vec<VarUse>);
    impl Visit for Finder {
        fn visit_traversal(&mut self, node: &hcl::edit::expr::Traversal) {
            if let Expression::Variable(root) = &node.expr {
                if root.as_str() == "var" {
                    if let Some(TraversalOperator::GetAttr(name)) = node.operators.first().map(|o| o.value()) {
                        let span = name.span().or_else(|| node.span()).map(Span::from).unwrap_or_default();
                        self.0.push(VarUse { name: name.as_str().to_string(), span });
                    }
                }
            }
            visit::visit_traversal(self, node);
        }
    }
    let mut finder = Finder(Vec::new());
    finder.visit_expr(expr);
    finder.0
}

/// Names interpolated bare in a template (`"${BUILD_NUMBER}"`), which are not pipeline variables:
/// PikoCI leaves them to the shell, whose variables they are.
fn shell_names(expr: &Expression) -> BTreeSet<String> {
    struct Finder(BTreeSet<String>);
    impl Visit for Finder {
        fn visit_interpolation(&mut self, node: &hcl::edit::template::Interpolation) {
            if let Expression::Variable(name) = &node.expr {
                if name.as_str() != "var" {
                    self.0.insert(name.as_str().to_string());
                }
            }
            visit::visit_interpolation(self, node);
        }
    }
    let mut finder = Finder(BTreeSet::new());
    finder.visit_expr(expr);
    finder.0
}

/// Why an expression has no value.
pub enum EvalError {
    /// `var.NAME` of undeclared variables.
    Undeclared(Vec<VarUse>),
    Other(String),
}

/// The variables in scope, ready to evaluate expressions.
pub struct Scope {
    ctx: Context<'static>,
    declared: BTreeSet<String>,
}

impl Scope {
    /// Declared variables and their values (missing ones hold an empty string, so one missing
    /// value is reported once, at its declaration, and not again at every use).
    pub fn new(values: BTreeMap<String, hcl::Value>) -> Self {
        let mut ctx = Context::new();
        crate::functions::declare_all(&mut ctx);
        let declared = values.keys().cloned().collect();
        ctx.declare_var("var", hcl::Value::Object(values.into_iter().collect()));
        Scope { ctx, declared }
    }

    /// This scope with `each` (a job instance's `each.key` and `each.value`).
    pub fn with_each(&self, each: hcl::Value) -> Scope {
        let mut ctx = self.ctx.clone();
        ctx.declare_var("each", each);
        Scope { ctx, declared: self.declared.clone() }
    }

    pub fn declared(&self) -> impl Iterator<Item = &str> {
        self.declared.iter().map(String::as_str)
    }

    pub fn evaluate(&self, expr: &Expression) -> Result<hcl::Value, EvalError> {
        let undeclared: Vec<VarUse> = var_uses(expr).into_iter().filter(|u| !self.declared.contains(&u.name)).collect();
        if !undeclared.is_empty() {
            return Err(EvalError::Undeclared(undeclared));
        }
        let shell = shell_names(expr);
        let expr: hcl::Expression = expr.clone().into();
        let result = if shell.is_empty() {
            expr.evaluate(&self.ctx)
        } else {
            let mut ctx = self.ctx.clone();
            for name in shell {
                ctx.declare_var(name.clone(), hcl::Value::String(format!("${{{name}}}")));
            }
            expr.evaluate(&ctx)
        };
        result.map_err(|e| EvalError::Other(eval_message(&e)))
    }
}

/// hcl-rs words a function's error "error calling function `f`: MESSAGE in expression `...`";
/// the library's messages begin with the function's name already (`lookup: key "x" is not in
/// the map ...`), and the expression is the whole attribute's, which the diagnostic shows.
fn eval_message(e: &hcl::eval::Error) -> String {
    match e.kind() {
        hcl::eval::ErrorKind::FuncCall(name, message) if message.starts_with(&format!("{name}: ")) => message.clone(),
        hcl::eval::ErrorKind::FuncCall(name, message) => format!("{name}: {message}"),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(text: &str) -> Expression {
        text.parse().unwrap()
    }

    #[test]
    fn finds_var_uses_in_templates() {
        let uses = var_uses(&expr(r#""cd ${var.repo} && ${var.cmd}""#));
        assert_eq!(uses.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["repo", "cmd"]);
    }

    #[test]
    fn evaluates_functions_and_vars() {
        let scope = Scope::new([("a".to_string(), hcl::Value::from("x"))].into_iter().collect());
        let v = scope.evaluate(&expr(r#"concat(["-e", var.a], ["b"])"#)).ok().unwrap();
        assert_eq!(v, hcl::Value::Array(vec!["-e".into(), "x".into(), "b".into()]));
        assert!(matches!(scope.evaluate(&expr("var.b")), Err(EvalError::Undeclared(_))));
        let shell = scope.evaluate(&expr(r#""pg-${BUILD_NUMBER}-${var.a}""#)).ok().unwrap();
        assert_eq!(shell, hcl::Value::from("pg-${BUILD_NUMBER}-x"));
    }

    #[test]
    fn function_errors_name_the_function_once() {
        let scope = Scope::new(BTreeMap::new());
        let Err(EvalError::Other(message)) = scope.evaluate(&expr(r#"upper(lookup({ a = 1 }, "x"))"#)) else { panic!("no error") };
        assert_eq!(message, r#"lookup: key "x" is not in the map and no default was given"#);
        let Err(EvalError::Other(message)) = scope.evaluate(&expr("chomp()")) else { panic!("no error") };
        assert_eq!(message, "chomp: expected 1 positional arguments, got 0");
    }

    #[test]
    fn cli_values() {
        let v = VarValues::from_cli(&["a=1", "b=x=y"], None).unwrap();
        assert_eq!(v.get("b"), Some(&serde_json::json!("x=y")));
        assert!(VarValues::from_cli(&["novalue"], None).is_err());
    }
}
