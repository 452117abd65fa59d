//! `$NAME` and `${NAME}` references to a build's variables (`BUILD_NUMBER`, `TASK_<STEP>_<KEY>`,
//! ...), which conditions and notification messages name and the build fills in when it gets
//! there. A name starts with a letter or `_` and holds letters, digits and `_`.

/// What a reference to a variable the build does not have becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// Stays as written: in a message, `$5` is a price, not a variable.
    Keep,
    /// Nothing, as a shell has it: in a condition, `$UNSET == ''` holds.
    Empty,
}

/// `text` with each reference replaced by `var`'s value.
pub fn expand(text: &str, var: &dyn Fn(&str) -> Option<String>, missing: Missing) -> String {
    let is_name =
        |name: &str| !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, consumed) = match after.strip_prefix('{') {
            Some(inner) => inner.find('}').map_or(("", 0), |end| (&inner[..end], end + 2)),
            None => {
                let len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                (&after[..len], len)
            }
        };
        let value = if is_name(name) { var(name) } else { None };
        match (value, missing) {
            (Some(v), _) => out.push_str(&v),
            (None, Missing::Empty) if is_name(name) => {}
            (None, _) => {
                out.push('$');
                rest = after;
                continue;
            }
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        [("BUILD_NUMBER", "7"), ("TASK_BUILD_VERSION", "1.2")].iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn references_are_replaced_by_the_build_variables() {
        assert_eq!(expand("Build $BUILD_NUMBER shipped ${TASK_BUILD_VERSION}.", &env, Missing::Keep), "Build 7 shipped 1.2.");
        assert_eq!(expand("$BUILD_NUMBER$BUILD_NUMBER", &env, Missing::Keep), "77");
    }

    #[test]
    fn unknown_names_stay_or_go_as_asked() {
        assert_eq!(expand("costs $5, $UNSET and ${UNSET} stay, $ alone", &env, Missing::Keep), "costs $5, $UNSET and ${UNSET} stay, $ alone");
        assert_eq!(expand("[$UNSET|${UNSET}] $5 $", &env, Missing::Empty), "[|] $5 $");
    }
}
