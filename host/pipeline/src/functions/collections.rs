//! Functions on lists and maps.

use super::{as_bool, as_number, as_string, describe, float_value, int_value, to_f64, whole, Args, Result};
use hcl::eval::FuncArgs;
use hcl::{Map, Value};

/// The most values `range` makes, as go-cty, so a wrong step cannot fill the memory.
const MAX_RANGE: usize = 1024;

/// Whether every element is true (or "true"); a null counts as false.
pub(super) fn alltrue(args: FuncArgs) -> Result<Value> {
    let a = Args::new("alltrue", &args);
    let bools = bools(&a)?;
    Ok(Value::Bool(bools.iter().all(|b| *b == Some(true))))
}

/// Whether any element is true (or "true"); nulls are skipped.
pub(super) fn anytrue(args: FuncArgs) -> Result<Value> {
    let a = Args::new("anytrue", &args);
    let bools = bools(&a)?;
    Ok(Value::Bool(bools.contains(&Some(true))))
}

fn bools(a: &Args) -> Result<Vec<Option<bool>>> {
    a.list(0)?
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Null => Ok(None),
            v => as_bool(v).map(Some).ok_or_else(|| a.fail(format!("element {i} must be a bool, not {}", describe(v)))),
        })
        .collect()
}

/// Lists of `size` elements (the last one shorter); size 0 gives the whole list as one chunk.
pub(super) fn chunklist(args: FuncArgs) -> Result<Value> {
    let a = Args::new("chunklist", &args);
    let (list, size) = (a.list(0)?, a.int(1)?);
    let size = usize::try_from(size).map_err(|_| a.fail("the size must not be negative"))?;
    if list.is_empty() {
        return Ok(Value::Array(Vec::new()));
    }
    if size == 0 {
        return Ok(Value::Array(vec![Value::Array(list.to_vec())]));
    }
    Ok(Value::Array(list.chunks(size).map(|c| Value::Array(c.to_vec())).collect()))
}

/// Terraform's coalesce skips empty strings as well as nulls; when the arguments mix strings with
/// numbers or bools, the result is a string, as Terraform unifies their types.
pub(super) fn coalesce(args: FuncArgs) -> Result<Value> {
    let a = Args::new("coalesce", &args);
    let all = a.all();
    if all.iter().any(|v| matches!(v, Value::Array(_) | Value::Object(_)))
        && all.iter().any(|v| matches!(v, Value::Bool(_) | Value::Number(_) | Value::String(_)))
    {
        return Err(a.fail("all arguments must have the same type"));
    }
    let strings = all.iter().any(|v| matches!(v, Value::String(_)));
    for v in all {
        match v {
            Value::Null => {}
            Value::String(s) if s.is_empty() => {}
            v if strings => return Ok(as_string(v).map_or(Value::Null, Value::String)),
            v => return Ok(v.clone()),
        }
    }
    Err(a.fail("every argument is null or an empty string"))
}

/// The first list that is not empty.
pub(super) fn coalescelist(args: FuncArgs) -> Result<Value> {
    let a = Args::new("coalescelist", &args);
    for (i, v) in a.all().iter().enumerate() {
        match v {
            Value::Null => {}
            Value::Array(items) if items.is_empty() => {}
            Value::Array(_) => return Ok(v.clone()),
            other => return Err(a.fail(format!("argument {} must be a list, not {}", i + 1, describe(other)))),
        }
    }
    Err(a.fail("every argument is null or an empty list"))
}

/// The list of strings without its empty strings and nulls.
pub(super) fn compact(args: FuncArgs) -> Result<Value> {
    let a = Args::new("compact", &args);
    let mut out = Vec::new();
    for (i, v) in a.list(0)?.iter().enumerate() {
        match v {
            Value::Null => {}
            v => match as_string(v) {
                Some(s) if s.is_empty() => {}
                Some(s) => out.push(Value::String(s)),
                None => return Err(a.fail(format!("element {i} must be a string, not {}", describe(v)))),
            },
        }
    }
    Ok(Value::Array(out))
}

pub(super) fn concat(args: FuncArgs) -> Result<Value> {
    let a = Args::new("concat", &args);
    let mut out = Vec::new();
    for i in 0..a.len() {
        out.extend(a.list(i)?.iter().cloned());
    }
    Ok(Value::Array(out))
}

