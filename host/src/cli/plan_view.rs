//! `pikoci pipeline plan`'s summary: a compiled pipeline as a person reads it. The JSON form
//! (`--json`) is the compiled pipeline itself.

use crate::executor::{Action, Hooks, PluginRef, ResourceBackend, Step};
use crate::planner::{CompiledJob, CompiledPipeline};
use std::fmt::Write as _;

fn plugin(p: &PluginRef) -> String {
    let digest = p.digest.to_string();
    let mut out = if p.digest == crate::planner::compile::unfetched_digest() {
        format!("{} (not fetched: its digest is known once it is)", p.origin)
    } else {
        format!("{} ({}…)", p.origin, &digest[..digest.len().min(19)])
    };
    if !p.grants.is_empty() {
        let grants: Vec<String> = p.grants.iter().map(|g| g.to_string()).collect();
        let _ = write!(out, " allow [{}]", grants.join(", "));
    }
    if let Some(container) = &p.container {
        let _ = write!(out, " in container {}", container.get("image").and_then(|i| i.as_str()).unwrap_or("?"));
    }
    out
}

fn backend(b: &ResourceBackend) -> String {
    match b {
        ResourceBackend::Plugin { plugin: p, source, cache } => format!("{}{}\n      params: {source}", plugin(p), if *cache { ", cached" } else { "" }),
        ResourceBackend::Inline { adapter, definition, cache } => {
            format!("inline commands by {}{}\n      definition: {definition}", plugin(adapter), if *cache { ", cached" } else { "" })
        }
        ResourceBackend::Trigger { stream } => format!("trigger stream `{stream}` of the team"),
    }
}

/// The resources a job's steps and hooks get or put.
pub fn used_resources(job: &CompiledJob) -> Vec<String> {
    fn walk(steps: &[Step], out: &mut Vec<String>) {
        for s in steps {
            match &s.action {
                Action::Put(p) => out.push(p.resource.clone()),
                Action::Get(g) => out.push(g.resource.clone()),
                Action::InParallel { steps, .. } | Action::Do(steps) => walk(steps, out),
                Action::If(branches) => branches.iter().for_each(|b| walk(&b.steps, out)),
                _ => {}
            }
            for hooks in s.hooks.all() {
                walk(hooks, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&job.steps, &mut out);
    for hooks in job.hooks.all() {
        walk(hooks, &mut out);
    }
    out
}

fn steps(out: &mut String, list: &[Step], depth: usize) {
    let pad = "  ".repeat(depth);
    for s in list {
        let mut line = s.name.clone();
        match &s.action {
            Action::Get(g) => {
                let _ = write!(line, " -> {}/", g.directory);
                if g.params.as_object().is_some_and(|m| !m.is_empty()) {
                    let _ = write!(line, " params {}", g.params);
                }
            }
            Action::Put(p) if p.params.as_object().is_some_and(|m| !m.is_empty()) => {
                let _ = write!(line, " params {}", p.params);
            }
            Action::Task(t) => {
                let _ = write!(line, ": {} runs {} {}", plugin(&t.runner), t.path, serde_json::to_string(&t.args).unwrap_or_default());
                if !t.env.is_empty() {
                    let names: Vec<&str> = t.env.iter().map(|(k, _)| k.as_str()).collect();
                    let _ = write!(line, " env [{}]", names.join(", "));
                }
            }
            Action::Service(svc) => {
                let _ = write!(line, ": {}", plugin(&svc.plugin));
            }
            Action::Notify(n) => {
                let _ = write!(line, ": {}", plugin(&n.plugin));
            }
            Action::InParallel { limit, fail_fast, .. } => {
                let _ = write!(line, " (limit {}, fail_fast {fail_fast})", limit.map_or("none".to_string(), |l| l.to_string()));
            }
            _ => {}
        }
        if let Some(t) = s.timeout {
            let _ = write!(line, ", timeout {}", humantime::format_duration(t));
        }
        if s.attempts > 1 {
            let _ = write!(line, ", {} attempts", s.attempts);
        }
        for secret in &s.secrets {
            let _ = write!(line, ", secrets from {} at `{}`", secret.source.plugin.origin, secret.path);
        }
        let _ = writeln!(out, "{pad}{line}");
        match &s.action {
            Action::InParallel { steps: inner, .. } | Action::Do(inner) => steps(out, inner, depth + 1),
            Action::If(branches) => {
                for b in branches {
                    let _ = writeln!(out, "{pad}  {}:", b.name);
                    steps(out, &b.steps, depth + 2);
                }
            }
            _ => {}
        }
        hooks(out, &s.hooks, depth + 1);
    }
}

fn hooks(out: &mut String, h: &Hooks, depth: usize) {
    let pad = "  ".repeat(depth);
    for (name, list) in ["on_success", "on_failure", "on_error", "on_abort", "ensure"].into_iter().zip(h.all()) {
        if !list.is_empty() {
            let _ = writeln!(out, "{pad}{name}:");
            steps(out, list, depth + 1);
        }
    }
}

pub fn render(p: &CompiledPipeline) -> String {
    let mut out = format!("pipeline {} (team {})\n", p.name, p.team);
    if !p.secrets.is_empty() {
        out.push_str("\nsecret variables\n");
        for s in &p.secrets {
            let _ = match &s.origin {
                crate::executor::SecretOrigin::Fetched { source, path, key } => {
                    writeln!(out, "  {}: key `{key}` at `{path}` from {}", s.name, plugin(&source.plugin))
                }
                crate::executor::SecretOrigin::Given { .. } => writeln!(out, "  {}: given on the command line or in a vars file", s.name),
            };
        }
    }
    out.push_str("\nresources\n");
    for r in &p.resources {
        let interval = r.check_interval.as_ref().map_or("every 1m (default)".to_string(), |i| match i {
            pikoci_pipeline::CheckInterval::Every(d) => format!("every {}", humantime::format_duration(*d)),
            pikoci_pipeline::CheckInterval::Cron(c) => format!("cron `{c}`"),
        });
        let _ = writeln!(out, "  {} ({}), checked {interval}\n      {}", r.name, r.type_name, backend(&r.backend));
    }
    for job in &p.jobs {
        let _ = write!(out, "\njob {}", job.name);
        if let Some(n) = job.concurrency {
            let _ = write!(out, " (at most {n} at once)");
        }
        out.push('\n');
        for g in &job.gets {
            let mut line = format!("  input {}", g.resource);
            if g.trigger {
                line.push_str(", triggers");
            }
            if !g.passed.is_empty() {
                let _ = write!(line, ", passed {}", g.passed.join(", "));
            }
            let _ = writeln!(out, "{line}");
        }
        out.push_str("  steps:\n");
        steps(&mut out, &job.steps, 2);
        hooks(&mut out, &job.hooks, 1);
        for n in &job.notifications {
            let on: Vec<&str> = n.on.iter().map(|e| e.as_str()).collect();
            let _ = writeln!(out, "  then on {}: {}", on.join(", "), n.step.name);
        }
    }
    out
}
