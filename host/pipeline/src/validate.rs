//! Checks that need the whole pipeline: names refer to things that exist and are of the right
//! kind, nothing is declared twice, `passed` has no cycles, plugin sources resolve.

use crate::builtins::{self, TEMPLATE_RUNNER};
use crate::catalog::{Lookup, PluginCatalog, PluginKind};
use crate::diagnostic::{Diagnostic, SourceFile, Span};
use crate::model::*;
use crate::suggest::closest;
use std::collections::{BTreeMap, BTreeSet};

/// `broken_types` were declared with errors already reported: their uses are not undefined.
pub fn validate(pipeline: &Pipeline, broken_types: &[(PluginKind, String)], src: &SourceFile, catalog: &dyn PluginCatalog) -> Vec<Diagnostic> {
    let mut v = Validator { p: pipeline, broken_types, src, catalog, problems: Vec::new() };
    v.duplicates();
    v.types();
    v.variables();
    v.resources();
    v.notifications();
    v.jobs();
    v.passed_cycles();
    v.unused();
    v.problems
}

struct Validator<'a> {
    p: &'a Pipeline,
    broken_types: &'a [(PluginKind, String)],
    src: &'a SourceFile,
    catalog: &'a dyn PluginCatalog,
    problems: Vec<Diagnostic>,
}

/// Every step, nested ones (hooks, `in_parallel`) included, with its job.
fn walk<'p>(steps: &'p [Step], hooks: &'p [Hook], out: &mut Vec<&'p Step>) {
    for step in steps {
        out.push(step);
        match step {
            Step::InParallel(p) => walk(&p.steps, &[], out),
            Step::If(chain) => chain.branches.iter().for_each(|b| walk(&b.steps, &[], out)),
            _ => {}
        }
        if let Some(common) = step.common() {
            walk(&[], &common.hooks, out);
        }
    }
    for hook in hooks {
        if let HookAction::Steps(steps) = &hook.action {
            walk(steps, &[], out);
        }
    }
}

fn all_steps(job: &Job) -> Vec<&Step> {
    let mut out = Vec::new();
    walk(&job.steps, &job.hooks, &mut out);
    out
}

/// Every runner call in hooks of steps and jobs.
fn hook_calls(job: &Job) -> Vec<&RunnerCall> {
    let mut hooks: Vec<&Hook> = job.hooks.iter().collect();
    for step in all_steps(job) {
        if let Some(c) = step.common() {
            hooks.extend(&c.hooks);
        }
    }
    hooks
        .into_iter()
        .filter_map(|h| match &h.action {
            HookAction::Run(call) => Some(call),
            HookAction::Steps(_) => None,
        })
        .collect()
}

impl<'a> Validator<'a> {
    fn push(&mut self, d: Diagnostic) {
        self.problems.push(d);
    }

