//! What of the worker each team's plugins may use: its environment variables (an `env:NAME`
//! grant, which the `env` secret type asks for) and its directories (a `read:`/`write:` grant).
//!
//! One worker serves every team of its server; its environment holds the operator's credentials
//! and its disk the server's database. Without rules, team B's pipeline could name team A's
//! variable, or grant its task the database's directory, and read it. The operator says what each
//! team may use with `--team-env TEAM=NAME,PREFIX_*` and `--team-dirs TEAM=DIR,DIR`; the server's
//! default team (`--team-canonical`, `main`), the operator's own, uses everything until a rule
//! names it, and any other team nothing beyond its own build and caches until one does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The worker's basic variables, which every task gets anyway and no rule withholds.
pub const WORKER_BASICS: &[&str] = &["PATH", "HOME", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR"];

/// Each team's list of what it may use, from one repeatable flag. `by_team: None` places no
/// restriction: `pikoci run` and a worker that belongs to one person.
#[derive(Debug, Clone)]
struct Rules<T> {
    by_team: Option<HashMap<String, Vec<T>>>,
    /// The team that uses everything unless a rule names it.
    operator: String,
}

impl<T> Default for Rules<T> {
    fn default() -> Self {
        Rules { by_team: None, operator: String::new() }
    }
}

enum Allowance<'a, T> {
    Everything,
    Only(&'a [T]),
}

impl<T> Rules<T> {
    /// `items` of `flag` (`TEAM=A,B`; a team given twice gets both lists), each value read by
    /// `value`; `shape` and `example` say in errors what was expected.
    fn parse(flag: &str, shape: &str, example: &str, operator: &str, items: &[String], value: impl Fn(&str) -> Result<T, String>) -> Result<Self, String> {
        let mut by_team: HashMap<String, Vec<T>> = HashMap::new();
        for item in items {
            let Some((team, values)) = item.split_once('=') else {
                return Err(format!("{flag} `{item}`: expected TEAM={shape}, as `{flag} {example}`"));
            };
            let team = team.trim();
            if team.is_empty() {
                return Err(format!("{flag} `{item}`: the team's name is missing before `=`"));
            }
            let entry = by_team.entry(team.to_string()).or_default();
            for text in values.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                entry.push(value(text).map_err(|why| format!("{flag} `{item}`: {why}"))?);
            }
        }
        Ok(Rules { by_team: Some(by_team), operator: operator.to_string() })
    }

    fn of(&self, team: &str) -> Allowance<'_, T> {
        let Some(by_team) = &self.by_team else { return Allowance::Everything };
        match by_team.get(team) {
            Some(values) => Allowance::Only(values),
            None if team == self.operator => Allowance::Everything,
            None => Allowance::Only(&[]),
        }
    }
}

/// Which worker variables each team may read: names, each exact or ending in `*` for a prefix.
#[derive(Debug, Clone, Default)]
pub struct TeamEnv(Rules<String>);

impl TeamEnv {
    /// A server's rules: `operator` is its default team, `items` its `--team-env` values.
    pub fn for_server(operator: &str, items: &[String]) -> Result<Self, String> {
        Rules::parse("--team-env", "NAME[,NAME...]", "web=GITHUB_TOKEN,NPM_*", operator, items, |name| {
            let bare = name.strip_suffix('*').unwrap_or(name);
            if bare.contains(['=', '*']) || bare.chars().any(char::is_whitespace) {
                return Err(format!("`{name}` is not a variable name (a `*` may only end it)"));
            }
            Ok(name.to_string())
        })
        .map(TeamEnv)
    }

    /// Whether plugins of `team`'s pipelines may read the worker's variable `name`.
    pub fn allows(&self, team: &str, name: &str) -> bool {
        if WORKER_BASICS.contains(&name) {
            return true;
        }
        match self.0.of(team) {
            Allowance::Everything => true,
            Allowance::Only(patterns) => patterns.iter().any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => pattern == name,
            }),
        }
    }

    /// Drop from `env` what `team` may not read; the names dropped.
    pub fn withhold(&self, team: &str, env: &mut Vec<(String, String)>) -> Vec<String> {
        let mut withheld = Vec::new();
        env.retain(|(name, _)| {
            let allowed = self.allows(team, name);
            if !allowed {
                withheld.push(name.clone());
            }
            allowed
        });
        withheld
    }
}

/// Which of the worker's directories each team's pipelines may grant their plugins, beyond
/// what the worker gives every build (its work directory, the team's caches).
#[derive(Debug, Clone, Default)]
pub struct TeamDirs(Rules<PathBuf>);

