//! The pipeline's types (resource types, runners, service types, secret types), each resolved
//! to a loaded plugin with the grants its `allow` block gives.
//!
//! A type is, in order: a block of the pipeline with `source` (a plugin address), a block with
//! inline exec commands (run by a built-in adapter plugin), a block named like a built-in with
//! neither (the built-in, with that block's grants and settings), or a built-in of the same name.

use super::body::{self, LoadResult, Place};
use crate::builtin;
use crate::executor::BoundPlugin;
use crate::plugin_source::PluginLocator;
use crate::runtime::{Capabilities, PluginEngine, PluginKind};
use hcl::eval::Context;
use hcl::{Block, Body};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How a resource type runs.
#[derive(Clone)]
pub enum ResourceTypeImpl {
    /// A component; `cache` is the type block's `cache` setting, if it has one.
    Plugin { plugin: BoundPlugin, cache: Option<bool> },
    /// PikoCI's inline check/pull/push exec commands, run by `pikoci://exec-resource-type`.
    Inline { adapter: BoundPlugin, definition: Value, cache: bool },
    /// PikoCI's built-in `trigger`: the server's team-scoped event streams, no plugin.
    Trigger,
}

/// The resource type served by the server itself rather than by a plugin.
pub const TRIGGER_TYPE: &str = "trigger";

/// How a runner runs a task.
#[derive(Clone)]
pub enum RunnerImpl {
    Plugin(BoundPlugin),
    /// `runner_type` with a `run { path, args }` template over the task's attributes.
    Template { exec: BoundPlugin, path: String, args: Vec<String> },
}

/// How a service type runs.
#[derive(Clone)]
pub enum ServiceTypeImpl {
    /// A plugin, with its type block's attributes as default params.
    Plugin(BoundPlugin, Value),
    /// PikoCI's inline start/ready_check/stop commands, run by `pikoci://exec-service-type`.
    Inline { adapter: BoundPlugin, definition: Value, interval: Option<std::time::Duration>, timeout: Option<std::time::Duration> },
}

#[derive(Default)]
pub struct TypeTable {
    resource_types: BTreeMap<String, ResourceTypeImpl>,
    runners: BTreeMap<String, RunnerImpl>,
    service_types: BTreeMap<String, ServiceTypeImpl>,
    secret_types: BTreeMap<String, (BoundPlugin, Value)>,
    builtins: BTreeMap<String, Arc<crate::runtime::Plugin>>,
}

const OPERATIONS: &[&str] = &["check", "pull", "push", "run", "start", "ready_check", "stop", "get"];

/// The `allow { read = [...] write = [...] net = [...] run = [...] env = [...] }` block.
fn allow_block(body: &Body, ctx: &Context, place: &Place) -> LoadResult<Capabilities> {
    let mut caps = Capabilities::default();
    let Some(allow) = body::block(body, "allow") else { return Ok(caps) };
    let place = place.child(allow);
    for attr in allow.body.attributes() {
        let kind = attr.key.as_str();
        if !["read", "write", "net", "run", "env"].contains(&kind) {
            return Err(format!("{place}: unknown capability `{kind}`; expected read, write, net, run or env"));
        }
        for value in body::strings_attr(&allow.body, ctx, &place, kind)? {
            let cap = format!("{kind}:{value}").parse::<crate::runtime::Capability>().map_err(|e| format!("{place}: {e}"))?;
            caps.grant(cap);
        }
    }
    Ok(caps)
}

fn exec_of(block: &Block, ctx: &Context, place: &Place) -> LoadResult<Value> {
    let place = place.child(block);
    let runner = block.labels.first().map(|l| l.as_str()).unwrap_or("exec");
    if runner != "exec" {
        return Err(format!("{place}: inline commands run with the `exec` runner; `{runner}` is not supported here yet"));
    }
    let path = body::string_attr(&block.body, ctx, &place, "path")?.ok_or_else(|| format!("{place}: `path` is required"))?;
    let args = body::strings_attr(&block.body, ctx, &place, "args")?;
    Ok(serde_json::json!({ "path": path, "args": args }))
}

