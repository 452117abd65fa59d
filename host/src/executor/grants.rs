//! The capabilities one plugin call gets: what the pipeline granted its type, what the call
//! itself needs (its own directory), and for built-in plugins what their manifest requests.
//!
//! A built-in's requests are templates over the call's configuration (`read:{source.path}`,
//! `run:{task.path}`); they are resolved here, per call. `{x.y|origin}` keeps only the
//! `scheme://host[:port]` of a URL value: a webhook's host is granted, not its path. Third-party plugins get only what the
//! pipeline's `allow` block says: `pikoci plugin inspect` shows what they ask for.

use super::plan::PluginRef;
use crate::runtime::Capabilities;
use serde_json::Value;

/// The values a request template may refer to.
#[derive(Default)]
pub struct CallValues<'a> {
    pub source: Option<&'a Value>,
    pub params: Option<&'a Value>,
    pub task_path: Option<&'a str>,
    pub task_dir: Option<&'a str>,
    /// A secret lookup's path and key.
    pub secret_path: Option<&'a str>,
    pub secret_key: Option<&'a str>,
}

impl CallValues<'_> {
    fn lookup(&self, name: &str) -> Option<String> {
        let field = |v: Option<&Value>, key: &str| -> Option<String> {
            match v?.pointer(&format!("/{}", key.replace('.', "/")))? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        match name.split_once('.') {
            Some(("source", key)) => field(self.source, key),
            Some(("params", key)) => field(self.params, key),
            Some(("task", "path")) => self.task_path.map(str::to_string),
            Some(("task", "dir")) => self.task_dir.map(str::to_string),
            Some(("secret", "path")) => self.secret_path.filter(|p| !p.is_empty()).map(str::to_string),
            Some(("secret", "key")) => self.secret_key.map(str::to_string),
            _ => None,
        }
    }
}

/// Replace every `{x.y}` in `template`; `None` when one of them has no value in this call.
fn resolve(template: &str, values: &CallValues) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}')? + start;
        out.push_str(&rest[..start]);
        let (name, filter) = rest[start + 1..end].split_once('|').map_or((&rest[start + 1..end], None), |(n, f)| (n, Some(f)));
        let value = values.lookup(name)?;
        match filter {
            None => out.push_str(&value),
            Some("origin") => out.push_str(&origin(&value)?),
            Some(_) => return None,
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// `scheme://host[:port]` of a URL; `None` when it has no scheme.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().filter(|a| !a.is_empty())?;
    // User-info is no part of where the request goes.
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(format!("{scheme}://{host}"))
}

/// The grants of one call of `plugin`, plus `extra` capabilities the call itself needs.
pub fn for_call(plugin: &PluginRef, values: &CallValues, extra: &[String]) -> Capabilities {
    let mut grants = plugin.base_grants();
    let requests = if plugin.trusted { plugin.requests.as_slice() } else { &[] };
    for template in requests {
        // A request whose value this call lacks (a `put`-only field during `check`) is skipped.
        let Some(text) = resolve(template, values) else { continue };
        match text.parse() {
            Ok(cap) => {
                grants.grant(cap);
            }
            Err(e) => tracing::warn!(plugin = plugin.name, error = %e, "built-in plugin requests an invalid capability"),
        }
    }
    for text in extra {
        if let Ok(cap) = text.parse() {
            grants.grant(cap);
        }
    }
    grants
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_resolve_against_the_call() {
        let source = json!({"path": "/srv/x", "nested": {"host": "git.test"}});
        let values = CallValues { source: Some(&source), task_path: Some("make"), ..Default::default() };
        assert_eq!(resolve("read:{source.path}", &values).as_deref(), Some("read:/srv/x"));
        assert_eq!(resolve("net:{source.nested.host}:443", &values).as_deref(), Some("net:git.test:443"));
        assert_eq!(resolve("run:{task.path}", &values).as_deref(), Some("run:make"));
        assert_eq!(resolve("read:{source.missing}", &values), None);
        let params = json!({"webhook_url": "https://hooks.slack.test:8443/services/T0/B0/secret?x=1", "bare": "hooks.test"});
        let values = CallValues { params: Some(&params), ..Default::default() };
        assert_eq!(resolve("net:{params.webhook_url|origin}", &values).as_deref(), Some("net:https://hooks.slack.test:8443"));
        assert_eq!(resolve("net:{params.bare|origin}", &values), None, "no scheme, no origin");
        assert_eq!(resolve("net:{params.webhook_url|host}", &values), None, "unknown filter");
    }
}