impl TeamDirs {
    /// A server's rules: `operator` is its default team, `items` its `--team-dirs` values.
    pub fn for_server(operator: &str, items: &[String]) -> Result<Self, String> {
        Rules::parse("--team-dirs", "DIR[,DIR...]", "web=/srv/web,/var/cache/npm", operator, items, |dir| {
            let path = Path::new(dir);
            if !path.is_absolute() || path.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
                return Err(format!("`{dir}` is not an absolute path without `..`"));
            }
            Ok(path.components().collect())
        })
        .map(TeamDirs)
    }

    /// Whether `team`'s pipelines may grant `path`, the worker giving `own` to each call. Paths
    /// are compared as the file system resolves them: a symlink a task left in its own directory
    /// leads where it points.
    pub fn allows(&self, team: &str, path: &Path, own: &[&Path]) -> bool {
        match self.0.of(team) {
            Allowance::Everything => true,
            Allowance::Only(dirs) => {
                let path = resolved(path);
                dirs.iter().map(PathBuf::as_path).chain(own.iter().copied()).any(|dir| !dir.as_os_str().is_empty() && path.starts_with(resolved(dir)))
            }
        }
    }

    /// Drop from `directories` what `team` may not grant; the paths dropped.
    pub fn withhold(&self, team: &str, directories: &mut Vec<crate::runtime::capability::DirectoryGrant>, own: &[&Path]) -> Vec<PathBuf> {
        let mut withheld = Vec::new();
        directories.retain(|grant| {
            let allowed = self.allows(team, &grant.path, own);
            if !allowed {
                withheld.push(grant.path.clone());
            }
            allowed
        });
        withheld
    }
}

/// `path` with its symlinks resolved, as far as it exists.
fn resolved(path: &Path) -> PathBuf {
    let mut existing = path;
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            return rest.iter().rev().fold(real, |dir, part| dir.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_rules(items: &[&str]) -> TeamEnv {
        TeamEnv::for_server("main", &items.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn without_rules_only_the_operator_team_reads_the_environment() {
        let env = env_rules(&[]);
        assert!(env.allows("main", "AWS_SECRET_ACCESS_KEY"));
        assert!(!env.allows("web", "AWS_SECRET_ACCESS_KEY"));
        assert!(env.allows("web", "PATH"), "the worker's basics are every team's");
        assert!(TeamEnv::default().allows("web", "AWS_SECRET_ACCESS_KEY"));
    }

    #[test]
    fn a_rule_names_variables_and_prefixes() {
        let env = env_rules(&["web=GITHUB_TOKEN, NPM_*", "web=EXTRA", "main=DEPLOY_KEY"]);
        assert!(env.allows("web", "GITHUB_TOKEN"));
        assert!(env.allows("web", "NPM_TOKEN"));
        assert!(env.allows("web", "EXTRA"));
        assert!(!env.allows("web", "GITHUB_TOKEN_2"));
        assert!(!env.allows("main", "AWS_SECRET_ACCESS_KEY"), "a rule for main replaces its default");
        assert!(env.allows("main", "DEPLOY_KEY"));
    }

    #[test]
    fn bad_rules_say_what_was_expected() {
        for (item, says) in [("web", "expected TEAM=NAME"), ("=X", "team's name is missing"), ("web=A*B", "not a variable name")] {
            let err = TeamEnv::for_server("main", &[item.to_string()]).unwrap_err();
            assert!(err.contains(says), "{item}: {err}");
        }
        for (item, says) in [("web", "expected TEAM=DIR"), ("web=srv", "not an absolute path"), ("web=/srv/../etc", "without `..`")] {
            let err = TeamDirs::for_server("main", &[item.to_string()]).unwrap_err();
            assert!(err.contains(says), "{item}: {err}");
        }
    }

    #[test]
    fn a_team_grants_its_own_directories_and_those_a_rule_gives_it() {
        let dirs = TeamDirs::for_server("main", &["web=/srv/web".to_string()]).unwrap();
        let own = [Path::new("/tmp/pikoci-build-1"), Path::new("")];
        assert!(dirs.allows("main", Path::new("/var/lib/pikoci"), &own));
        assert!(dirs.allows("web", Path::new("/srv/web/site"), &own));
        assert!(dirs.allows("web", Path::new("/tmp/pikoci-build-1/out"), &own));
        assert!(!dirs.allows("web", Path::new("/srv/webhooks"), &own));
        assert!(!dirs.allows("web", Path::new("/"), &own), "an empty own directory covers nothing");
        assert!(!dirs.allows("ops", Path::new("/srv/web"), &own));
        assert!(TeamDirs::default().allows("ops", Path::new("/"), &own));
    }

    #[test]
    fn a_symlink_in_a_teams_own_directory_does_not_lead_out_of_it() {
        let build = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc", build.path().join("out")).unwrap();
        std::fs::create_dir(build.path().join("real")).unwrap();
        let dirs = TeamDirs::for_server("main", &[]).unwrap();
        let own = [build.path()];
        assert!(dirs.allows("web", &build.path().join("real"), &own));
        assert!(dirs.allows("web", &build.path().join("real/not-yet"), &own));
        assert!(!dirs.allows("web", &build.path().join("out"), &own));
        assert!(!dirs.allows("web", &build.path().join("out/ssl/new"), &own));
    }
}