impl TypeTable {
    pub async fn resolve(body: &Body, ctx: &Context<'static>, engine: &PluginEngine, locator: &PluginLocator) -> LoadResult<TypeTable> {
        let mut table = TypeTable::default();
        for b in builtin::BUILTINS {
            let plugin = engine.load(&format!("pikoci://{}", b.name), b.bytes).map_err(|e| e.to_string())?;
            table.builtins.insert(b.name.to_string(), Arc::new(plugin));
        }
        for block in body.blocks() {
            let kind = match block.identifier.as_str() {
                "resource_type" => PluginKind::ResourceType,
                "runner_type" => PluginKind::Runner,
                "service_type" => PluginKind::ServiceType,
                "secret_type" => PluginKind::SecretType,
                _ => continue,
            };
            let place = Place::default().child(block);
            let name = block.labels.first().map(|l| l.as_str().to_string()).ok_or_else(|| format!("{place}: name the type: {} \"NAME\" {{ ... }}", block.identifier.as_str()))?;
            let grants = allow_block(&block.body, ctx, &place)?;
            let source = body::string_attr(&block.body, ctx, &place, "source")?;
            let inline: Vec<&Block> = block.body.blocks().filter(|b| OPERATIONS.contains(&b.identifier.as_str())).collect();
            if source.is_some() && !inline.is_empty() {
                return Err(format!("{place}: `source` and inline commands exclude each other; keep one"));
            }
            let config = Value::Object(body::attributes(&block.body, ctx, &place, &["source", "params", "cache", "digest"])?);
            let cache = body::bool_attr(&block.body, ctx, &place, "cache")?;
            if let Some(address) = source {
                let digest = match body::string_attr(&block.body, ctx, &place, "digest")? {
                    Some(d) => Some(d.parse::<pikoci_registry::Digest>().map_err(|e| format!("{place}: {e}"))?),
                    None => None,
                };
                let located = locator.fetch_pinned(&address, digest, None).await.map_err(|e| format!("{place}: {e:#}"))?;
                if located.manifest.kind != kind {
                    return Err(format!("{place}: `{address}` is a {}, not a {kind}", located.manifest.kind));
                }
                let plugin = engine.load(&located.origin, &located.bytes).map_err(|e| format!("{place}: {e}"))?;
                let trusted = address.starts_with(builtin::SCHEME);
                let bound = BoundPlugin { plugin: Arc::new(plugin), grants, trusted };
                table.insert(kind, name, bound, config, cache);
                continue;
            }
            if inline.is_empty() && !(kind == PluginKind::Runner && body::block(&block.body, "run").is_some()) {
                if let Some(builtin) = table.builtins.get(&name).filter(|p| p.kind() == kind) {
                    let bound = BoundPlugin { plugin: builtin.clone(), grants, trusted: true };
                    table.insert(kind, name, bound, config, cache);
                    continue;
                }
            }
            match kind {
                PluginKind::ResourceType => {
                    let mut definition = serde_json::Map::new();
                    definition.insert("name".into(), Value::String(name.clone()));
                    for op in ["check", "pull", "push"] {
                        if let Some(b) = inline.iter().find(|b| b.identifier.as_str() == op) {
                            definition.insert(op.into(), exec_of(b, ctx, &place)?);
                        }
                    }
                    if definition.len() == 1 {
                        return Err(format!("{place}: a resource_type needs `source` or inline `check`/`pull`/`push` commands (or the name of a built-in: {})", table.builtin_names(kind)));
                    }
                    let adapter = table.builtin_bound("exec-resource-type", grants)?;
                    table.resource_types.insert(name, ResourceTypeImpl::Inline { adapter, definition: Value::Object(definition), cache: cache.unwrap_or(false) });
                }
                PluginKind::Runner => {
                    let run = body::block(&block.body, "run").ok_or_else(|| format!("{place}: a runner_type needs `source` or a `run {{ path, args }}` block"))?;
                    let run_place = place.child(run);
                    let path = body::string_attr(&run.body, ctx, &run_place, "path")?.ok_or_else(|| format!("{run_place}: `path` is required"))?;
                    let args = body::strings_attr(&run.body, ctx, &run_place, "args")?;
                    let exec = table.builtin_bound("exec", grants)?;
                    table.runners.insert(name, RunnerImpl::Template { exec, path, args });
                }
                PluginKind::ServiceType => {
                    let mut definition = serde_json::Map::new();
                    definition.insert("name".into(), Value::String(name.clone()));
                    let (mut interval, mut timeout) = (None, None);
                    for op in ["start", "ready_check", "stop"] {
                        if let Some(b) = inline.iter().find(|b| b.identifier.as_str() == op) {
                            definition.insert(op.into(), exec_of(b, ctx, &place)?);
                            if op == "ready_check" {
                                let check_place = place.child(b);
                                interval = body::duration_attr(&b.body, ctx, &check_place, "interval")?;
                                timeout = body::duration_attr(&b.body, ctx, &check_place, "timeout")?;
                            }
                        }
                    }
                    if !definition.contains_key("start") {
                        return Err(format!("{place}: a service_type needs `source` or a `start \"exec\" {{ ... }}` block"));
                    }
                    let adapter = table.builtin_bound("exec-service-type", grants)?;
                    table.service_types.insert(name, ServiceTypeImpl::Inline { adapter, definition: Value::Object(definition), interval, timeout });
                }
                PluginKind::SecretType => {
                    let get = inline
                        .iter()
                        .find(|b| b.identifier.as_str() == "get")
                        .ok_or_else(|| format!("{place}: a secret_type needs `source` or a `get \"exec\" {{ ... }}` block"))?;
                    // The block's other attributes reach the command as $param_<name>.
                    let definition = serde_json::json!({ "name": name, "get": exec_of(get, ctx, &place)?, "params": config });
                    let adapter = table.builtin_bound("exec-secret-type", grants)?;
                    table.secret_types.insert(name, (adapter, definition));
                }
            }
        }
        Ok(table)
    }