pub(super) fn contains(args: FuncArgs) -> Result<Value> {
    let a = Args::new("contains", &args);
    Ok(Value::Bool(a.list(0)?.contains(a.get(1))))
}

/// The list without repeated elements, each where it first appears.
pub(super) fn distinct(args: FuncArgs) -> Result<Value> {
    let a = Args::new("distinct", &args);
    Ok(Value::Array(dedup(a.list(0)?)))
}

pub(super) fn dedup(items: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

/// The element at `index` modulo the length: `element(["a", "b", "c"], 4)` is "b".
pub(super) fn element(args: FuncArgs) -> Result<Value> {
    let a = Args::new("element", &args);
    let (list, index) = (a.list(0)?, a.int(1)?);
    if list.is_empty() {
        return Err(a.fail("cannot take an element of an empty list"));
    }
    Ok(list[index.rem_euclid(list.len() as i64) as usize].clone())
}

/// Lists in the list replaced by their elements, however deep.
pub(super) fn flatten(args: FuncArgs) -> Result<Value> {
    fn into(items: &[Value], out: &mut Vec<Value>) {
        for item in items {
            match item {
                Value::Array(inner) => into(inner, out),
                other => out.push(other.clone()),
            }
        }
    }
    let a = Args::new("flatten", &args);
    let mut out = Vec::new();
    into(a.list(0)?, &mut out);
    Ok(Value::Array(out))
}

/// The keys, sorted, as Terraform gives them.
pub(super) fn keys(args: FuncArgs) -> Result<Value> {
    let a = Args::new("keys", &args);
    Ok(Value::Array(sorted(a.map(0)?).into_iter().map(|(k, _)| Value::String(k.clone())).collect()))
}

/// The values, in the order of their sorted keys.
pub(super) fn values(args: FuncArgs) -> Result<Value> {
    let a = Args::new("values", &args);
    Ok(Value::Array(sorted(a.map(0)?).into_iter().map(|(_, v)| v.clone()).collect()))
}

fn sorted(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// Elements of a list, entries of a map, characters of a string.
pub(super) fn length(args: FuncArgs) -> Result<Value> {
    let a = Args::new("length", &args);
    match a.get(0) {
        Value::Array(items) => Ok(Value::from(items.len())),
        Value::Object(map) => Ok(Value::from(map.len())),
        Value::String(s) => Ok(Value::from(s.chars().count())),
        other => Err(a.fail(format!("the argument must be a list, a map or a string, not {}", describe(other)))),
    }
}

/// `lookup(map, key, default)`: the default only when the key is missing.
pub(super) fn lookup(args: FuncArgs) -> Result<Value> {
    let a = Args::new("lookup", &args);
    a.at_most(3)?;
    let (map, key) = (a.map(0)?, a.string(1)?);
    match map.get(&key) {
        Some(v) => Ok(v.clone()),
        None if a.len() == 3 => Ok(a.get(2).clone()),
        None => Err(a.fail(format!("key {key:?} is not in the map and no default was given"))),
    }
}

/// The maps' entries, a later map's winning; null arguments are skipped.
pub(super) fn merge(args: FuncArgs) -> Result<Value> {
    let a = Args::new("merge", &args);
    let mut out = Map::new();
    for i in 0..a.len() {
        if !a.get(i).is_null() {
            out.extend(a.map(i)?.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    Ok(Value::Object(out))
}

/// The only element of a list, or null for an empty one.
pub(super) fn one(args: FuncArgs) -> Result<Value> {
    let a = Args::new("one", &args);
    match a.list(0)? {
        [] => Ok(Value::Null),
        [only] => Ok(only.clone()),
        more => Err(a.fail(format!("the list must have no element or one, not {}", more.len()))),
    }
}

/// `range(end)`, `range(start, end)`, `range(start, end, step)`: from start up to (or down to)
/// end, end excluded; the step defaults to 1, or -1 when end is below start.
pub(super) fn range(args: FuncArgs) -> Result<Value> {
    let a = Args::new("range", &args);
    a.at_most(3)?;
    let numbers: Vec<f64> = (0..a.len()).map(|i| a.float(i)).collect::<Result<_>>()?;
    let (start, end, step) = match numbers[..] {
        [end] => (0.0, end, if end < 0.0 { -1.0 } else { 1.0 }),
        [start, end] => (start, end, if end < start { -1.0 } else { 1.0 }),
        [start, end, step] => (start, end, step),
        _ => return Err(a.fail("takes one, two or three numbers")),
    };
    if step == 0.0 {
        return Err(a.fail("the step must not be zero"));
    }
    if step < 0.0 && end > start {
        return Err(a.fail("the end must be less than the start when the step is negative"));
    }
    if step > 0.0 && end < start {
        return Err(a.fail("the end must be greater than the start when the step is positive"));
    }
    // Fractional steps are rounded to 15 digits, so that `range(0, 1, 0.1)` gives 0.3 as
    // Terraform's wider floats do, not 0.30000000000000004.
    let fractional = start.fract() != 0.0 || step.fract() != 0.0;
    let mut out = Vec::new();
    for i in 0..=MAX_RANGE as u32 {
        // From the start each time rather than adding steps up, so that errors do not grow.
        let n = start + step * f64::from(i);
        let n = if fractional { round15(n) } else { n };
        if (step > 0.0 && n >= end) || (step < 0.0 && n <= end) {
            break;
        }
        if out.len() >= MAX_RANGE {
            return Err(a.fail(format!("more than {MAX_RANGE} values; use a larger step or a smaller range")));
        }
        out.push(float_value(&a, n)?);
    }
    Ok(Value::Array(out))
}

pub(super) fn round15(f: f64) -> f64 {
    format!("{f:.14e}").parse().unwrap_or(f)
}

pub(super) fn reverse(args: FuncArgs) -> Result<Value> {
    let a = Args::new("reverse", &args);
    Ok(Value::Array(a.list(0)?.iter().rev().cloned().collect()))
}

/// `slice(list, start, end)`: the elements from start up to, not including, end.
pub(super) fn slice(args: FuncArgs) -> Result<Value> {
    let a = Args::new("slice", &args);
    let (list, start, end) = (a.list(0)?, a.int(1)?, a.int(2)?);
    let len = list.len() as i64;
    let problem = if start < 0 {
        Some("the start index must not be less than zero")
    } else if start > len {
        Some("the start index must not be greater than the length of the list")
    } else if end < 0 {
        Some("the end index must not be less than zero")
    } else if end > len {
        Some("the end index must not be greater than the length of the list")
    } else if start > end {
        Some("the start index must not be greater than the end index")
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(a.fail(format!("{problem} (start {start}, end {end}, length {len})")));
    }
    Ok(Value::Array(list[start as usize..end as usize].to_vec()))
}

/// The strings in lexical (byte) order; numbers are sorted as their text, as in Terraform.
pub(super) fn sort(args: FuncArgs) -> Result<Value> {
    let a = Args::new("sort", &args);
    let mut strings = Vec::new();
    for (i, v) in a.list(0)?.iter().enumerate() {
        strings.push(as_string(v).ok_or_else(|| a.fail(format!("element {i} must be a string, not {}", describe(v))))?);
    }
    strings.sort();
    Ok(Value::Array(strings.into_iter().map(Value::String).collect()))
}

pub(super) fn sum(args: FuncArgs) -> Result<Value> {
    let a = Args::new("sum", &args);
    let list = a.list(0)?;
    if list.is_empty() {
        return Err(a.fail("cannot sum an empty list"));
    }
    let mut exact: Option<i128> = Some(0);
    let mut float = 0.0;
    for (i, v) in list.iter().enumerate() {
        let n = as_number(v).ok_or_else(|| a.fail(format!("element {i} must be a number, not {}", describe(v))))?;
        exact = exact.zip(whole(&n)).and_then(|(s, n)| s.checked_add(n));
        float += to_f64(&n);
    }
    match exact {
        Some(s) => Ok(int_value(s)),
        None => float_value(&a, round15(float)),
    }
}

/// A map of lists of strings turned inside out: each string maps to the sorted keys whose
/// lists hold it.
pub(super) fn transpose(args: FuncArgs) -> Result<Value> {
    let a = Args::new("transpose", &args);
    let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (key, list) in a.map(0)? {
        let Value::Array(items) = list else {
            return Err(a.fail(format!("the value of {key:?} must be a list of strings, not {}", describe(list))));
        };
        for item in items {
            let s = as_string(item).ok_or_else(|| a.fail(format!("the list of {key:?} must hold strings, not {}", describe(item))))?;
            out.entry(s).or_default().push(key.clone());
        }
    }
    Ok(Value::Object(
        out.into_iter()
            .map(|(k, mut keys)| {
                keys.sort();
                (k, Value::Array(keys.into_iter().map(Value::String).collect()))
            })
            .collect(),
    ))
}

/// A map from a list of keys and a list of values of the same length.
pub(super) fn zipmap(args: FuncArgs) -> Result<Value> {
    let a = Args::new("zipmap", &args);
    let (keys, values) = (a.list(0)?, a.list(1)?);
    if keys.len() != values.len() {
        return Err(a.fail(format!("the number of keys ({}) does not match the number of values ({})", keys.len(), values.len())));
    }
    let mut out = Map::new();
    for (i, (k, v)) in keys.iter().zip(values).enumerate() {
        let k = as_string(k).ok_or_else(|| a.fail(format!("key {i} must be a string, not {}", describe(k))))?;
        out.insert(k, v.clone());
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::super::test::{eval, fails, same};

    #[test]
    fn alltrue_anytrue() {
        same("alltrue([true, \"true\"])", "true");
        same("alltrue([true, false])", "false");
        same("alltrue([])", "true");
        same("alltrue([true, null])", "false");
        same("anytrue([false, true])", "true");
        same("anytrue([])", "false");
        same("anytrue([null, false])", "false");
        fails("alltrue([1])", "alltrue: element 0 must be a bool, not the number 1");
    }

    #[test]
    fn chunklist() {
        same("chunklist([1, 2, 3, 4, 5], 2)", "[[1, 2], [3, 4], [5]]");
        same("chunklist([1, 2], 0)", "[[1, 2]]");
        same("chunklist([], 3)", "[]");
        fails("chunklist([1], -1)", "chunklist: the size must not be negative");
    }

    #[test]
    fn coalesce() {
        same(r#"coalesce(null, "", "b", "c")"#, r#""b""#);
        same("coalesce(null, 1, 2)", "1");
        same(r#"coalesce("", 1)"#, r#""1""#);
        fails(r#"coalesce(null, "")"#, "coalesce: every argument is null or an empty string");
        fails("coalesce()", "coalesce: every argument");
        fails(r#"coalesce("a", [1])"#, "coalesce: all arguments must have the same type");
    }

    #[test]
    fn coalescelist() {
        same("coalescelist([], null, [1, 2], [3])", "[1, 2]");
        fails("coalescelist([], [])", "coalescelist: every argument is null or an empty list");
        fails(r#"coalescelist("a")"#, "coalescelist: argument 1 must be a list");
    }

    #[test]
    fn compact() {
        same(r#"compact(["a", "", null, "b", 1])"#, r#"["a", "b", "1"]"#);
        fails("compact([[1]])", "compact: element 0 must be a string, not a list");
    }

    #[test]
    fn concat() {
        same(r#"concat(["a"], [], ["b", "c"])"#, r#"["a", "b", "c"]"#);
        same("concat()", "[]");
        fails(r#"concat(["a"], "b")"#, "concat: argument 2 must be a list, not the string \"b\"");
    }

    #[test]
    fn contains() {
        same(r#"contains(["a", "b"], "b")"#, "true");
        same(r#"contains(["a", "b"], "c")"#, "false");
        same("contains([[1], {a = 1}], {a = 1})", "true");
        fails(r#"contains("ab", "a")"#, "contains: argument 1 must be a list");
    }

    #[test]
    fn distinct() {
        same(r#"distinct(["b", "a", "b", "c", "a"])"#, r#"["b", "a", "c"]"#);
    }

    #[test]
    fn element() {
        same(r#"element(["a", "b", "c"], 4)"#, r#""b""#);
        same(r#"element(["a", "b", "c"], 0)"#, r#""a""#);
        same(r#"element(["a", "b", "c"], -1)"#, r#""c""#);
        fails("element([], 0)", "element: cannot take an element of an empty list");
        fails(r#"element(["a"], 0.5)"#, "element: argument 2 must be a whole number");
    }

    #[test]
    fn flatten() {
        same("flatten([[1, [2, [3]]], [], 4, [{a = [5]}]])", "[1, 2, 3, 4, {a = [5]}]");
        fails("flatten({})", "flatten: the argument must be a list, not a map");
    }

    #[test]
    fn keys_values() {
        let keys = eval("keys({b = 1, a = 2, c = 3})").unwrap();
        assert_eq!(keys, eval(r#"["a", "b", "c"]"#).unwrap());
        same("values({b = 1, a = 2, c = 3})", "[2, 1, 3]");
        same("keys({})", "[]");
        fails("keys([1])", "keys: the argument must be a map, not a list");
    }

    #[test]
    fn length() {
        same("length([1, 2, 3])", "3");
        same("length({a = 1})", "1");
        same(r#"length("héllo")"#, "5");
        fails("length(5)", "length: the argument must be a list, a map or a string, not the number 5");
    }

    #[test]
    fn lookup() {
        same(r#"lookup({a = "1"}, "a", "0")"#, r#""1""#);
        same(r#"lookup({a = "1"}, "b", "0")"#, r#""0""#);
        same(r#"lookup({a = "1"}, "a")"#, r#""1""#);
        fails(r#"lookup({a = "1"}, "x")"#, r#"lookup: key "x" is not in the map and no default was given"#);
        fails(r#"lookup(["a"], "a", 1)"#, "lookup: argument 1 must be a map, not a list");
    }

    #[test]
    fn merge() {
        same(r#"merge({a = 1, b = 2}, null, {b = 3, c = 4})"#, "{a = 1, b = 3, c = 4}");
        same("merge()", "{}");
        fails("merge({}, [1])", "merge: argument 2 must be a map, not a list");
    }

    #[test]
    fn one() {
        same("one([])", "null");
        same(r#"one(["a"])"#, r#""a""#);
        fails("one([1, 2])", "one: the list must have no element or one, not 2");
    }

    #[test]
    fn range() {
        same("range(3)", "[0, 1, 2]");
        same("range(1, 4)", "[1, 2, 3]");
        same("range(-2)", "[0, -1]");
        same("range(3, 0)", "[3, 2, 1]");
        same("range(0, 1, 0.25)", "[0, 0.25, 0.5, 0.75]");
        same("range(0, 0.4, 0.1)", "[0, 0.1, 0.2, 0.3]");
        same("range(10, 0, -4)", "[10, 6, 2]");
        same("range(0)", "[]");
        fails("range(0, 1, 0)", "range: the step must not be zero");
        fails("range(0, 5, -1)", "range: the end must be less than the start when the step is negative");
        fails("range(2000)", "range: more than 1024 values");
        fails("range(1, 2, 3, 4)", "range: takes at most 3 arguments");
    }

    #[test]
    fn reverse() {
        same("reverse([1, 2, 3])", "[3, 2, 1]");
        fails(r#"reverse("abc")"#, "reverse: the argument must be a list");
    }

    #[test]
    fn slice() {
        same(r#"slice(["a", "b", "c", "d"], 1, 3)"#, r#"["b", "c"]"#);
        same("slice([1], 1, 1)", "[]");
        fails("slice([1, 2], 1, 3)", "slice: the end index must not be greater than the length of the list");
        fails("slice([1, 2], 2, 1)", "slice: the start index must not be greater than the end index");
    }

    #[test]
    fn sort() {
        same(r#"sort(["b", "a", "C"])"#, r#"["C", "a", "b"]"#);
        same("sort([10, 9, 1])", r#"["1", "10", "9"]"#);
        fails("sort([[1]])", "sort: element 0 must be a string, not a list");
    }

    #[test]
    fn sum() {
        same("sum([1, 2, 3])", "6");
        same("sum([0.1, 0.2])", "0.3");
        same(r#"sum([1, "2"])"#, "3");
        fails("sum([])", "sum: cannot sum an empty list");
        fails(r#"sum(["a"])"#, "sum: element 0 must be a number");
    }

    #[test]
    fn transpose() {
        same(r#"transpose({a = ["1"], b = ["1"]})"#, r#"{"1" = ["a", "b"]}"#);
        same(r#"transpose({b = ["1", "2"], a = ["2", "3"]})"#, r#"{"1" = ["b"], "2" = ["a", "b"], "3" = ["a"]}"#);
        fails(r#"transpose({a = "1"})"#, "transpose: the value of \"a\" must be a list of strings");
    }

    #[test]
    fn zipmap() {
        same(r#"zipmap(["a", "b"], [1, 2])"#, "{a = 1, b = 2}");
        fails(r#"zipmap(["a"], [])"#, "zipmap: the number of keys (1) does not match the number of values (0)");
    }
}