    /// Names usable for `kind`: declared or built in.
    fn names_of(&self, kind: PluginKind) -> Vec<&'a str> {
        let p = self.p;
        let declared: Vec<&str> = match kind {
            PluginKind::ResourceType => p.resource_types.iter().map(|t| t.decl.name.as_str()).collect(),
            PluginKind::Runner => p.runner_types.iter().map(|t| t.name.as_str()).collect(),
            PluginKind::ServiceType => p.service_types.iter().map(|t| t.name.as_str()).collect(),
            PluginKind::SecretType => p.secret_types.iter().map(|t| t.name.as_str()).collect(),
            PluginKind::NotificationType => p.notification_types.iter().map(|t| t.name.as_str()).collect(),
        };
        let broken = self.broken_types.iter().filter(|(k, _)| *k == kind).map(|(_, n)| n.as_str());
        let mut names: Vec<&str> = declared.into_iter().chain(broken).chain(builtins::undeclared(kind)).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Reports `name` when no type of `kind` has it.
    fn type_ref(&mut self, kind: PluginKind, name: &Name) {
        let names = self.names_of(kind);
        if names.contains(&name.as_str()) {
            return;
        }
        let other = PluginKind::ALL.into_iter().find(|k| *k != kind && self.names_of(*k).contains(&name.as_str()));
        let expected = format!("a `{} \"{name}\"` block, or one of {}", kind.keyword(), names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "));
        let d = match other {
            Some(other) => self.src.error(name.span, format!("`{name}` is a {other}, not a {kind}")).expected(expected),
            None => self
                .src
                .error(name.span, format!("{kind} `{name}` is not defined"))
                .expected(expected)
                .did_you_mean(closest(name.as_str(), names.iter().copied())),
        };
        self.push(d);
    }

    fn duplicates(&mut self) {
        let p = self.p;
        let check = |what: &str, items: Vec<(String, Span)>, problems: &mut Vec<Diagnostic>| {
            let mut first: BTreeMap<String, Span> = BTreeMap::new();
            for (name, span) in items {
                match first.get(&name) {
                    Some(earlier) => {
                        let (line, _) = self.src.position(earlier.start);
                        problems.push(
                            self.src
                                .error(span, format!("{what} `{name}` is declared twice"))
                                .expected(format!("one declaration; the first is on line {line}")),
                        );
                    }
                    None => {
                        first.insert(name, span);
                    }
                }
            }
        };
        let mut problems = Vec::new();
        check("variable", p.variables.iter().map(|v| (v.name.text.clone(), v.name.span)).collect(), &mut problems);
        check("resource type", p.resource_types.iter().map(|t| (t.decl.name.text.clone(), t.decl.name.span)).collect(), &mut problems);
        check("runner type", p.runner_types.iter().map(|t| (t.name.text.clone(), t.name.span)).collect(), &mut problems);
        check("service type", p.service_types.iter().map(|t| (t.name.text.clone(), t.name.span)).collect(), &mut problems);
        check("secret type", p.secret_types.iter().map(|t| (t.name.text.clone(), t.name.span)).collect(), &mut problems);
        check("notification type", p.notification_types.iter().map(|t| (t.name.text.clone(), t.name.span)).collect(), &mut problems);
        check("notification", p.notifications.iter().map(|n| (format!("{}\" \"{}", n.type_name, n.name), n.name.span)).collect(), &mut problems);
        // A resource's name is its identity in builds, versions and caches, whatever its type.
        check("resource", p.resources.iter().map(|r| (r.name.text.clone(), r.name.span)).collect(), &mut problems);
        check("job", p.jobs.iter().map(|j| (j.name.text.clone(), j.name.span)).collect(), &mut problems);
        self.problems.extend(problems);
    }

    fn types(&mut self) {
        let p = self.p;
        for t in &p.resource_types {
            self.type_decl(PluginKind::ResourceType, &t.decl);
            if let Implementation::Inline(ops) = &t.decl.implementation {
                for call in [&ops.check, &ops.pull, &ops.push].into_iter().flatten() {
                    self.inline_runner(call, t.decl.definition.as_deref());
                }
            }
        }
        for t in &p.runner_types {
            self.type_decl(PluginKind::Runner, t);
            if let Some(runner) = &t.runner {
                let d = self
                    .src
                    .error(runner.span, format!("runner type `{}` has a `runner` override; runners run tasks, so a task says where it runs", t.name))
                    .expected("`run \"docker\" { image = ... }` in the task, or a `runner_type` whose `run` starts the container");
                self.push(d);
            }
        }
        for t in &p.service_types {
            self.type_decl(PluginKind::ServiceType, t);
            if let Implementation::Inline(ops) = &t.implementation {
                let ready = ops.ready_check.as_ref().map(|r| &r.call);
                for call in [Some(&ops.start), ready, Some(&ops.stop)].into_iter().flatten() {
                    self.inline_runner(call, t.definition.as_deref());
                }
            }
        }
        for t in &p.secret_types {
            self.type_decl(PluginKind::SecretType, t);
            if let Implementation::Inline(ops) = &t.implementation {
                self.inline_runner(&ops.get, t.definition.as_deref());
            }
        }
        for t in &p.notification_types {
            self.type_decl(PluginKind::NotificationType, t);
            if let Implementation::Inline(ops) = &t.implementation {
                self.inline_runner(&ops.notify, t.definition.as_deref());
            }
        }
    }

    /// Inline commands run through the exec runner (a type-level `runner "docker"` moves them
    /// into a container); another runner there is not built yet, and is refused rather than
    /// ignored. `definition`: the PikoCI definition file the commands were read from, where their
    /// spans point.
    fn inline_runner(&mut self, call: &RunnerCall, definition: Option<&SourceFile>) {
        let src = definition.unwrap_or(self.src);
        if call.runner.text != TEMPLATE_RUNNER {
            let d = src
                .error(call.runner.span, format!("inline commands run with the `exec` runner; `{}` is not supported here yet", call.runner))
                .expected("`\"exec\"`, with a type-level `runner \"docker\" { image = ... }` to run the commands in a container");
            self.push(d);
        }
        // An empty block declares no command (PikoCI's `push "exec" { }`); one with attributes
        // but no program would otherwise be dropped without a word.
        let has_path = call.params.get("path").and_then(|v| v.as_str()).is_some_and(|p| !p.trim().is_empty());
        if !call.params.is_empty() && !has_path {
            let d = src.error(call.span, "this command has no `path`, the program to run").expected("path = \"/bin/sh\", args = [\"-ec\", \"...\"]");
            self.push(d);
        }
    }

    fn type_decl<I>(&mut self, kind: PluginKind, decl: &TypeDecl<I>) {
        if let Some(runner) = &decl.runner {
            if runner.runner.text != "docker" {
                let d = self
                    .src
                    .error(
                        runner.runner.span,
                        format!("a type's `runner` override runs its programs in a container: only `docker` is supported, not `{}`", runner.runner),
                    )
                    .expected("runner \"docker\" { image = \"...\" }");
                self.push(d);
            } else if runner.params.get("image").and_then(|v| v.as_str()).is_none_or(|i| i.trim().is_empty()) {
                let d = self
                    .src
                    .error(runner.span, "the `runner \"docker\"` override needs the `image` to run the type's programs in")
                    .expected("image = \"alpine/git:latest\"");
                self.push(d);
            }
        }
        let Implementation::Source { source, span } = &decl.implementation else { return };
        match self.catalog.lookup(source) {
            Ok(_) if matches!(source, PluginSource::DefinitionFile(_) | PluginSource::DefinitionUrl(_)) => {
                let d = self.src.error(*span, format!("`{source}` is a PikoCI HCL type definition, which pikoci does not load yet")).expected(format!(
                    "a component (`pikoci://NAME`, `oci://...`, a `.wasm` file or URL), or the type's commands inline in this `{}` block",
                    kind.keyword()
                ));
                self.push(d);
            }
            Ok(Lookup::Found(kinds)) if !kinds.contains(&kind) => {
                let is = kinds.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(" and ");
                // PikoCI has some built-in names as two kinds (its older github-check resource,
                // a vault service beside the secret type): say what pikoci's is for.
                let expected = match (kinds.as_slice(), kind) {
                    ([PluginKind::NotificationType], PluginKind::ResourceType) => format!(
                        "`notification_type` for `{source}`, with `notification` blocks and `notify` steps instead of the resource and its `put`s (PikoCI's own migration)"
                    ),
                    ([other], _) => format!("`{}` for `{source}`, or a {kind} plugin in `{}`", other.keyword(), kind.keyword()),
                    _ => format!("a {kind} plugin in `{}`", kind.keyword()),
                };
                let d = self.src.error(*span, format!("`{source}` is a {is}, not a {kind}")).expected(expected);
                self.push(d);
            }
            Ok(Lookup::Found(_) | Lookup::NotChecked) => {}
            Ok(Lookup::NotFound) => {
                let d = match source {
                    PluginSource::Builtin(name) if builtins::PIKOCI_ONLY.contains(&name.as_str()) => self
                        .src
                        .error(*span, format!("PikoCI's built-in `{source}` is not in pikoci yet"))
                        .expected(format!("the {kind} defined inline in this block (PikoCI's `start`/`ready_check`/`stop` exec commands), or a component")),
                    PluginSource::Builtin(name) => {
                        let names = self.catalog.builtin_names();
                        let hint = closest(name, names.iter().map(String::as_str)).map(|n| format!("pikoci://{n}"));
                        self.src
                            .error(*span, format!("built-in `{source}` does not exist"))
                            .expected(format!("one of {}", names.iter().map(|n| format!("`pikoci://{n}`")).collect::<Vec<_>>().join(", ")))
                            .did_you_mean(hint.as_deref())
                    }
                    _ => self.src.error(*span, format!("`{source}` does not exist")).expected("a path relative to the pipeline file"),
                };
                self.push(d);
            }
            Err(e) => {
                let d = self.src.error(*span, format!("cannot resolve `{source}`: {e}"));
                self.push(d);
            }
        }
    }

    fn variables(&mut self) {
        for v in &self.p.variables {
            if let Some(secret) = &v.secret {
                self.type_ref(PluginKind::SecretType, &secret.secret_type);
            }
        }
    }

    fn resources(&mut self) {
        for r in &self.p.resources {
            self.type_ref(PluginKind::ResourceType, &r.type_name);
            if !r.tags.is_empty() {
                let d = self
                    .src
                    .error(r.name.span, format!("resource `{}` has `tags`, which route checks to remote workers: pikoci runs no remote workers yet", r.name))
                    .expected("no `tags` until remote workers exist");
                self.push(d);
            }
        }
    }

    /// A notification's type exists, its params are ones the type lists, and the jobs it names
    /// exist (a `for_each` job's name stands for all its instances).
    fn notifications(&mut self) {
        let p = self.p;
        let job_names: BTreeSet<&str> = p.jobs.iter().flat_map(|j| std::iter::once(j.name.as_str()).chain(j.group.as_deref())).collect();
        for n in &p.notifications {
            self.type_ref(PluginKind::NotificationType, &n.type_name);
            let listed = p.notification_types.iter().find(|t| t.name.text == n.type_name.text).and_then(|t| t.params.as_ref());
            if let Some(listed) = listed {
                for key in n.params.keys().filter(|k| !listed.contains(k)) {
                    let d = self
                        .src
                        .warning(n.name.span, format!("notification `{}` sets param `{key}`, which notification type `{}` does not list", n.name, n.type_name))
                        .expected(format!("one of {}", listed.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", ")))
                        .did_you_mean(closest(key, listed.iter().map(String::as_str)));
                    self.push(d);
                }
            }
            for job in n.jobs.iter().chain(&n.exclude) {
                if !job_names.contains(job.as_str()) {
                    let d = self
                        .src
                        .error(job.span, format!("job `{job}` is not defined"))
                        .expected("the name of a job in this pipeline")
                        .did_you_mean(closest(job.as_str(), job_names.iter().copied()));
                    self.push(d);
                }
            }
        }
    }

