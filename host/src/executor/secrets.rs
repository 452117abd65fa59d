//! Secrets: secret-backed variables and a step's own `secrets`, resolved through their secret
//! types when a step starts, substituted where the step refers to them, and redacted from the log
//! before the step writes a line.
//!
//! A plan carries a placeholder ([`pikoci_pipeline::secret_placeholder`]) wherever the pipeline
//! used a secret-backed variable, so the plan itself (which a server stores and shows) never holds
//! a secret. Each step resolves the secrets it refers to anew, so a rotated secret is picked up by
//! the next step without re-setting the pipeline, as PikoCI does.

use super::plan::{Action, PutStep, ResourceBackend, SecretOrigin, SecretSource, Step};
use super::Build;
use pikoci_pipeline::secret_placeholder as placeholder;
use serde_json::Value;
use std::collections::BTreeMap;

const PLACEHOLDER_START: &str = "((pikoci-secret:";

fn names_in(text: &str, out: &mut Vec<String>) {
    let mut rest = text;
    while let Some(start) = rest.find(PLACEHOLDER_START) {
        let after = &rest[start + PLACEHOLDER_START.len()..];
        let Some(end) = after.find("))") else { return };
        out.push(after[..end].to_string());
        rest = &after[end + 2..];
    }
}

/// The `secret_<key>` names a text refers to as `$secret_<key>` or `${secret_<key>}`.
fn step_secret_keys_in(text: &str, out: &mut Vec<String>) {
    for (at, _) in text.match_indices("secret_") {
        let before = &text[..at];
        if !(before.ends_with('$') || before.ends_with("${")) {
            continue;
        }
        let key: String = text[at + "secret_".len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !key.is_empty() && !out.contains(&key) {
            out.push(key);
        }
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

pub(super) fn walk_backend(backend: &mut ResourceBackend, f: &mut dyn FnMut(&mut String)) {
    match backend {
        ResourceBackend::Plugin { source, plugin, .. } => {
            walk_json(source, f);
            walk_container(plugin, f);
        }
        ResourceBackend::Inline { definition, adapter, .. } => {
            walk_json(definition, f);
            walk_container(adapter, f);
        }
        ResourceBackend::Trigger { .. } => {}
    }
}

/// A type-level `runner "docker"`'s params may use secrets too (a registry password).
fn walk_container(plugin: &mut super::plan::PluginRef, f: &mut dyn FnMut(&mut String)) {
    if let Some(container) = &mut plugin.container {
        walk_json(container, f);
    }
}

/// Every string of a leaf step that may hold a placeholder.
fn walk_step(action: &mut Action, f: &mut dyn FnMut(&mut String)) {
    match action {
        Action::Get(get) => {
            walk_backend(&mut get.backend, f);
            walk_json(&mut get.params, f);
        }
        Action::Put(put) => {
            walk_backend(&mut put.backend, f);
            walk_json(&mut put.params, f);
        }
        Action::Task(task) => {
            f(&mut task.path);
            task.args.iter_mut().for_each(&mut *f);
            task.env.iter_mut().for_each(|(_, v)| f(v));
            walk_json(&mut task.params, f);
        }
        Action::Service(service) => {
            walk_json(&mut service.params, f);
            walk_container(&mut service.plugin, f);
        }
        Action::Notify(notify) => {
            walk_json(&mut notify.params, f);
            walk_json(&mut notify.options, f);
            if let Some(message) = &mut notify.message {
                f(message);
            }
            walk_container(&mut notify.plugin, f);
        }
        // Their children are resolved when they start.
        Action::InParallel { .. } | Action::Do(_) | Action::If(_) => {}
    }
}

impl Build {
    /// The step with its secret variables resolved, and the `secret_<key>` variables its own
    /// `secrets` give it; or why they could not be resolved.
    pub(super) async fn with_secrets(&self, step: &Step) -> Result<(Step, Vec<(String, String)>), String> {
        let mut step = step.clone();
        let mut wanted = Vec::new();
        walk_step(&mut step.action, &mut |s| names_in(s, &mut wanted));
        if !wanted.is_empty() {
            // A trigger event is stored, and shown to other pipelines' builds as their version.
            if let Action::Put(PutStep { backend: ResourceBackend::Trigger { stream }, .. }) = &step.action {
                return Err(format!(
                    "put to trigger stream `{stream}` uses secret variable `{}`: a trigger event is stored in the database and shown to every build that gets it, so it may not carry secrets; pass a reference to the secret instead",
                    wanted[0]
                ));
            }
            let values = self.resolve_variables(&step.name, wanted).await?;
            walk_step(&mut step.action, &mut |s| substitute(s, &values));
        }
        let env = self.step_secrets(&mut step).await?;
        Ok((step, env))
    }

    /// A backend with its secret variables resolved (a check's resource params).
    pub(super) async fn with_backend_secrets(&self, step: &str, backend: &ResourceBackend) -> Result<ResourceBackend, String> {
        let mut backend = backend.clone();
        let mut wanted = Vec::new();
        walk_backend(&mut backend, &mut |s| names_in(s, &mut wanted));
        if !wanted.is_empty() {
            let values = self.resolve_variables(step, wanted).await?;
            walk_backend(&mut backend, &mut |s| substitute(s, &values));
        }
        Ok(backend)
    }

    /// The values of the secret variables `names`, each added to the redactor before any line
    /// can carry it.
    async fn resolve_variables(&self, step: &str, names: Vec<String>) -> Result<BTreeMap<String, String>, String> {
        let mut values = BTreeMap::new();
        for name in names {
            if let std::collections::btree_map::Entry::Vacant(slot) = values.entry(name) {
                let value = self.resolve_variable(step, slot.key(), &mut Vec::new()).await?;
                slot.insert(value);
            }
        }
        Ok(values)
    }

    /// One secret variable; its path and key may use other secret variables (`resolving` holds
    /// the chain so far, so a loop is reported instead of followed forever).
    fn resolve_variable<'a>(
        &'a self,
        step: &'a str,
        name: &'a str,
        resolving: &'a mut Vec<String>,
    ) -> futures_util::future::BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let Some(var) = self.secrets.iter().find(|v| v.name == name) else {
                return Err(format!("variable `{name}` is secret-backed but its secret type is unknown"));
            };
            if resolving.iter().any(|n| n == name) {
                return Err(format!("secret variables refer to each other in a loop: {} -> {name}", resolving.join(" -> ")));
            }
            let (source, var_path, var_key) = match &var.origin {
                SecretOrigin::Fetched { source, path, key } => (source, path, key),
                SecretOrigin::Given { value } => {
                    self.log.redactor().add(value);
                    return Ok(value.clone());
                }
            };
            resolving.push(name.to_string());
            let mut chained = Vec::new();
            names_in(var_path, &mut chained);
            names_in(var_key, &mut chained);
            let mut config = source.config.clone();
            walk_json(&mut config, &mut |s| names_in(s, &mut chained));
            let mut values = BTreeMap::new();
            for other in chained {
                let value = self.resolve_variable(step, &other, resolving).await?;
                values.insert(other, value);
            }
            resolving.pop();
            let (mut path, mut key) = (var_path.clone(), var_key.clone());
            substitute(&mut path, &values);
            substitute(&mut key, &values);
            // A secret type's own settings may use secrets too (a Vault token from the env).
            walk_json(&mut config, &mut |s| substitute(s, &values));
            let source = SecretSource { plugin: source.plugin.clone(), config };
            match self.read_secret(step, &source, &path, &key).await {
                Ok(Some(value)) => Ok(value),
                Ok(None) => Err(format!("secret for variable `{name}` not found (path `{var_path}`, key `{var_key}`)")),
                Err(e) => Err(format!("cannot resolve variable `{name}`: {e}")),
            }
        })
    }

    /// `secret_<key>` for each such name the step refers to, read from its `secrets`.
    async fn step_secrets(&self, step: &mut Step) -> Result<Vec<(String, String)>, String> {
        if step.secrets.is_empty() {
            return Ok(Vec::new());
        }
        let mut keys = Vec::new();
        walk_step(&mut step.action, &mut |s| step_secret_keys_in(s, &mut keys));
        let mut env = Vec::new();
        'keys: for key in keys {
            for secret in &step.secrets {
                if let Some(value) =
                    self.read_secret(&step.name, &secret.source, &secret.path, &key).await.map_err(|e| format!("cannot read secret `{key}`: {e}"))?
                {
                    env.push((format!("secret_{key}"), value));
                    continue 'keys;
                }
            }
            let places: Vec<String> = step.secrets.iter().map(|s| format!("`{}` of {}", s.path, s.source.plugin.name)).collect();
            return Err(format!("the step uses `$secret_{key}`, but no secret `{key}` is at {}", places.join(" or ")));
        }
        Ok(env)
    }

    /// A value from a secret type, redacted from the log from now on.
    async fn read_secret(&self, step: &str, source: &SecretSource, path: &str, key: &str) -> Result<Option<String>, String> {
        let values = super::grants::CallValues { source: Some(&source.config), secret_path: Some(path), secret_key: Some(key), ..Default::default() };
        let grants = self.grants_for(step, &source.plugin, &values, &[]);
        let plugin = self.plugin(&source.plugin)?;
        let value = plugin.get_secret(&grants, self.log.step(step), &source.config, path, key).await.map_err(|e| e.to_string())?;
        if let Some(value) = &value {
            self.log.redactor().add(value);
        }
        Ok(value)
    }
}

fn substitute(text: &mut String, values: &BTreeMap<String, String>) {
    for (name, value) in values {
        *text = text.replace(&placeholder(name), value);
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

    #[test]
    fn finds_step_secret_references() {
        let mut keys = Vec::new();
        step_secret_keys_in("curl -u $secret_user:${secret_pass} $no_secret_x secret_plain", &mut keys);
        assert_eq!(keys, ["user", "pass"]);
    }
}
