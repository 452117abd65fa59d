//! Secret-backed variables: resolved through their secret type when a step starts, substituted
//! where the step refers to them, and redacted from the log before the step writes a line.
//!
//! A plan carries a placeholder, `((pikoci-secret:NAME))`, wherever the pipeline used a
//! secret-backed variable, so the plan itself (which a server stores and shows) never holds a
//! secret. Each step resolves the secrets it refers to anew, so a rotated secret is picked up by
//! the next step without re-setting the pipeline, as PikoCI does.

use super::plan::{Action, BoundPlugin, PutStep, ResourceBackend, Step};
use super::Build;
use serde_json::Value;
use std::collections::BTreeMap;

/// A variable whose value comes from a secret type.
#[derive(Clone)]
pub struct SecretVariable {
    pub name: String,
    pub secret_type: BoundPlugin,
    /// The secret type's configuration (its block's attributes).
    pub config: Value,
    pub path: String,
    pub key: String,
}

/// The text a plan holds in place of a secret-backed variable's value.
pub fn placeholder(name: &str) -> String {
    format!("((pikoci-secret:{name}))")
}

fn names_in(text: &str, out: &mut Vec<String>) {
    let mut rest = text;
    while let Some(start) = rest.find("((pikoci-secret:") {
        let after = &rest[start + "((pikoci-secret:".len()..];
        let Some(end) = after.find("))") else { return };
        out.push(after[..end].to_string());
        rest = &after[end + 2..];
    }
}

fn walk_json(value: &mut Value, f: &mut dyn FnMut(&mut String)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter_mut().for_each(|v| walk_json(v, f)),
        Value::Object(map) => map.values_mut().for_each(|v| walk_json(v, f)),
        _ => {}
    }
}

/// Every string of a leaf step that may hold a placeholder.
fn walk_step(action: &mut Action, f: &mut dyn FnMut(&mut String)) {
    match action {
        Action::Get(get) => {
            if let ResourceBackend::Plugin { source, .. } = &mut get.backend {
                walk_json(source, f);
            }
            walk_json(&mut get.params, f);
        }
        Action::Put(put) => {
            if let ResourceBackend::Plugin { source, .. } = &mut put.backend {
                walk_json(source, f);
            }
            walk_json(&mut put.params, f);
        }
        Action::Task(task) => {
            f(&mut task.path);
            task.args.iter_mut().for_each(&mut *f);
            task.env.iter_mut().for_each(|(_, v)| f(v));
            walk_json(&mut task.params, f);
        }
        Action::Service(service) => walk_json(&mut service.params, f),
        // Their children are resolved when they start.
        Action::InParallel { .. } | Action::Do(_) => {}
    }
}

impl Build {
    /// The step with its secrets resolved, or why they could not be.
    pub(super) async fn with_secrets(&self, step: &Step) -> Result<Step, String> {
        let mut step = step.clone();
        let mut wanted = Vec::new();
        walk_step(&mut step.action, &mut |s| names_in(s, &mut wanted));
        if wanted.is_empty() {
            return Ok(step);
        }
        // A trigger event is stored, and shown to other pipelines' builds as their version.
        if let Action::Put(PutStep { backend: ResourceBackend::Trigger { stream }, .. }) = &step.action {
            return Err(format!(
                "put to trigger stream `{stream}` uses secret variable `{}`: a trigger event is stored in the database and shown to every build that gets it, so it may not carry secrets; pass a reference to the secret instead",
                wanted[0]
            ));
        }
        let mut values = BTreeMap::new();
        for name in wanted {
            if values.contains_key(&name) {
                continue;
            }
            let value = self.resolve_secret(&step.name, &name).await?;
            self.log.redactor().add(&value);
            values.insert(name, value);
        }
        walk_step(&mut step.action, &mut |s| {
            for (name, value) in &values {
                *s = s.replace(&placeholder(name), value);
            }
        });
        Ok(step)
    }

    async fn resolve_secret(&self, step: &str, name: &str) -> Result<String, String> {
        let Some(var) = self.secrets.iter().find(|v| v.name == name) else {
            return Err(format!("variable `{name}` is secret-backed but its secret type is unknown"));
        };
        let values = super::grants::CallValues {
            source: Some(&var.config),
            secret_path: Some(&var.path),
            secret_key: Some(&var.key),
            ..Default::default()
        };
        let grants = super::grants::for_call(&var.secret_type, &values, &[]);
        let log = self.log.step(step);
        match var.secret_type.plugin.get_secret(&grants, log, &var.config, &var.path, &var.key).await {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(format!("secret for variable `{name}` not found (path `{}`, key `{}`)", var.path, var.key)),
            Err(e) => Err(format!("cannot resolve variable `{name}`: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_placeholder_in_a_string() {
        let mut names = Vec::new();
        names_in(&format!("postgres://u:{}@h/{}", placeholder("pw"), placeholder("db")), &mut names);
        assert_eq!(names, ["pw", "db"]);
    }
}