    /// A `notify` step names a `notification` block.
    fn notify_ref(&mut self, step: &NotifyStep) {
        if self.p.notification(step.type_name.as_str(), step.name.as_str()).is_some() {
            return;
        }
        let of_type: Vec<&str> = self.p.notifications.iter().filter(|n| n.type_name.text == step.type_name.text).map(|n| n.name.as_str()).collect();
        let d = self
            .src
            .error(step.name.span, format!("notification `{}` of type `{}` is not defined", step.name, step.type_name))
            .expected(format!("a `notification \"{}\" \"{}\"` block", step.type_name, step.name))
            .did_you_mean(closest(step.name.as_str(), of_type.iter().copied()));
        self.push(d);
    }

    fn resource_ref(&mut self, r: &ResourceRef) {
        if self.p.resource(r.type_name.as_str(), r.name.as_str()).is_some() {
            return;
        }
        let same_name: Vec<&Resource> = self.p.resources.iter().filter(|x| x.name.text == r.name.text).collect();
        let d = if let Some(other) = same_name.first() {
            self.src
                .error(r.type_name.span, format!("resource `{}` is a `{}` resource, not `{}`", r.name, other.type_name, r.type_name))
                .expected(format!("\"{}\" \"{}\"", other.type_name, r.name))
        } else {
            let names: Vec<&str> = self.p.resources.iter().map(|x| x.name.as_str()).collect();
            let of_type: Vec<&str> = self.p.resources.iter().filter(|x| x.type_name.text == r.type_name.text).map(|x| x.name.as_str()).collect();
            let hint = closest(r.name.as_str(), of_type.iter().copied()).or_else(|| closest(r.name.as_str(), names.iter().copied()));
            self.src
                .error(r.name.span, format!("resource `{}` is not defined", r.name))
                .expected(format!("a `resource \"{}\" \"{}\"` block", r.type_name, r.name))
                .did_you_mean(hint)
        };
        self.push(d);
    }

