//! From the HCL syntax tree to the typed [`Pipeline`], reporting every block, attribute and value
//! that does not fit instead of stopping at the first.
//!
//! Names that refer to other parts of the pipeline are only recorded here; whether they exist is
//! [`validate`](crate::validate)'s job, once everything has been read.

use crate::builtins;
use crate::catalog::PluginKind;
use crate::diagnostic::{Diagnostic, SourceFile, Span};
use crate::instances;
use crate::interpolate::{secret_placeholder, EvalError, Scope, VarValues};
use crate::model::*;
use crate::plugin_source::{parse_source, DigestAttr};
use crate::schedule::{parse_check_interval, parse_duration, DURATION_FORM};
use crate::suggest::closest;
use hcl::edit::expr::{Expression, ObjectKey};
use hcl::edit::structure::{Attribute, Block, Body, Structure};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const TOP_LEVEL: &[&str] = &["variable", "resource_type", "runner_type", "service_type", "secret_type", "notification_type", "notification", "resource", "job"];
const STEPS: &[&str] = &["get", "task", "put", "service", "in_parallel", "notify", "if", "else_if", "else"];
const HOOKS: &[&str] = &HookEvent::KEYWORDS;
const COMMON_STEP_ATTRS: &[&str] = &["timeout", "attempts", "secrets"];

/// What an attribute a block does not know is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extra {
    /// A parameter of its plugin or command (`run "docker" { image = ... }`): anything goes.
    Free,
    /// A mistake when it looks like a misspelt known one; otherwise ignored with a warning, so a
    /// pipeline written for a newer PikoCI still loads.
    Ignored,
    /// Always a mistake: pikoci's own blocks whose meaning is a grant (`allow`).
    Refused,
}

fn span_of(node: &impl hcl::edit::Span) -> Span {
    node.span().map(Span::from).unwrap_or_default()
}

/// Where to point for a block as a whole: its keyword and labels, not its whole body.
fn head_span(block: &Block) -> Span {
    let start = span_of(&block.ident);
    let end = block.labels.last().map_or(start, span_of);
    Span::new(start.start, end.end)
}

fn attr<'b>(body: &'b Body, key: &str) -> Option<&'b Attribute> {
    body.get_attribute(key)
}

/// What kind of value an attribute needs, for messages.
fn describe(value: &hcl::Value) -> &'static str {
    match value {
        hcl::Value::Null => "null",
        hcl::Value::Bool(_) => "a bool",
        hcl::Value::Number(_) => "a number",
        hcl::Value::String(_) => "a string",
        hcl::Value::Array(_) => "a list",
        hcl::Value::Object(_) => "an object",
    }
}

pub struct Decoder {
    /// The file being read: the pipeline's, or a PikoCI definition file it names as a `source`.
    src: Arc<SourceFile>,
    base_dir: PathBuf,
    scope: Scope,
    pub problems: Vec<Diagnostic>,
    /// Types declared with errors in them: already reported, so their uses are not reported
    /// again as undefined.
    pub broken_types: Vec<(PluginKind, String)>,
}

impl Decoder {
    /// Read the variables first: every other block may use them.
    pub fn new(src: &SourceFile, base_dir: &Path, body: &Body, given: &VarValues) -> (Self, Vec<Variable>) {
        let (src, base_dir) = (Arc::new(src.clone()), base_dir.to_path_buf());
        let mut decoder = Decoder { src, base_dir, scope: Scope::new(BTreeMap::new()), problems: Vec::new(), broken_types: Vec::new() };
        let blocks: Vec<&Block> = body.blocks().filter(|b| b.ident.as_str() == "variable").collect();
        let mut variables: Vec<(Variable, Option<&Block>)> = blocks.into_iter().filter_map(|b| decoder.variable(b, given)).collect();
        let mut values = BTreeMap::new();
        for (v, _) in &variables {
            let value = match &v.value {
                VariableValue::Given(j) | VariableValue::Default(j) => hcl::to_value(j).unwrap_or(hcl::Value::Null),
                VariableValue::Secret | VariableValue::GivenSecret(_) => hcl::Value::String(secret_placeholder(&v.name.text)),
                VariableValue::Missing => hcl::Value::String(String::new()),
            };
            values.insert(v.name.text.clone(), value);
        }
        decoder.scope = Scope::new(values);
        // A secret's path and key may use other variables (PikoCI's secret chaining): read them
        // once every variable has its value or placeholder.
        for (v, secret) in &mut variables {
            if let Some(block) = secret {
                v.secret = decoder.secret_ref(block);
            }
        }
        let variables: Vec<Variable> = variables.into_iter().map(|(v, _)| v).collect();
        for name in given.names() {
            if !variables.iter().any(|v| v.name.text == name) {
                let d = decoder.src.warning(Span::default(), format!("a value was given for `{name}`, which the pipeline does not declare"));
                let hint = closest(name, variables.iter().map(|v| v.name.as_str()));
                decoder.problems.push(d.did_you_mean(hint));
            }
        }
        (decoder, variables)
    }

    fn error(&mut self, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.problems.push(self.src.error(span, message));
        self.problems.last_mut().expect("just pushed")
    }

    fn push(&mut self, d: Diagnostic) {
        self.problems.push(d);
    }

    // -----------------------------------------------------------------------------------------
    // Shape: labels, known attributes and blocks

    /// The block's labels, when it has exactly as many as `names` (e.g. `["TYPE", "NAME"]`).
    fn labels(&mut self, block: &Block, names: &[&str]) -> Option<Vec<Name>> {
        if block.labels.len() == names.len() {
            return Some(block.labels.iter().map(|l| Name { text: l.to_string(), span: span_of(l) }).collect());
        }
        let keyword = block.ident.as_str();
        let form = std::iter::once(keyword.to_string()).chain(names.iter().map(|n| format!("\"{n}\""))).collect::<Vec<_>>().join(" ");
        let count = |n: usize| match n {
            0 => "no labels".to_string(),
            1 => "1 label".to_string(),
            n => format!("{n} labels"),
        };
        let message = format!("`{keyword}` takes {}, not {}", count(names.len()), block.labels.len());
        self.error(head_span(block), message).expected = Some(format!("{form} {{ ... }}"));
        None
    }

    /// Reports attributes and blocks that are not in the lists (unless `free_attrs`), and
    /// attributes written twice.
    fn check_fields(&mut self, body: &Body, context: &str, attrs: &[&str], blocks: &[&str], extra: Extra) {
        let mut seen: BTreeMap<String, Span> = BTreeMap::new();
        for s in body.iter() {
            match s {
                Structure::Attribute(a) => {
                    let key = a.key.as_str();
                    let span = span_of(&a.key);
                    if seen.insert(key.to_string(), span).is_some() {
                        self.error(span, format!("`{key}` is set twice in {context}")).expected = Some("each attribute once".into());
                    } else if extra != Extra::Free && !attrs.contains(&key) {
                        let hint = closest(key, attrs.iter().chain(blocks).copied());
                        let d = match (hint, extra) {
                            (None, Extra::Ignored) => {
                                self.src.warning(span, format!("unknown attribute `{key}` in {context} is ignored")).expected(one_of(attrs))
                            }
                            _ => self.src.error(span, format!("unknown attribute `{key}` in {context}")).expected(one_of(attrs)).did_you_mean(hint),
                        };
                        self.push(d);
                    }
                }
                Structure::Block(b) => {
                    let key = b.ident.as_str();
                    if !blocks.contains(&key) {
                        let hint = closest(key, blocks.iter().chain(attrs).copied());
                        let span = span_of(&b.ident);
                        let d = if attrs.contains(&key) {
                            self.src.error(span, format!("`{key}` is an attribute in {context}, not a block")).expected(format!("{key} = ..."))
                        } else {
                            self.src.error(span, format!("unknown block `{key}` in {context}")).expected(one_of(blocks)).did_you_mean(hint)
                        };
                        self.push(d);
                    }
                }
            }
        }
    }

