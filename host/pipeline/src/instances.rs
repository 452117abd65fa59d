//! PikoCI's job instances: a job block with `for_each` or `matrix` is one job per value, named
//! `JOB--SLUG`, each seeing its value as `each.key` / `each.value`; `passed = ["JOB"]` elsewhere
//! means every instance.

use crate::model::{HookAction, Job, Name, Step};
use hcl::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Instances of one block at most: a typo in a `range` must not make a million jobs.
pub const MAX_INSTANCES: usize = 256;

/// One value of a `for_each` or one combination of a `matrix`.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub key: String,
    pub slug: String,
    pub value: Value,
}

impl Instance {
    /// `each`, as the instance's expressions see it.
    pub fn each(&self) -> Value {
        Value::Object([("key".to_string(), Value::String(self.key.clone())), ("value".to_string(), self.value.clone())].into_iter().collect())
    }

    pub fn job_name(&self, base: &str) -> String {
        format!("{base}--{}", self.slug)
    }
}

/// `key` as part of a job name: lower case, every run of characters other than letters, digits
/// and `_` made one `-`, none at either end (PikoCI's `1.21` is `1-21`).
pub fn slug(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches(|c| c == '-' || c == '_').to_string()
}

/// `for_each = toset([...])` (a list of strings: each is its own key and value) or a map
/// (`{ staging = "us-east-1" }`: key and value).
pub fn from_for_each(value: &Value) -> Result<Vec<Instance>, String> {
    let pairs: Vec<(String, Value)> = match value {
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok((s.clone(), item.clone())),
                other => Err(format!("a `for_each` list holds strings (its keys), not {other}; use a map for other values")),
            })
            .collect::<Result<_, _>>()?,
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        other => return Err(format!("`for_each` takes a set of strings (`toset([...])`) or a map, not {other}")),
    };
    let unique: BTreeMap<String, Value> = pairs.into_iter().collect();
    named(unique.into_iter().collect())
}

/// `matrix { go = ["1.21", "1.22"] os = ["linux"] }`: every combination, axes in name order and
/// each axis's values in the order written, keyed by their values' slugs joined with `-`; `each.value` is the combination as an object.
pub fn from_matrix(axes: &BTreeMap<String, Vec<String>>) -> Result<Vec<Instance>, String> {
    if axes.is_empty() {
        return Err("a `matrix` needs at least one axis, such as `os = [\"linux\", \"darwin\"]`".into());
    }
    if let Some((axis, _)) = axes.iter().find(|(_, values)| values.is_empty()) {
        return Err(format!("matrix axis `{axis}` has no values"));
    }
    let count = axes.values().try_fold(1usize, |n, values| n.checked_mul(values.len())).unwrap_or(usize::MAX);
    if count > MAX_INSTANCES {
        return Err(format!("the matrix makes {count} jobs, more than {MAX_INSTANCES}"));
    }
    let mut combinations: Vec<Vec<(&str, &str)>> = vec![Vec::new()];
    for (axis, values) in axes {
        combinations =
            combinations.into_iter().flat_map(|done| values.iter().map(move |v| [done.clone(), vec![(axis.as_str(), v.as_str())]].concat())).collect();
    }
    let pairs = combinations
        .into_iter()
        .map(|combination| {
            let key = combination.iter().map(|(_, v)| slug(v)).collect::<Vec<_>>().join("-");
            let value = Value::Object(combination.iter().map(|(a, v)| (a.to_string(), Value::String(v.to_string()))).collect());
            (key, value)
        })
        .collect();
    named(pairs)
}

fn named(pairs: Vec<(String, Value)>) -> Result<Vec<Instance>, String> {
    if pairs.is_empty() {
        return Err("it makes no job: give it at least one value".into());
    }
    if pairs.len() > MAX_INSTANCES {
        return Err(format!("it makes {} jobs, more than {MAX_INSTANCES}", pairs.len()));
    }
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for (key, value) in pairs {
        let slug = slug(&key);
        if slug.is_empty() {
            return Err(format!("key `{key}` makes no job name: it needs a letter or a digit"));
        }
        if let Some(first) = seen.insert(slug.clone(), key.clone()) {
            return Err(format!("keys `{first}` and `{key}` both make the job name suffix `{slug}`"));
        }
        out.push(Instance { key, slug, value });
    }
    Ok(out)
}