    fn jobs(&mut self) {
        let p = self.p;
        let job_names: Vec<&str> = p.jobs.iter().map(|j| j.name.as_str()).collect();
        for job in &p.jobs {
            if !job.tags.is_empty() {
                let d = self
                    .src
                    .error(job.name.span, format!("job `{}` has `tags`, which route builds to remote workers: pikoci runs no remote workers yet", job.name))
                    .expected("no `tags` until remote workers exist");
                self.push(d);
            }
            if job.steps.is_empty() {
                let d = self.src.warning(job.name.span, format!("job `{}` has no steps", job.name));
                self.push(d);
            }
            for call in hook_calls(job) {
                self.type_ref(PluginKind::Runner, &call.runner);
            }
            for notify in &job.on_trigger {
                self.notify_ref(notify);
            }
            for step in all_steps(job) {
                if let Some(c) = step.common() {
                    for (secret_type, _) in &c.secrets {
                        self.type_ref(PluginKind::SecretType, secret_type);
                    }
                }
                match step {
                    Step::Get(g) => {
                        self.resource_ref(&g.resource);
                        for passed in &g.passed {
                            self.passed(job, g, passed, &job_names);
                        }
                    }
                    Step::Put(s) => self.resource_ref(&s.resource),
                    Step::Task(t) => self.type_ref(PluginKind::Runner, &t.run.runner),
                    Step::Service(s) => self.type_ref(PluginKind::ServiceType, &s.service_type),
                    Step::Notify(n) => self.notify_ref(n),
                    Step::InParallel(_) | Step::If(_) => {}
                }
            }
        }
    }

