//! Reading an HCL body: attributes evaluated against the pipeline's variables, nested blocks.

use hcl::eval::{Context, Evaluate};
use hcl::{Block, Body};
use serde_json::Value;

/// Where in the pipeline a problem is, as a path of blocks: `job "test" > task "unit"`.
#[derive(Clone, Debug, Default)]
pub struct Place(pub Vec<String>);

impl Place {
    pub fn child(&self, block: &Block) -> Place {
        let labels: Vec<String> = block.labels.iter().map(|l| format!("\"{}\"", l.as_str())).collect();
        let mut path = self.0.clone();
        path.push(format!("{} {}", block.identifier.as_str(), labels.join(" ")).trim().to_string());
        Place(path)
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" > "))
    }
}

pub type LoadResult<T> = Result<T, String>;

/// An HCL value as JSON, the form plugin configuration crosses the boundary in.
pub fn to_json(value: hcl::Value) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The attributes of a body, evaluated, as a JSON object (nested blocks ignored).
pub fn attributes(body: &Body, ctx: &Context, place: &Place, skip: &[&str]) -> LoadResult<serde_json::Map<String, Value>> {
    let mut out = serde_json::Map::new();
    for attr in body.attributes() {
        let key = attr.key.as_str();
        if skip.contains(&key) {
            continue;
        }
        out.insert(key.to_string(), evaluate(&attr.expr, ctx, place, key)?);
    }
    Ok(out)
}

pub fn evaluate(expr: &hcl::Expression, ctx: &Context, place: &Place, key: &str) -> LoadResult<Value> {
    expr.evaluate(ctx).map(to_json).map_err(|e| format!("{place}: `{key}`: {e}"))
}

pub fn attribute(body: &Body, ctx: &Context, place: &Place, key: &str) -> LoadResult<Option<Value>> {
    body.attributes().find(|a| a.key.as_str() == key).map(|a| evaluate(&a.expr, ctx, place, key)).transpose()
}

pub fn string_attr(body: &Body, ctx: &Context, place: &Place, key: &str) -> LoadResult<Option<String>> {
    match attribute(body, ctx, place, key)? {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("{place}: `{key}` must be a string, not {other}")),
    }
}

pub fn strings_attr(body: &Body, ctx: &Context, place: &Place, key: &str) -> LoadResult<Vec<String>> {
    match attribute(body, ctx, place, key)? {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Ok(other.to_string()),
            })
            .collect(),
        Some(other) => Err(format!("{place}: `{key}` must be a list of strings, not {other}")),
    }
}

pub fn bool_attr(body: &Body, ctx: &Context, place: &Place, key: &str) -> LoadResult<Option<bool>> {
    match attribute(body, ctx, place, key)? {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
        Some(other) => Err(format!("{place}: `{key}` must be true or false, not {other}")),
    }
}

pub fn u32_attr(body: &Body, ctx: &Context, place: &Place, key: &str) -> LoadResult<Option<u32>> {
    match attribute(body, ctx, place, key)? {
        None => Ok(None),
        Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n <= u32::MAX as u64) => Ok(Some(n.as_u64().unwrap() as u32)),
        Some(other) => Err(format!("{place}: `{key}` must be a whole number, not {other}")),
    }
}

/// A Go-style duration (`30s`, `5m`, `1h30m`), as PikoCI writes them.
pub fn duration_attr(body: &Body, ctx: &Context, place: &Place, key: &str) -> LoadResult<Option<std::time::Duration>> {
    match string_attr(body, ctx, place, key)? {
        None => Ok(None),
        Some(text) => humantime::parse_duration(&text)
            .map(Some)
            .map_err(|e| format!("{place}: `{key} = \"{text}\"` is not a duration like \"30s\", \"5m\" or \"1h30m\": {e}")),
    }
}

/// The single nested block named `name`, if any.
pub fn block<'a>(body: &'a Body, name: &str) -> Option<&'a Block> {
    body.blocks().find(|b| b.identifier.as_str() == name)
}