/// Replaces, in every `passed`, the name of a block with instances by its instances' names
/// (unless a job of that very name exists): the version must have passed all of them.
pub fn expand_passed(jobs: &mut [Job]) {
    let names: BTreeSet<String> = jobs.iter().map(|j| j.name.text.clone()).collect();
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for job in jobs.iter() {
        if let Some(group) = &job.group {
            groups.entry(group.clone()).or_default().push(job.name.text.clone());
        }
    }
    groups.retain(|group, _| !names.contains(group));
    if groups.is_empty() {
        return;
    }
    let expand = |passed: &mut Vec<Name>| {
        *passed = passed
            .drain(..)
            .flat_map(|name| match groups.get(&name.text) {
                Some(instances) => instances.iter().map(|text| Name { text: text.clone(), span: name.span }).collect(),
                None => vec![name],
            })
            .collect();
    };
    for job in jobs.iter_mut() {
        let hooks = job.hooks.iter_mut().filter_map(|h| match &mut h.action {
            HookAction::Steps(steps) => Some(steps),
            HookAction::Run(_) => None,
        });
        for steps in std::iter::once(&mut job.steps).chain(hooks) {
            each_get_passed(steps, &expand);
        }
    }
}

fn each_get_passed(steps: &mut [Step], expand: &impl Fn(&mut Vec<Name>)) {
    for step in steps {
        match step {
            Step::Get(get) => expand(&mut get.passed),
            Step::InParallel(p) => each_get_passed(&mut p.steps, expand),
            Step::If(chain) => chain.branches.iter_mut().for_each(|b| each_get_passed(&mut b.steps, expand)),
            _ => {}
        }
        if let Some(common) = step.common_mut() {
            for hook in &mut common.hooks {
                if let HookAction::Steps(steps) = &mut hook.action {
                    each_get_passed(steps, expand);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_job_name_safe() {
        assert_eq!(slug("1.21"), "1-21");
        assert_eq!(slug("Unit Tests!"), "unit-tests");
        assert_eq!(slug("--a__b--"), "a__b");
        assert_eq!(slug("..."), "");
    }

    #[test]
    fn for_each_takes_sets_and_maps() {
        let set = Value::Array(vec![Value::from("unit"), Value::from("e2e"), Value::from("unit")]);
        let got = from_for_each(&set).unwrap();
        assert_eq!(got.iter().map(|i| i.slug.as_str()).collect::<Vec<_>>(), ["e2e", "unit"], "sorted by key, once each");
        let map: Value = Value::Object([("prod".to_string(), Value::from("eu-west-1"))].into_iter().collect());
        let got = from_for_each(&map).unwrap();
        assert_eq!((got[0].key.as_str(), &got[0].value), ("prod", &Value::from("eu-west-1")));
        assert!(from_for_each(&Value::from("x")).unwrap_err().contains("toset"));
        assert!(from_for_each(&Value::Array(vec![])).unwrap_err().contains("no job"));
        let clash = Value::Array(vec![Value::from("1.21"), Value::from("1-21")]);
        assert!(from_for_each(&clash).unwrap_err().contains("both make"));
    }

    #[test]
    fn a_matrix_is_every_combination() {
        let axes: BTreeMap<String, Vec<String>> =
            [("os".to_string(), vec!["linux".to_string(), "darwin".to_string()]), ("go".to_string(), vec!["1.21".to_string(), "1.22".to_string()])]
                .into_iter()
                .collect();
        let got = from_matrix(&axes).unwrap();
        let keys: Vec<&str> = got.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["1-21-linux", "1-21-darwin", "1-22-linux", "1-22-darwin"], "axes by name, values as written");
        assert_eq!(got[0].value, Value::Object([("go".to_string(), Value::from("1.21")), ("os".to_string(), Value::from("linux"))].into_iter().collect()));
        let huge: BTreeMap<String, Vec<String>> = (0..3).map(|a| (format!("a{a}"), (0..10).map(|v| v.to_string()).collect())).collect();
        assert!(from_matrix(&huge).unwrap_err().contains("more than"));
    }
}