    /// A `passed` job must exist and itself get or put the resource, as in Concourse: otherwise
    /// no version could ever have passed it.
    fn passed(&mut self, job: &Job, get: &GetStep, passed: &Name, job_names: &[&str]) {
        let Some(upstream) = self.p.job(passed.as_str()) else {
            let d = self
                .src
                .error(passed.span, format!("job `{passed}` in `passed` is not defined"))
                .expected("the name of a job in this pipeline")
                .did_you_mean(closest(passed.as_str(), job_names.iter().copied()));
            self.push(d);
            return;
        };
        if upstream.name == job.name {
            return; // reported as a cycle
        }
        let uses = all_steps(upstream).into_iter().any(|s| {
            let r = match s {
                Step::Get(g) => &g.resource,
                Step::Put(p) => &p.resource,
                _ => return false,
            };
            r.type_name.text == get.resource.type_name.text && r.name.text == get.resource.name.text
        });
        if !uses {
            let d = self
                .src
                .error(passed.span, format!("job `{passed}` neither gets nor puts resource `{}`, so no version of it can pass that job", get.resource.name))
                .expected(format!("jobs that `get` or `put` \"{}\" \"{}\"", get.resource.type_name, get.resource.name));
            self.push(d);
        }
    }

    /// Cycles among jobs through `passed` would wait for each other forever.
    fn passed_cycles(&mut self) {
        let p = self.p;
        let edges: BTreeMap<&str, Vec<&Name>> = p
            .jobs
            .iter()
            .map(|j| {
                let passed = all_steps(j).into_iter().filter_map(|s| if let Step::Get(g) = s { Some(g) } else { None }).flat_map(|g| g.passed.iter()).collect();
                (j.name.as_str(), passed)
            })
            .collect();
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let mut reported: BTreeSet<Span> = BTreeSet::new();
        for start in p.jobs.iter().map(|j| j.name.as_str()) {
            let mut path: Vec<&str> = Vec::new();
            self.visit(start, &edges, &mut path, &mut done, &mut reported);
        }
    }

    fn visit<'p>(
        &mut self,
        job: &'p str,
        edges: &BTreeMap<&'p str, Vec<&'p Name>>,
        path: &mut Vec<&'p str>,
        done: &mut BTreeSet<&'p str>,
        reported: &mut BTreeSet<Span>,
    ) {
        if done.contains(job) {
            return;
        }
        path.push(job);
        for passed in edges.get(job).map(Vec::as_slice).unwrap_or_default() {
            let next = passed.as_str();
            if let Some(at) = path.iter().position(|j| *j == next) {
                if reported.insert(passed.span) {
                    let cycle = path[at..].iter().chain(std::iter::once(&next)).map(|j| format!("`{j}`")).collect::<Vec<_>>().join(" → ");
                    let d =
                        self.src.error(passed.span, format!("`passed` makes a cycle: {cycle}")).expected("jobs ordered upstream to downstream, without loops");
                    self.push(d);
                }
            } else if edges.contains_key(next) {
                self.visit(next, edges, path, done, reported);
            }
        }
        path.pop();
        done.insert(job);
    }

    fn unused(&mut self) {
        let p = self.p;
        let used: BTreeSet<(&str, &str)> = p
            .jobs
            .iter()
            .flat_map(all_steps)
            .filter_map(|s| match s {
                Step::Get(g) => Some(&g.resource),
                Step::Put(p) => Some(&p.resource),
                _ => None,
            })
            .map(|r| (r.type_name.as_str(), r.name.as_str()))
            .collect();
        for r in &p.resources {
            if !used.contains(&(r.type_name.as_str(), r.name.as_str())) {
                let d = self.src.warning(r.name.span, format!("resource `{}` is not used by any job", r.name));
                self.push(d);
            }
        }
    }
}
