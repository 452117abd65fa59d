//! Regular-expression functions (the `regex` crate's syntax, RE2's like Go's).

use super::Args;
use super::Result;
use ::regex::{Captures, Regex};
use hcl::eval::FuncArgs;
use hcl::{Map, Value};

/// The largest compiled pattern accepted, well under the crate's default, since patterns come
/// from pipelines.
const MAX_PATTERN: usize = 1 << 20;

pub(super) fn compile(a: &Args, pattern: &str) -> Result<Regex> {
    ::regex::RegexBuilder::new(pattern).size_limit(MAX_PATTERN).build().map_err(|e| a.fail(format!("invalid regular expression {pattern:?}: {e}")))
}

/// What a match gives: the matched text without groups, the list of groups' texts with unnamed
/// groups, a map with named ones (a group that took no part is null). Mixing both is an error,
/// as in Terraform.
enum Shape {
    Whole,
    List,
    Named(Vec<String>),
}

fn shape(a: &Args, re: &Regex) -> Result<Shape> {
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    let named: Vec<String> = names.iter().flatten().map(|n| n.to_string()).collect();
    match (names.len(), named.len()) {
        (0, _) => Ok(Shape::Whole),
        (_, 0) => Ok(Shape::List),
        (all, n) if all == n => Ok(Shape::Named(named)),
        _ => Err(a.fail("the pattern mixes named and unnamed groups; use one kind or the other")),
    }
}

fn result(shape: &Shape, caps: &Captures) -> Value {
    let text = |m: Option<::regex::Match>| m.map_or(Value::Null, |m| Value::String(m.as_str().to_string()));
    match shape {
        Shape::Whole => text(caps.get(0)),
        Shape::List => Value::Array(caps.iter().skip(1).map(text).collect()),
        Shape::Named(names) => Value::Object(names.iter().map(|n| (n.clone(), text(caps.name(n)))).collect::<Map<_, _>>()),
    }
}

/// The first match of the pattern in the string; no match is an error.
///
/// PikoCI's docs show `regex("v(\\d+)", "v123")` as "123"; Terraform, whose function this is,
/// gives `["123"]` (a list, since the pattern has a group), and so do we.
pub(super) fn regex(args: FuncArgs) -> Result<Value> {
    let a = Args::new("regex", &args);
    let (pattern, text) = (a.string(0)?, a.string(1)?);
    let re = compile(&a, &pattern)?;
    let shape = shape(&a, &re)?;
    let caps = re.captures(&text).ok_or_else(|| a.fail(format!("the pattern {pattern:?} does not match the string")))?;
    Ok(result(&shape, &caps))
}

/// What `regex` would give for each match, in order; none is an empty list.
pub(super) fn regexall(args: FuncArgs) -> Result<Value> {
    let a = Args::new("regexall", &args);
    let (pattern, text) = (a.string(0)?, a.string(1)?);
    let re = compile(&a, &pattern)?;
    let shape = shape(&a, &re)?;
    Ok(Value::Array(re.captures_iter(&text).map(|caps| result(&shape, &caps)).collect()))
}

/// `regexreplace(string, pattern, replacement)`: every match replaced; the replacement may use
/// `$1` and `${name}`.
pub(super) fn regexreplace(args: FuncArgs) -> Result<Value> {
    let a = Args::new("regexreplace", &args);
    let (text, pattern, with) = (a.string(0)?, a.string(1)?, a.string(2)?);
    let re = compile(&a, &pattern)?;
    Ok(Value::String(re.replace_all(&text, with.as_str()).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::super::test::{fails, same};

    #[test]
    fn regex() {
        // Terraform's answer, where PikoCI's docs say "123": a pattern with a group gives a list.
        same(r#"regex("v(\\d+)", "v123")"#, r#"["123"]"#);
        same(r#"regex("\\d+", "ab12cd34")"#, r#""12""#);
        same(r#"regex("(?P<major>\\d+)\\.(?P<minor>\\d+)", "v1.22")"#, r#"{major = "1", minor = "22"}"#);
        same(r#"regex("a(x)?(b)", "ab")"#, r#"[null, "b"]"#);
        fails(r#"regex("x", "abc")"#, r#"regex: the pattern "x" does not match the string"#);
        fails(r#"regex("(?P<a>x)(y)", "xy")"#, "regex: the pattern mixes named and unnamed groups");
        fails(r#"regex("(", "x")"#, "regex: invalid regular expression");
    }

    #[test]
    fn regexall() {
        same(r#"regexall("\\d+", "a1b2")"#, r#"["1", "2"]"#);
        same(r#"regexall("(\\w)=(\\d)", "a=1 b=2")"#, r#"[["a", "1"], ["b", "2"]]"#);
        same(r#"regexall("x", "abc")"#, "[]");
    }

    #[test]
    fn regexreplace() {
        same(r#"regexreplace("hello", "l+", "r")"#, r#""hero""#);
        same(r#"regexreplace("v1.2", "v(\\d+)\\.(\\d+)", "$2.$1")"#, r#""2.1""#);
        // `$${` is how HCL writes a literal `${`.
        same(r#"regexreplace("key=val", "(?P<k>\\w+)=(?P<v>\\w+)", "$${v}=$${k}")"#, r#""val=key""#);
        fails(r#"regexreplace("x", "[", "y")"#, "regexreplace: invalid regular expression");
    }
}