    fn insert(&mut self, kind: PluginKind, name: String, bound: BoundPlugin, config: Value, cache: Option<bool>) {
        match kind {
            PluginKind::ResourceType => {
                self.resource_types.insert(name, ResourceTypeImpl::Plugin { plugin: bound, cache });
            }
            PluginKind::Runner => {
                self.runners.insert(name, RunnerImpl::Plugin(bound));
            }
            PluginKind::ServiceType => {
                self.service_types.insert(name, ServiceTypeImpl::Plugin(bound, config));
            }
            PluginKind::SecretType => {
                self.secret_types.insert(name, (bound, config));
            }
        }
    }

    fn builtin_bound(&self, name: &str, grants: Capabilities) -> LoadResult<BoundPlugin> {
        let plugin = self.builtins.get(name).cloned().ok_or_else(|| format!("built-in `{name}` is missing from this binary"))?;
        Ok(BoundPlugin { plugin, grants, trusted: true })
    }

    /// A built-in of `kind` named `name`, for types the pipeline uses without declaring.
    fn builtin_of(&self, kind: PluginKind, name: &str) -> LoadResult<BoundPlugin> {
        match self.builtins.get(name) {
            Some(plugin) if plugin.kind() == kind => self.builtin_bound(name, Capabilities::default()),
            Some(plugin) => Err(format!("`{name}` is a built-in {}, not a {kind}", plugin.kind())),
            None => Err(format!("{kind} `{name}` is not defined in the pipeline and is not a built-in (built-in {kind}s: {})", self.builtin_names(kind))),
        }
    }

    fn builtin_names(&self, kind: PluginKind) -> String {
        let known: Vec<&str> = self.builtins.iter().filter(|(_, p)| p.kind() == kind).map(|(n, _)| n.as_str()).collect();
        known.join(", ")
    }

    pub fn resource_type(&self, name: &str) -> LoadResult<ResourceTypeImpl> {
        match self.resource_types.get(name) {
            Some(found) => Ok(found.clone()),
            None if name == TRIGGER_TYPE => Ok(ResourceTypeImpl::Trigger),
            None => self.builtin_of(PluginKind::ResourceType, name).map(|plugin| ResourceTypeImpl::Plugin { plugin, cache: None }),
        }
    }

    pub fn runner(&self, name: &str) -> LoadResult<RunnerImpl> {
        match self.runners.get(name) {
            Some(found) => Ok(found.clone()),
            None => self.builtin_of(PluginKind::Runner, name).map(RunnerImpl::Plugin),
        }
    }

    pub fn service_type(&self, name: &str) -> LoadResult<ServiceTypeImpl> {
        match self.service_types.get(name) {
            Some(found) => Ok(found.clone()),
            None => self.builtin_of(PluginKind::ServiceType, name).map(|b| ServiceTypeImpl::Plugin(b, Value::Object(Default::default()))),
        }
    }

    pub fn secret_type(&self, name: &str) -> LoadResult<(BoundPlugin, Value)> {
        match self.secret_types.get(name) {
            Some(found) => Ok(found.clone()),
            None => self.builtin_of(PluginKind::SecretType, name).map(|b| (b, Value::Object(Default::default()))),
        }
    }
}
