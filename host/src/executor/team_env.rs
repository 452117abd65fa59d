//! Which of the worker's environment variables each team's plugins may read (an `env:NAME`
//! grant, which the `env` secret type asks for).
//!
//! One worker serves every team of its server, and its environment holds the operator's
//! credentials. Without a rule, team B's pipeline could name team A's variable (or the server's
//! database password) and read it. The operator says what each team may read with
//! `--team-env TEAM=NAME,PREFIX_*`; the server's default team (`--team-canonical`, `main`), the
//! operator's own, reads every variable until a rule names it, and any other team reads none until
//! one does.

use std::collections::HashMap;

/// One team's rule: variable names, each exact or ending in `*` for a prefix.
#[derive(Debug, Clone, Default)]
struct Names(Vec<String>);

impl Names {
    fn allows(&self, name: &str) -> bool {
        self.0.iter().any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => pattern == name,
        })
    }
}

/// The worker's rules. `TeamEnv::default()` places no restriction: `pikoci run` and a worker
/// that belongs to one person.
#[derive(Debug, Clone, Default)]
pub struct TeamEnv {
    /// `None`: every team reads every variable.
    rules: Option<HashMap<String, Names>>,
    /// The team that reads every variable unless a rule names it.
    operator: String,
}

impl TeamEnv {
    /// A server's rules: `operator` is its default team, `items` its `--team-env` values
    /// (`TEAM=NAME,PREFIX_*`, repeatable; a team given twice gets both lists).
    pub fn for_server(operator: &str, items: &[String]) -> Result<Self, String> {
        let mut rules: HashMap<String, Names> = HashMap::new();
        for item in items {
            let Some((team, names)) = item.split_once('=') else {
                return Err(format!("--team-env `{item}`: expected TEAM=NAME[,NAME...], as `--team-env web=GITHUB_TOKEN,NPM_*`"));
            };
            let team = team.trim();
            if team.is_empty() {
                return Err(format!("--team-env `{item}`: the team's name is missing before `=`"));
            }
            let entry = rules.entry(team.to_string()).or_default();
            for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let bare = name.strip_suffix('*').unwrap_or(name);
                if bare.contains(['=', '*']) || bare.chars().any(char::is_whitespace) {
                    return Err(format!("--team-env `{item}`: `{name}` is not a variable name (a `*` may only end it)"));
                }
                entry.0.push(name.to_string());
            }
        }
        Ok(TeamEnv { rules: Some(rules), operator: operator.to_string() })
    }

    /// Whether plugins of `team`'s pipelines may read the worker's variable `name`.
    pub fn allows(&self, team: &str, name: &str) -> bool {
        let Some(rules) = &self.rules else { return true };
        match rules.get(team) {
            Some(names) => names.allows(name),
            None => team == self.operator,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(items: &[&str]) -> TeamEnv {
        TeamEnv::for_server("main", &items.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn without_rules_only_the_operator_team_reads_the_environment() {
        let env = rules(&[]);
        assert!(env.allows("main", "AWS_SECRET_ACCESS_KEY"));
        assert!(!env.allows("web", "AWS_SECRET_ACCESS_KEY"));
        assert!(TeamEnv::default().allows("web", "AWS_SECRET_ACCESS_KEY"));
    }

    #[test]
    fn a_rule_names_variables_and_prefixes() {
        let env = rules(&["web=GITHUB_TOKEN, NPM_*", "web=EXTRA", "main=DEPLOY_KEY"]);
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
    }
}