    /// Reports a second block of a kind that may appear once.
    fn single_block<'b>(&mut self, body: &'b Body, key: &str, context: &str) -> Option<&'b Block> {
        let mut blocks = body.blocks().filter(|b| b.ident.as_str() == key);
        let first = blocks.next();
        for extra in blocks {
            self.error(span_of(&extra.ident), format!("a second `{key}` block in {context}")).expected = Some(format!("one `{key}` block"));
        }
        first
    }

    // -----------------------------------------------------------------------------------------
    // Values

    fn eval(&mut self, expr: &Expression) -> Option<hcl::Value> {
        match self.scope.evaluate(expr) {
            Ok(v) => Some(v),
            Err(EvalError::Undeclared(uses)) => {
                for u in uses {
                    let hint = closest(&u.name, self.scope.declared());
                    let d = self
                        .src
                        .error(u.span, format!("variable `{}` is not declared", u.name))
                        .expected(format!("a `variable \"{}\" {{ type = string }}` block", u.name))
                        .did_you_mean(hint.map(|h| format!("var.{h}")).as_deref());
                    self.push(d);
                }
                None
            }
            Err(EvalError::Other(message)) => {
                self.error(span_of(expr), format!("cannot evaluate this expression: {message}"));
                None
            }
        }
    }

    fn wrong_type(&mut self, a: &Attribute, got: &hcl::Value, wanted: &str) {
        let key = a.key.as_str();
        let d = self.src.error(span_of(&a.value), format!("`{key}` must be {wanted}, not {}", describe(got))).expected(wanted.to_string());
        self.push(d);
    }

    fn string(&mut self, body: &Body, key: &str) -> Option<String> {
        let a = attr(body, key)?;
        match self.eval(&a.value)? {
            hcl::Value::String(s) => Some(s),
            // Numbers and bools read as strings, as in PikoCI, where every param is a string.
            v @ (hcl::Value::Number(_) | hcl::Value::Bool(_)) => Some(v.to_string()),
            other => {
                self.wrong_type(a, &other, "a string");
                None
            }
        }
    }

    fn bool(&mut self, body: &Body, key: &str) -> Option<bool> {
        let a = attr(body, key)?;
        match self.eval(&a.value)? {
            hcl::Value::Bool(b) => Some(b),
            hcl::Value::String(s) if s == "true" || s == "false" => Some(s == "true"),
            other => {
                self.wrong_type(a, &other, "a bool (true or false)");
                None
            }
        }
    }

    /// A whole number of at least `min`.
    fn count(&mut self, body: &Body, key: &str, min: u64) -> Option<u32> {
        let a = attr(body, key)?;
        let value = self.eval(&a.value)?;
        let n = match &value {
            hcl::Value::Number(n) => n.as_u64(),
            hcl::Value::String(s) => s.parse::<u64>().ok(),
            _ => None,
        };
        match n.filter(|n| *n >= min).and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Some(n),
            None => {
                let wanted = format!("a whole number from {min}");
                let d = self.src.error(span_of(&a.value), format!("`{key}` must be {wanted}, not `{value}`")).expected(wanted);
                self.push(d);
                None
            }
        }
    }

    fn strings(&mut self, body: &Body, key: &str) -> Option<Vec<String>> {
        let a = attr(body, key)?;
        match self.eval(&a.value)? {
            hcl::Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        hcl::Value::String(s) => out.push(s),
                        other => {
                            self.wrong_type(a, &other, "a list of strings");
                            return None;
                        }
                    }
                }
                Some(out)
            }
            other => {
                self.wrong_type(a, &other, "a list of strings");
                None
            }
        }
    }

    fn duration(&mut self, body: &Body, key: &str) -> Option<std::time::Duration> {
        let a = attr(body, key)?;
        let text = self.string(body, key)?;
        match parse_duration(&text) {
            Ok(d) if !d.is_zero() => Some(d),
            Ok(_) => {
                self.error(span_of(&a.value), format!("`{key}` must be longer than zero")).expected = Some(DURATION_FORM.into());
                None
            }
            Err(e) => {
                self.error(span_of(&a.value), e).expected = Some(DURATION_FORM.into());
                None
            }
        }
    }

    fn json(&mut self, expr: &Expression) -> Option<serde_json::Value> {
        let value = self.eval(expr)?;
        serde_json::to_value(value).ok()
    }

    /// Every attribute of `body` as a param.
    fn params_of_attrs(&mut self, body: &Body, except: &[&str]) -> Params {
        let mut params = Params::new();
        for a in body.attributes().filter(|a| !except.contains(&a.key.as_str())) {
            if let Some(v) = self.json(&a.value) {
                params.insert(a.key.to_string(), v);
            }
        }
        params
    }

    /// `params { k = v }`, or `params = { k = v }` as a Concourse user may write it.
    fn params(&mut self, body: &Body, context: &str) -> Params {
        let mut params = Params::new();
        if let Some(block) = self.single_block(body, "params", context) {
            if self.labels(block, &[]).is_some() {
                let nested: Vec<&Block> = block.body.blocks().collect();
                for b in nested {
                    self.error(span_of(&b.ident), format!("`params` holds attributes, not a `{}` block", b.ident.as_str())).expected =
                        Some(format!("{} = {{ ... }}", b.ident.as_str()));
                }
                params = self.params_of_attrs(&block.body, &[]);
            }
        }
        if let Some(a) = attr(body, "params") {
            match self.eval(&a.value) {
                Some(hcl::Value::Object(map)) => {
                    for (k, v) in map {
                        params.insert(k, serde_json::to_value(v).unwrap_or_default());
                    }
                }
                Some(other) => self.wrong_type(a, &other, "an object of params"),
                None => {}
            }
        }
        params
    }

    /// An object attribute whose keys are names (e.g. `secrets = { vault = "path" }`), with the
    /// span of each key.
    fn named_strings(&mut self, body: &Body, key: &str) -> Vec<(Name, String)> {
        let Some(a) = attr(body, key) else { return Vec::new() };
        let Expression::Object(object) = &a.value else {
            if let Some(v) = self.eval(&a.value) {
                self.wrong_type(a, &v, "an object of names to strings");
            }
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in object.iter() {
            let (text, span) = match k {
                ObjectKey::Ident(i) => (Some(i.as_str().to_string()), span_of(i)),
                ObjectKey::Expression(e) => (self.eval(e).and_then(|v| v.as_str().map(str::to_string)), span_of(e)),
            };
            let value = match self.eval(v.expr()) {
                Some(hcl::Value::String(s)) => s,
                Some(other) => {
                    self.wrong_type(a, &other, "an object of names to strings");
                    continue;
                }
                None => continue,
            };
            if let Some(text) = text {
                out.push((Name { text, span }, value));
            }
        }
        out
    }

    // -----------------------------------------------------------------------------------------
    // Blocks

    /// The variable, and its `secret` block, read once all variables have values.
    fn variable<'b>(&mut self, block: &'b Block, given: &VarValues) -> Option<(Variable, Option<&'b Block>)> {
        let [name]: [Name; 1] = self.labels(block, &["NAME"])?.try_into().ok()?;
        self.check_fields(&block.body, "a variable", &["type", "default", "description", "sensitive"], &["secret"], Extra::Ignored);
        let var_type = match attr(&block.body, "type") {
            None => VarType::Any,
            Some(a) => match &a.value {
                Expression::Variable(t) => match t.as_str() {
                    "string" => VarType::String,
                    "number" => VarType::Number,
                    "bool" => VarType::Bool,
                    "any" => VarType::Any,
                    other => {
                        let hint = closest(other, ["string", "number", "bool", "any"]);
                        let d =
                            self.src.error(span_of(t), format!("unknown variable type `{other}`")).expected("string, number, bool or any").did_you_mean(hint);
                        self.push(d);
                        VarType::Any
                    }
                },
                other => {
                    self.error(span_of(other), "a variable's `type` is a bare word").expected = Some("type = string, number, bool or any".into());
                    VarType::Any
                }
            },
        };
        // Defaults are read before any variable has a value, so they cannot use other variables.
        let default = attr(&block.body, "default").and_then(|a| self.json(&a.value));
        let secret = self.single_block(&block.body, "secret", "a variable");
        let sensitive = self.bool(&block.body, "sensitive").unwrap_or(false);
        let value = if let Some(v) = given.get(&name.text) {
            match coerce(v, var_type) {
                // Where a value comes from does not make it less of a secret.
                Ok(v) if secret.is_some() || sensitive => VariableValue::GivenSecret(v),
                Ok(v) => VariableValue::Given(v),
                Err(wanted) => {
                    self.error(name.span, format!("the value given for `{}` is not {wanted}", name.text)).expected = Some(wanted.to_string());
                    VariableValue::Missing
                }
            }
        } else if secret.is_some() {
            VariableValue::Secret
        } else if let Some(d) = &default {
            match coerce(d, var_type) {
                Ok(v) => VariableValue::Default(v),
                Err(wanted) => {
                    let span = attr(&block.body, "default").map_or(name.span, |a| span_of(&a.value));
                    self.error(span, format!("the default of `{}` is not {wanted}", name.text)).expected = Some(wanted.to_string());
                    VariableValue::Missing
                }
            }
        } else {
            let n = &name.text;
            let d = self
                .src
                .error(name.span, format!("variable `{n}` has no value"))
                .expected(format!("`--var {n}=VALUE`, `\"{n}\"` in the `--vars` file, a `default` or a `secret` block"));
            self.push(d);
            VariableValue::Missing
        };
        Some((Variable { name, var_type, default, secret: None, value }, secret))
    }

    fn secret_ref(&mut self, block: &Block) -> Option<SecretRef> {
        let [secret_type]: [Name; 1] = self.labels(block, &["SECRET_TYPE"])?.try_into().ok()?;
        self.check_fields(&block.body, "a variable's `secret`", &["path", "key"], &[], Extra::Ignored);
        let path = self.string(&block.body, "path");
        let Some(key) = self.string(&block.body, "key") else {
            if attr(&block.body, "key").is_none() {
                self.error(span_of(&block.ident), "a `secret` needs the `key` to read").expected = Some("key = \"NAME\"".into());
            }
            return None;
        };
        Some(SecretRef { secret_type, path, key })
    }

    pub fn pipeline(&mut self, body: &Body, variables: Vec<Variable>) -> Pipeline {
        let mut p = Pipeline { variables, ..Pipeline::default() };
        for s in body.iter() {
            let block = match s {
                Structure::Block(b) => b,
                Structure::Attribute(a) => {
                    let d = self
                        .src
                        .error(span_of(&a.key), format!("`{}` is an attribute outside any block", a.key.as_str()))
                        .expected(format!("a block: {}", one_of(TOP_LEVEL)));
                    self.push(d);
                    continue;
                }
            };
            match block.ident.as_str() {
                "variable" => {}
                "resource_type" => p.resource_types.extend(self.resource_type(block)),
                "runner_type" => p.runner_types.extend(self.runner_type(block)),
                "service_type" => p.service_types.extend(self.service_type(block)),
                "secret_type" => p.secret_types.extend(self.secret_type(block)),
                "resource" => p.resources.extend(self.resource(block)),
                "job" => p.jobs.extend(self.jobs(block)),
                "notification_type" => p.notification_types.extend(self.notification_type(block)),
                "notification" => p.notifications.extend(self.notification(block)),
                other => {
                    let hint = closest(other, TOP_LEVEL.iter().copied());
                    let d = self.src.error(span_of(&block.ident), format!("unknown block `{other}`")).expected(one_of(TOP_LEVEL)).did_you_mean(hint);
                    self.push(d);
                }
            }
        }
        instances::expand_passed(&mut p.jobs);
        p
    }

    // -----------------------------------------------------------------------------------------
    // Types

    /// What all four type blocks share; `blocks` are the kind's inline command blocks, read by
    /// `inline`. A type that cannot be read is remembered as broken.
    fn type_decl<I>(
        &mut self,
        block: &Block,
        kind: PluginKind,
        attrs: &[&str],
        blocks: &[&str],
        free: bool,
        inline: impl FnOnce(&mut Self, &Block) -> Option<I>,
    ) -> Option<TypeDecl<I>> {
        let decl = self.read_type_decl(block, kind, attrs, blocks, free, inline);
        if let (None, [name]) = (&decl, block.labels.as_slice()) {
            self.broken_types.push((kind, name.to_string()));
        }
        decl
    }

    fn read_type_decl<I>(
        &mut self,
        block: &Block,
        kind: PluginKind,
        attrs: &[&str],
        blocks: &[&str],
        free: bool,
        inline: impl FnOnce(&mut Self, &Block) -> Option<I>,
    ) -> Option<TypeDecl<I>> {
        let [name]: [Name; 1] = self.labels(block, &["NAME"])?.try_into().ok()?;
        let context = format!("{} `{}`", kind.keyword(), name.text);
        let mut all_attrs = vec!["source", "digest", "params"];
        all_attrs.extend_from_slice(attrs);
        let mut all_blocks = vec!["allow", "runner"];
        all_blocks.extend_from_slice(blocks);
        self.check_fields(&block.body, &context, &all_attrs, &all_blocks, if free { Extra::Free } else { Extra::Ignored });
        let body = &block.body;
        let mut params = self.strings(body, "params");
        let allow = self.single_block(body, "allow", &context).map(|b| self.allow(b)).unwrap_or_default();
        let runner = self.single_block(body, "runner", &context).and_then(|b| self.runner_call(b, &context));
        let config = if free {
            let mut known = all_attrs.clone();
            known.extend_from_slice(blocks);
            self.params_of_attrs(body, &known)
        } else {
            Params::new()
        };
        let ops: Vec<&Block> = body.blocks().filter(|b| blocks.contains(&b.ident.as_str())).collect();
        let mut definition = None;
        let implementation = match attr(body, "source") {
            Some(source_attr) => {
                if let Some(op) = ops.first() {
                    let d = self
                        .src
                        .error(span_of(&op.ident), format!("{context} has both `source` and inline `{}`", op.ident.as_str()))
                        .expected("either `source` or inline commands, not both");
                    self.push(d);
                    return None;
                }
                let digest = self.digest(body);
                let text = self.string(body, "source")?;
                match parse_source(&text, digest, &self.base_dir) {
                    Ok(PluginSource::DefinitionFile(path)) => {
                        let (commands, defined_params, file) = self.definition(&path, kind, span_of(&source_attr.value), inline)?;
                        params = params.or(defined_params);
                        definition = Some(file);
                        Implementation::Inline(commands)
                    }
                    Ok(source) => Implementation::Source { source, span: span_of(&source_attr.value) },
                    Err(e) if e.message.is_empty() => return None,
                    Err(e) => {
                        let span = if e.about_digest {
                            attr(body, "digest").map_or(span_of(&source_attr.value), |a| span_of(&a.value))
                        } else {
                            span_of(&source_attr.value)
                        };
                        self.error(span, e.message).expected = Some(e.expected);
                        return None;
                    }
                }
            }
            None if !ops.is_empty() => Implementation::Inline(inline(self, block)?),
            None => {
                if let Some(d) = attr(body, "digest") {
                    self.error(span_of(&d.key), "`digest` without `source`").expected = Some("`source` naming a `.wasm` component".into());
                }
                if builtins::undeclared(kind).contains(&name.text.as_str()) {
                    Implementation::Builtin
                } else {
                    let wanted = if blocks.is_empty() {
                        "`source`".to_string()
                    } else {
                        format!("`source` or inline {}", blocks.iter().map(|b| format!("`{b}`")).collect::<Vec<_>>().join("/"))
                    };
                    self.error(name.span, format!("{context} has neither `source` nor inline commands")).expected = Some(wanted);
                    return None;
                }
            }
        };
        Some(TypeDecl { name, implementation, params, config, runner, allow, span: head_span(block), definition })
    }

    /// PikoCI's `source = "FILE.hcl"`: the commands (and `params`) of the file's block of this
    /// kind, read as if written in the declaring block; a mistake in them is reported in the file.
    fn definition<I>(
        &mut self,
        path: &Path,
        kind: PluginKind,
        span: Span,
        inline: impl FnOnce(&mut Self, &Block) -> Option<I>,
    ) -> Option<(I, Option<Vec<String>>, Arc<SourceFile>)> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                self.error(span, format!("cannot read the definition {}: {e}", path.display())).expected = Some("a PikoCI type definition file".into());
                return None;
            }
        };
        let file = Arc::new(SourceFile::new(path, text));
        let body = match hcl::edit::parser::parse_body(&file.text) {
            Ok(body) => body,
            Err(e) => {
                let offset = e.location().offset();
                self.push(file.error(Span::new(offset, offset + 1), format!("syntax error: {}", e.message().trim())));
                return None;
            }
        };
        let keyword = kind.keyword();
        let Some(block) = body.blocks().find(|b| b.ident.as_str() == keyword) else {
            self.error(span, format!("{} has no `{keyword}` block", path.display())).expected =
                Some(format!("a PikoCI definition: `{keyword} \"NAME\" {{ ... }}`"));
            return None;
        };
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let outer = (std::mem::replace(&mut self.src, file), std::mem::replace(&mut self.base_dir, dir));
        let commands = inline(self, block);
        let params = self.strings(&block.body, "params");
        let (file, _) = (std::mem::replace(&mut self.src, outer.0), std::mem::replace(&mut self.base_dir, outer.1));
        Some((commands?, params, file))
    }

    fn digest(&mut self, body: &Body) -> DigestAttr {
        let Some(a) = attr(body, "digest") else { return DigestAttr::Absent };
        let Some(text) = self.string(body, "digest") else { return DigestAttr::Invalid };
        match text.parse() {
            Ok(d) => DigestAttr::Valid(d),
            Err(e) => {
                let e: pikoci_registry::DigestParseError = e;
                self.error(span_of(&a.value), e.to_string()).expected = Some("\"sha256:<64 lowercase hex digits>\"".into());
                DigestAttr::Invalid
            }
        }
    }

    fn allow(&mut self, block: &Block) -> Allow {
        let _ = self.labels(block, &[]);
        self.check_fields(&block.body, "`allow`", &CAPABILITY_KINDS, &[], Extra::Refused);
        let body = &block.body;
        let allow = Allow {
            read: self.strings(body, "read").unwrap_or_default(),
            write: self.strings(body, "write").unwrap_or_default(),
            net: self.strings(body, "net").unwrap_or_default(),
            run: self.strings(body, "run").unwrap_or_default(),
            env: self.strings(body, "env").unwrap_or_default(),
        };
        for name in &allow.env {
            let valid = !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                let span = attr(body, "env").map_or_else(|| span_of(&block.ident), |a| span_of(&a.value));
                self.error(span, format!("`{name}` is not an environment variable name")).expected =
                    Some("letters, digits and `_`, not starting with a digit".into());
            }
        }
        for host in &allow.net {
            if host.is_empty() || host.contains("://") || host.contains('/') {
                let span = attr(body, "net").map_or_else(|| span_of(&block.ident), |a| span_of(&a.value));
                self.error(span, format!("`{host}` is not a network host")).expected = Some("`HOST` or `HOST:PORT`, without a scheme or path".into());
            }
        }
        allow
    }

    /// `LABEL "RUNNER" { attributes }`: a command run through a runner.
    fn runner_call(&mut self, block: &Block, context: &str) -> Option<RunnerCall> {
        let keyword = block.ident.as_str();
        let [runner]: [Name; 1] = self.labels(block, &["RUNNER"])?.try_into().ok()?;
        self.check_fields(&block.body, &format!("`{keyword}` in {context}"), &[], &[], Extra::Free);
        for b in block.body.blocks() {
            self.error(span_of(&b.ident), format!("`{keyword} \"{runner}\"` holds the runner's attributes, not a `{}` block", b.ident.as_str())).expected =
                Some(format!("attributes such as path = \"...\" or {} = ...", b.ident.as_str()));
        }
        let params = self.params_of_attrs(&block.body, &[]);
        Some(RunnerCall { runner, params, span: head_span(block) })
    }

    fn resource_type(&mut self, block: &Block) -> Option<ResourceType> {
        let decl = self.type_decl(block, PluginKind::ResourceType, &["cache"], &["check", "pull", "push"], false, |d, block| {
            let context = "a resource type";
            let mut op = |name: &str| d.single_block(&block.body, name, context).and_then(|b| d.runner_call(b, context));
            Some(ResourceCommands { check: op("check"), pull: op("pull"), push: op("push") })
        })?;
        let cache = self.bool(&block.body, "cache");
        Some(ResourceType { decl, cache })
    }

    fn runner_type(&mut self, block: &Block) -> Option<RunnerType> {
        self.type_decl(block, PluginKind::Runner, &[], &["run"], false, |d, block| {
            let run = d.single_block(&block.body, "run", "a runner type")?;
            d.labels(run, &[])?;
            d.check_fields(&run.body, "`run`", &["path", "args"], &[], Extra::Ignored);
            let Some(path) = d.string(&run.body, "path") else {
                if attr(&run.body, "path").is_none() {
                    d.error(span_of(&run.ident), "`run` needs the `path` of the program to start").expected = Some("path = \"PROGRAM\"".into());
                }
                return None;
            };
            let args = d.strings(&run.body, "args").unwrap_or_default();
            Some(RunTemplate { path, args })
        })
    }

    fn service_type(&mut self, block: &Block) -> Option<ServiceType> {
        self.type_decl(block, PluginKind::ServiceType, &[], &["start", "ready_check", "stop"], true, |d, block| {
            let context = "a service type";
            let start = d.single_block(&block.body, "start", context);
            let stop = d.single_block(&block.body, "stop", context);
            for (op, present) in [("start", start.is_some()), ("stop", stop.is_some())] {
                if !present {
                    d.error(head_span(block), format!("an inline service type needs a `{op}` command")).expected =
                        Some(format!("{op} \"exec\" {{ path = ..., args = [...] }}"));
                }
            }
            let start = d.runner_call(start?, context);
            let stop = d.runner_call(stop?, context);
            let ready_check = match d.single_block(&block.body, "ready_check", context) {
                Some(b) => Some(d.ready_check(b)?),
                None => None,
            };
            Some(ServiceCommands { start: start?, ready_check, stop: stop? })
        })
    }

    fn ready_check(&mut self, block: &Block) -> Option<ReadyCheck> {
        let mut call = self.runner_call(block, "a service type")?;
        let interval = self.duration(&block.body, "interval");
        let timeout = self.duration(&block.body, "timeout");
        call.params.remove("interval");
        call.params.remove("timeout");
        Some(ReadyCheck {
            call,
            interval: interval.unwrap_or(std::time::Duration::from_secs(1)),
            timeout: timeout.unwrap_or(std::time::Duration::from_secs(60)),
        })
    }

    fn secret_type(&mut self, block: &Block) -> Option<SecretType> {
        self.type_decl(block, PluginKind::SecretType, &[], &["get"], true, |d, block| {
            let get = d.single_block(&block.body, "get", "a secret type")?;
            Some(SecretCommand { get: d.runner_call(get, "a secret type")? })
        })
    }

    fn notification_type(&mut self, block: &Block) -> Option<NotificationType> {
        self.type_decl(block, PluginKind::NotificationType, &[], &["notify"], false, |d, block| {
            let notify = d.single_block(&block.body, "notify", "a notification type")?;
            Some(NotifyCommand { notify: d.runner_call(notify, "a notification type")? })
        })
    }

    // -----------------------------------------------------------------------------------------
    // Notifications

    fn notification(&mut self, block: &Block) -> Option<Notification> {
        let [type_name, name]: [Name; 2] = self.labels(block, &["TYPE", "NAME"])?.try_into().ok()?;
        let context = format!("notification `{name}`");
        self.check_fields(&block.body, &context, &["params", "message", "on", "jobs", "exclude"], &["params"], Extra::Ignored);
        let body = &block.body;
        let params = self.params(body, &context);
        let message = self.string(body, "message");
        let on = self.notify_events(body);
        let jobs = self.names(body, "jobs", "a list of job names");
        let exclude = self.names(body, "exclude", "a list of job names");
        if let (Some(_), Some(b)) = (attr(body, "jobs"), attr(body, "exclude")) {
            self.error(span_of(&b.key), format!("{context} has both `jobs` and `exclude`")).expected =
                Some("`jobs` (only these) or `exclude` (all but these), not both".into());
        }
        if on.is_empty() {
            if let Some(a) = attr(body, "jobs").or_else(|| attr(body, "exclude")) {
                let d = self
                    .src
                    .warning(span_of(&a.key), format!("`{}` of {context} has no effect without `on`: only `notify` steps send it", a.key.as_str()))
                    .expected("on = [\"failure\"] (or success, cancel, all)");
                self.push(d);
            }
        }
        Some(Notification { type_name, name, params, message, on, jobs, exclude, span: head_span(block) })
    }

    /// `on = ["success", "failure", "cancel"]`, or `["all"]` alone.
    fn notify_events(&mut self, body: &Body) -> Vec<NotifyEvent> {
        let Some(a) = attr(body, "on") else { return Vec::new() };
        let span = span_of(&a.value);
        let names = self.strings(body, "on").unwrap_or_default();
        let mut events = Vec::new();
        for n in &names {
            match n.as_str() {
                "all" if names.len() > 1 => {
                    self.error(span, "`all` already means every event; it cannot be combined with others").expected = Some("on = [\"all\"]".into());
                }
                "all" => events.extend(NotifyEvent::ALL),
                other => match NotifyEvent::ALL.into_iter().find(|e| e.as_str() == other) {
                    Some(e) if !events.contains(&e) => events.push(e),
                    Some(_) => {}
                    None => {
                        let known = ["success", "failure", "cancel", "all"];
                        let d = self
                            .src
                            .error(span, format!("`{other}` is not a build event"))
                            .expected(one_of(&known))
                            .did_you_mean(closest(other, known.iter().copied()));
                        self.push(d);
                    }
                },
            }
        }
        events
    }

    // -----------------------------------------------------------------------------------------
    // Resources

    fn resource(&mut self, block: &Block) -> Option<Resource> {
        let [type_name, name]: [Name; 2] = self.labels(block, &["TYPE", "NAME"])?.try_into().ok()?;
        let context = format!("resource `{name}`");
        self.check_fields(&block.body, &context, &["check_interval", "cache", "tags", "params"], &["params"], Extra::Ignored);
        let params = self.params(&block.body, &context);
        let check_interval = match attr(&block.body, "check_interval") {
            Some(a) => match self.string(&block.body, "check_interval") {
                Some(text) => match parse_check_interval(&text) {
                    Ok(i) => Some(i),
                    Err(e) => {
                        self.error(span_of(&a.value), e).expected =
                            Some("\"@every DURATION\" of at least 10s, or a cron expression such as \"0 */5 * * *\"".into());
                        None
                    }
                },
                None => None,
            },
            None => None,
        };
        let cache = self.bool(&block.body, "cache");
        let tags = self.strings(&block.body, "tags").unwrap_or_default();
        Some(Resource { type_name, name, params, check_interval, cache, tags, span: head_span(block) })
    }

    // -----------------------------------------------------------------------------------------
    // Jobs, steps, hooks

    /// A job block: one job, or with `for_each` or `matrix` one per instance, each read with its
    /// `each`. A mistake in the block is reported once, not once per instance.
    fn jobs(&mut self, block: &Block) -> Vec<Job> {
        let for_each = attr(&block.body, "for_each");
        let matrix = block.body.blocks().find(|b| b.ident.as_str() == "matrix");
        let instances = match (for_each, matrix) {
            (None, None) => return self.job(block, None).into_iter().collect(),
            (Some(_), Some(m)) => {
                self.error(span_of(&m.ident), "a job has `for_each` or `matrix`, not both").expected = Some("one of them".into());
                return Vec::new();
            }
            (Some(a), None) => {
                let Some(value) = self.eval(&a.value) else { return Vec::new() };
                instances::from_for_each(&value).map_err(|why| (span_of(&a.value), why))
            }
            (None, Some(m)) => {
                let Some(axes) = self.matrix_axes(m) else { return Vec::new() };
                instances::from_matrix(&axes).map_err(|why| (head_span(m), why))
            }
        };
        let instances = match instances {
            Ok(instances) => instances,
            Err((span, why)) => {
                self.error(span, why);
                return Vec::new();
            }
        };
        let before = self.problems.len();
        let mut jobs = Vec::new();
        for instance in &instances {
            let scope = self.scope.with_each(instance.each());
            let outer = std::mem::replace(&mut self.scope, scope);
            jobs.extend(self.job(block, Some(instance)));
            self.scope = outer;
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut index = 0;
        self.problems.retain(|d| {
            index += 1;
            index <= before || seen.insert((d.line, d.column, d.message.clone()))
        });
        jobs
    }

    /// `matrix { AXIS = ["value", ...] ... }`.
    fn matrix_axes(&mut self, block: &Block) -> Option<BTreeMap<String, Vec<String>>> {
        self.labels(block, &[])?;
        for b in block.body.blocks() {
            self.error(span_of(&b.ident), "a `matrix` holds axes, not blocks").expected = Some("AXIS = [\"value\", ...]".into());
        }
        let mut axes = BTreeMap::new();
        for a in block.body.attributes() {
            let values = self.strings(&block.body, a.key.as_str())?;
            axes.insert(a.key.to_string(), values);
        }
        Some(axes)
    }

    fn job(&mut self, block: &Block, instance: Option<&instances::Instance>) -> Option<Job> {
        let [mut name]: [Name; 1] = self.labels(block, &["NAME"])?.try_into().ok()?;
        let group = instance.map(|i| {
            let base = name.text.clone();
            name.text = i.job_name(&base);
            base
        });
        let context = format!("job `{name}`");
        let blocks: Vec<&str> = STEPS.iter().chain(HOOKS).chain(&["matrix", "input", "on_trigger"]).copied().collect();
        let attrs = ["concurrency", "timeout", "serial_groups", "interruptible", "disable_retry", "allow_failure", "tags", "for_each"];
        self.check_fields(&block.body, &context, &attrs, &blocks, Extra::Ignored);
        // PikoCI's `0` means unlimited.
        let concurrency = self.count(&block.body, "concurrency", 0).filter(|n| *n > 0);
        let timeout = self.duration(&block.body, "timeout");
        let serial_groups = self.serial_groups(&block.body);
        let interruptible = self.bool(&block.body, "interruptible").unwrap_or(false);
        let disable_retry = self.bool(&block.body, "disable_retry").unwrap_or(false);
        let allow_failure = self.bool(&block.body, "allow_failure").unwrap_or(false);
        let tags = self.strings(&block.body, "tags").unwrap_or_default();
        let inputs = self.inputs(&block.body, &context);
        let steps = self.steps(&block.body, &context);
        let hooks = self.hooks(&block.body, &context);
        let on_trigger = self.on_trigger(&block.body, &context);
        Some(Job {
            name,
            group,
            concurrency,
            timeout,
            serial_groups,
            interruptible,
            disable_retry,
            allow_failure,
            tags,
            inputs,
            steps,
            hooks,
            on_trigger,
            span: head_span(block),
        })
    }

    /// `on_trigger { notify "TYPE" "NAME" { ... } }`: PikoCI runs only notify steps there.
    fn on_trigger(&mut self, body: &Body, job_context: &str) -> Vec<NotifyStep> {
        let mut out = Vec::new();
        for block in body.blocks().filter(|b| b.ident.as_str() == "on_trigger") {
            if self.labels(block, &[]).is_none() {
                continue;
            }
            let context = format!("`on_trigger` of {job_context}");
            self.check_fields(&block.body, &context, &[], &["notify"], Extra::Refused);
            out.extend(block.body.blocks().filter(|b| b.ident.as_str() == "notify").filter_map(|b| self.notify(b)));
        }
        out
    }

    /// A job's `input "NAME" { ... }` blocks, checked as PikoCI checks them.
    fn inputs(&mut self, body: &Body, job_context: &str) -> Vec<JobInput> {
        const MOST: usize = 20;
        let mut inputs: Vec<JobInput> = Vec::new();
        for block in body.blocks().filter(|b| b.ident.as_str() == "input") {
            let Some([name]) = self.labels(block, &["NAME"]).and_then(|l| <[Name; 1]>::try_from(l).ok()) else { continue };
            let context = format!("input `{name}` of {job_context}");
            self.check_fields(&block.body, &context, &["type", "description", "default", "options", "multiple"], &[], Extra::Ignored);
            if name.text.is_empty() || !name.text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                self.error(name.span, format!("`{name}` cannot be an input's name: steps see it as $INPUT_{name}")).expected =
                    Some("letters, digits and `_`".into());
                continue;
            }
            if inputs.iter().any(|i| i.name == name.text) {
                self.error(name.span, format!("input `{name}` is declared twice in {job_context}")).expected = Some("each input once".into());
                continue;
            }
            let input_type = match attr(&block.body, "type").map(|a| (a, self.type_name(&a.value))) {
                None => InputType::String,
                Some((_, Some(t))) if t == "string" => InputType::String,
                Some((_, Some(t))) if t == "number" => InputType::Number,
                Some((_, Some(t))) if t == "bool" => InputType::Bool,
                Some((a, t)) => {
                    let d = self
                        .src
                        .error(span_of(&a.value), format!("`{}` is not an input type", t.unwrap_or_default()))
                        .expected("\"string\", \"number\" or \"bool\"");
                    self.push(d);
                    continue;
                }
            };
            let default = attr(&block.body, "default").and_then(|a| self.eval(&a.value)).map(|v| match v {
                hcl::Value::String(s) => s,
                other => other.to_string(),
            });
            let input = JobInput {
                name: name.text.clone(),
                input_type,
                description: self.string(&block.body, "description"),
                default,
                options: self.strings(&block.body, "options").unwrap_or_default(),
                multiple: self.bool(&block.body, "multiple").unwrap_or(false),
            };
            let problem = if !input.options.is_empty() && input.input_type != InputType::String {
                Some(("options", "`options` are for string inputs".to_string()))
            } else if input.multiple && input.options.is_empty() {
                Some(("multiple", "`multiple` picks several of `options`, which this input has none of".to_string()))
            } else {
                input.default.as_deref().and_then(|d| input.refuses(d)).map(|why| ("default", format!("the default: {why}")))
            };
            if let Some((key, why)) = problem {
                let span = attr(&block.body, key).map_or(name.span, |a| span_of(&a.value));
                self.error(span, why).expected = Some(format!("a valid `{key}` for {context}"));
                continue;
            }
            inputs.push(input);
        }
        if inputs.len() > MOST {
            let span = body.blocks().filter(|b| b.ident.as_str() == "input").nth(MOST).map_or_else(Span::default, head_span);
            self.error(span, format!("{job_context} has {} inputs; a job takes at most {MOST}", inputs.len())).expected =
                Some(format!("at most {MOST} `input` blocks"));
        }
        inputs
    }

    /// `string` or `"string"`: a type named bare, as variables do, or quoted, as PikoCI's inputs do.
    fn type_name(&mut self, expr: &Expression) -> Option<String> {
        match expr {
            Expression::Variable(t) => Some(t.as_str().to_string()),
            other => self.eval(other).and_then(|v| v.as_str().map(str::to_string)),
        }
    }

    /// `serial_groups = ["deploy"]`: names of lowercase letters, digits and `-`, as PikoCI has them.
    fn serial_groups(&mut self, body: &Body) -> Vec<String> {
        let groups = self.strings(body, "serial_groups").unwrap_or_default();
        let fits = |g: &String| !g.is_empty() && g.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if let (Some(bad), Some(a)) = (groups.iter().find(|g| !fits(g)), attr(body, "serial_groups")) {
            self.error(span_of(&a.value), format!("serial group `{bad}` is not a group name")).expected =
                Some(format!("lowercase letters, digits and `-`, such as \"{}\"", bad.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "-")));
        }
        groups
    }

    /// The step blocks of `body`, in order.
    fn steps(&mut self, body: &Body, context: &str) -> Vec<Step> {
        let mut steps = Vec::new();
        // An `if` whose mistakes were reported: its `else_if`/`else` are not orphans.
        let mut broken_if = false;
        for b in body.blocks() {
            let is_branch = matches!(b.ident.as_str(), "else_if" | "else");
            if !is_branch && STEPS.contains(&b.ident.as_str()) {
                broken_if = false;
            }
            let step = match b.ident.as_str() {
                "get" => self.get(b).map(Step::Get),
                "task" => self.task(b).map(Step::Task),
                "put" => self.put(b).map(Step::Put),
                "service" => self.service(b).map(Step::Service),
                "in_parallel" => self.in_parallel(b, context).map(Step::InParallel),
                "notify" => self.notify(b).map(Step::Notify),
                "if" => {
                    let chain = self.branch(b, context).map(|branch| Step::If(IfStep { branches: vec![branch], common: self.common(b, context) }));
                    broken_if = chain.is_none();
                    chain
                }
                "else_if" | "else" => {
                    let Some(branch) = self.branch(b, context) else { continue };
                    if broken_if {
                        continue;
                    }
                    match steps.last_mut() {
                        Some(Step::If(chain)) if chain.branches.last().is_some_and(|last| last.keyword != "else") => chain.branches.push(branch),
                        Some(Step::If(_)) => {
                            self.error(span_of(&b.ident), format!("`{}` after `else`", b.ident.as_str())).expected =
                                Some("`else` last, after the `if` and its `else_if` blocks".into());
                        }
                        _ => {
                            self.error(span_of(&b.ident), format!("`{}` without an `if` before it", b.ident.as_str())).expected =
                                Some("`if \"LABEL\" { condition = \"...\" ... }` right before it".into());
                        }
                    }
                    continue;
                }
                _ => None,
            };
            steps.extend(step);
        }
        steps
    }

    fn hooks(&mut self, body: &Body, context: &str) -> Vec<Hook> {
        let mut hooks = Vec::new();
        for b in body.blocks() {
            let Some((_, event)) = HookEvent::ALL.iter().find(|(k, _)| *k == b.ident.as_str()) else { continue };
            let action = match b.labels.len() {
                0 => {
                    let hook_context = format!("`{}` of {context}", b.ident.as_str());
                    self.check_fields(&b.body, &hook_context, &[], STEPS, Extra::Ignored);
                    HookAction::Steps(self.steps(&b.body, &hook_context))
                }
                _ => match self.runner_call(b, context) {
                    Some(call) => HookAction::Run(call),
                    None => continue,
                },
            };
            hooks.push(Hook { event: *event, action, span: head_span(b) });
        }
        hooks
    }

    fn common(&mut self, block: &Block, context: &str) -> StepCommon {
        let body = &block.body;
        StepCommon {
            timeout: self.duration(body, "timeout"),
            attempts: self.count(body, "attempts", 1).unwrap_or(1),
            secrets: self.named_strings(body, "secrets"),
            hooks: self.hooks(body, context),
            span: head_span(block),
        }
    }

    fn resource_ref(&mut self, block: &Block) -> Option<ResourceRef> {
        let [type_name, name]: [Name; 2] = self.labels(block, &["TYPE", "RESOURCE"])?.try_into().ok()?;
        Some(ResourceRef { type_name, name })
    }

    fn get(&mut self, block: &Block) -> Option<GetStep> {
        let resource = self.resource_ref(block)?;
        let context = format!("`get` of `{}`", resource.name);
        let attrs: Vec<&str> = ["trigger", "passed", "params"].iter().chain(COMMON_STEP_ATTRS).copied().collect();
        let blocks: Vec<&str> = std::iter::once("params").chain(HOOKS.iter().copied()).collect();
        self.check_fields(&block.body, &context, &attrs, &blocks, Extra::Ignored);
        let trigger = self.bool(&block.body, "trigger").unwrap_or(false);
        let passed = self.passed(&block.body);
        let params = self.params(&block.body, &context);
        let common = self.common(block, &context);
        Some(GetStep { resource, trigger, passed, params, common })
    }

    /// `passed = ["job", ...]`.
    fn passed(&mut self, body: &Body) -> Vec<Name> {
        self.names(body, "passed", "a list of job names")
    }

    /// A list of names (`passed`, `jobs`), each with its own span so a misspelt one is pointed at.
    fn names(&mut self, body: &Body, key: &str, wanted: &str) -> Vec<Name> {
        let Some(a) = attr(body, key) else { return Vec::new() };
        if let Expression::Array(items) = &a.value {
            let mut out = Vec::new();
            for item in items.iter() {
                match self.eval(item) {
                    Some(hcl::Value::String(text)) => out.push(Name { text, span: span_of(item) }),
                    Some(other) => self.wrong_type(a, &other, wanted),
                    None => {}
                }
            }
            return out;
        }
        let span = span_of(&a.value);
        self.strings(body, key).unwrap_or_default().into_iter().map(|text| Name { text, span }).collect()
    }

    fn task(&mut self, block: &Block) -> Option<TaskStep> {
        let [name]: [Name; 1] = self.labels(block, &["NAME"])?.try_into().ok()?;
        let context = format!("task `{name}`");
        let attrs: Vec<&str> = ["inputs", "outputs", "env"].iter().chain(COMMON_STEP_ATTRS).copied().collect();
        let blocks: Vec<&str> = ["run", "env"].iter().chain(HOOKS).copied().collect();
        self.check_fields(&block.body, &context, &attrs, &blocks, Extra::Ignored);
        let run = match self.single_block(&block.body, "run", &context) {
            Some(b) => self.runner_call(b, &context),
            None => {
                self.error(head_span(block), format!("{context} has no `run` block")).expected =
                    Some("run \"RUNNER\" { ... }, e.g. run \"exec\" { path = \"make\" }".into());
                None
            }
        };
        let inputs = self.strings(&block.body, "inputs").unwrap_or_default();
        let outputs = self.strings(&block.body, "outputs").unwrap_or_default();
        let env = self.env(&block.body, &context);
        let common = self.common(block, &context);
        Some(TaskStep { name, run: run?, inputs, outputs, env, common })
    }

    /// `env = { K = "v" }` or `env { K = "v" }`.
    fn env(&mut self, body: &Body, context: &str) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        let mut pairs = Vec::new();
        if let Some(block) = self.single_block(body, "env", context) {
            for a in block.body.attributes() {
                pairs.push((a.key.to_string(), a));
            }
        }
        for (key, a) in pairs {
            if let Some(v) = self.eval(&a.value) {
                env.insert(key, v.as_str().map_or_else(|| v.to_string(), str::to_string));
            }
        }
        for (name, value) in self.named_strings(body, "env") {
            env.insert(name.text, value);
        }
        env
    }

    fn put(&mut self, block: &Block) -> Option<PutStep> {
        let resource = self.resource_ref(block)?;
        let context = format!("`put` to `{}`", resource.name);
        let blocks: Vec<&str> = std::iter::once("params").chain(HOOKS.iter().copied()).collect();
        // Attributes beside the step's own are params, as in PikoCI's hooks.
        self.check_fields(&block.body, &context, &[], &blocks, Extra::Free);
        let mut params = self.params(&block.body, &context);
        let mut own = vec!["params"];
        own.extend_from_slice(COMMON_STEP_ATTRS);
        for (k, v) in self.params_of_attrs(&block.body, &own) {
            params.insert(k, v);
        }
        let common = self.common(block, &context);
        Some(PutStep { resource, params, common })
    }

    fn service(&mut self, block: &Block) -> Option<ServiceStep> {
        let [service_type]: [Name; 1] = self.labels(block, &["SERVICE_TYPE"])?.try_into().ok()?;
        let context = format!("service `{service_type}`");
        self.check_fields(&block.body, &context, &[], &[], Extra::Free);
        let params = self.params_of_attrs(&block.body, &[]);
        Some(ServiceStep { service_type, params, span: head_span(block) })
    }

    /// One block of an `if` chain: its label, its condition (read now, so a mistake in it is
    /// reported when the pipeline loads) and its steps.
    fn branch(&mut self, block: &Block, job_context: &str) -> Option<Branch> {
        let keyword = match block.ident.as_str() {
            "if" => "if",
            "else_if" => "else_if",
            _ => "else",
        };
        let label = match block.labels.as_slice() {
            [] => None,
            [one] => Some(Name { text: one.to_string(), span: head_span(block) }),
            _ => {
                self.error(head_span(block), format!("`{keyword}` takes at most one label")).expected = Some(format!("{keyword} \"LABEL\" {{ ... }}"));
                return None;
            }
        };
        let context = format!("`{keyword}`{} of {job_context}", label.as_ref().map(|l| format!(" `{l}`")).unwrap_or_default());
        let (attrs, blocks): (Vec<&str>, Vec<&str>) = match keyword {
            "if" => (["condition"].iter().chain(COMMON_STEP_ATTRS).copied().collect(), STEPS.iter().chain(HOOKS).copied().collect()),
            "else_if" => (vec!["condition"], STEPS.to_vec()),
            _ => (vec![], STEPS.to_vec()),
        };
        self.check_fields(&block.body, &context, &attrs, &blocks, Extra::Ignored);
        let condition = match (keyword, attr(&block.body, "condition")) {
            ("else", _) => None,
            (_, None) => {
                self.error(head_span(block), format!("{context} has no `condition`")).expected = Some("condition = \"$TASK_TEST_RESULT == 'passed'\"".into());
                return None;
            }
            (_, Some(a)) => {
                let text = self.string(&block.body, "condition")?;
                match text.parse::<crate::condition::Condition>() {
                    Ok(c) => Some(c),
                    Err(e) => {
                        self.error(span_of(&a.value), format!("in the condition: {e}")).expected =
                            Some("values ('quoted' or bare, $VARIABLES) compared with ==, !=, >, <, contains, !contains, joined with && and ||".into());
                        return None;
                    }
                }
            }
        };
        let steps = self.steps(&block.body, &context);
        Some(Branch { keyword, label, condition, steps, span: head_span(block) })
    }

    /// `notify "TYPE" "NAME" { ... }`: its attributes but `message` are the type's options.
    fn notify(&mut self, block: &Block) -> Option<NotifyStep> {
        let [type_name, name]: [Name; 2] = self.labels(block, &["TYPE", "NOTIFICATION"])?.try_into().ok()?;
        let context = format!("`notify` of `{name}`");
        self.check_fields(&block.body, &context, &[], &[], Extra::Free);
        for b in block.body.blocks() {
            self.error(span_of(&b.ident), format!("{context} holds attributes, not a `{}` block", b.ident.as_str())).expected =
                Some("attributes such as status = \"in_progress\" or message = \"...\"".into());
        }
        let message = self.string(&block.body, "message");
        let options = self.params_of_attrs(&block.body, &["message"]);
        Some(NotifyStep { type_name, name, options, message, span: head_span(block) })
    }

    fn in_parallel(&mut self, block: &Block, job_context: &str) -> Option<InParallel> {
        self.labels(block, &[])?;
        let context = format!("`in_parallel` of {job_context}");
        let attrs: Vec<&str> = ["limit", "fail_fast"].iter().chain(COMMON_STEP_ATTRS).copied().collect();
        let blocks: Vec<&str> = STEPS.iter().chain(HOOKS).copied().collect();
        self.check_fields(&block.body, &context, &attrs, &blocks, Extra::Ignored);
        let limit = self.count(&block.body, "limit", 1);
        let fail_fast = self.bool(&block.body, "fail_fast").unwrap_or(false);
        let steps = self.steps(&block.body, &context);
        let common = self.common(block, &context);
        Some(InParallel { limit, fail_fast, steps, common })
    }
}

