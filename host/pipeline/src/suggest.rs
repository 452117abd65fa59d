//! "Did you mean" suggestions for misspelt names.

/// The candidate closest to `name`, if it is close enough to be a plausible typo: within a third
/// of the name's length in edits (at least one), so `my-ap` finds `my-app` but `db` does not
/// find `git`.
pub fn closest<'a, I>(name: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let budget = (name.chars().count() / 3).max(1);
    candidates.into_iter().filter(|c| *c != name).map(|c| (distance(name, c), c)).filter(|(d, _)| *d <= budget).min_by_key(|(d, c)| (*d, *c)).map(|(_, c)| c)
}

/// Edit distance that does not charge for case, and counts `-` for `_` as one edit.
fn distance(a: &str, b: &str) -> usize {
    strsim::damerau_levenshtein(&a.to_lowercase(), &b.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_typos_not_strangers() {
        assert_eq!(closest("my-ap", ["my-app", "other"]), Some("my-app"));
        assert_eq!(closest("tirgger", ["trigger", "passed"]), Some("trigger"));
        assert_eq!(closest("db", ["git", "cron"]), None);
        assert_eq!(closest("git", ["git"]), None);
    }
}