fn one_of(names: &[&str]) -> String {
    match names {
        [] => "nothing here".into(),
        [one] => format!("`{one}`"),
        _ => format!("one of {}", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
    }
}

/// A value as a variable of `ty` holds it; `--var` values are strings, so `"3"` is a number
/// and `"true"` a bool when the type says so.
fn coerce(value: &serde_json::Value, ty: VarType) -> Result<serde_json::Value, &'static str> {
    use serde_json::Value as J;
    match (ty, value) {
        (VarType::Any, v) => Ok(v.clone()),
        (VarType::String, J::String(_)) => Ok(value.clone()),
        (VarType::String, J::Number(n)) => Ok(J::String(n.to_string())),
        (VarType::String, J::Bool(b)) => Ok(J::String(b.to_string())),
        (VarType::String, _) => Err("a string"),
        (VarType::Number, J::Number(_)) => Ok(value.clone()),
        (VarType::Number, J::String(s)) => s.trim().parse::<serde_json::Number>().map(J::Number).map_err(|_| "a number"),
        (VarType::Number, _) => Err("a number"),
        (VarType::Bool, J::Bool(_)) => Ok(value.clone()),
        (VarType::Bool, J::String(s)) if s == "true" || s == "false" => Ok(J::Bool(s == "true")),
        (VarType::Bool, _) => Err("a bool"),
    }
}
