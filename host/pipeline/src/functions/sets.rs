//! Set functions. A set is a list without duplicates, in the order its elements first appear:
//! pipelines write sets as lists and HCL values have no set type; Terraform's own order (sorted
//! strings, for instance) would reorder what the author wrote.

use super::collections::dedup;
use super::{unify, Args, Result};
use hcl::eval::FuncArgs;
use hcl::Value;

/// The most lists `setproduct` makes, so that a product of long lists cannot fill the memory.
const MAX_PRODUCT: usize = 100_000;

pub(super) fn toset(args: FuncArgs) -> Result<Value> {
    let a = Args::new("toset", &args);
    if a.get(0).is_null() {
        return Ok(Value::Null);
    }
    Ok(Value::Array(dedup(&unify(a.list(0)?))))
}

/// Every argument as a set, their elements unified together as Terraform does for the sets of one
/// call (`setunion(["a"], [1])` is `["a", "1"]`).
fn sets(a: &Args) -> Result<Vec<Vec<Value>>> {
    let lists: Vec<&[Value]> = (0..a.len()).map(|i| a.list(i)).collect::<Result<_>>()?;
    let mut all = unify(&lists.concat()).into_iter();
    Ok(lists.iter().map(|l| dedup(&all.by_ref().take(l.len()).collect::<Vec<_>>())).collect())
}

pub(super) fn setintersection(args: FuncArgs) -> Result<Value> {
    let sets = sets(&Args::new("setintersection", &args))?;
    let (first, others) = sets.split_first().map_or((&[][..], &[][..]), |(f, o)| (f.as_slice(), o));
    Ok(Value::Array(first.iter().filter(|v| others.iter().all(|s| s.contains(v))).cloned().collect()))
}

pub(super) fn setunion(args: FuncArgs) -> Result<Value> {
    let sets = sets(&Args::new("setunion", &args))?;
    Ok(Value::Array(dedup(&sets.concat())))
}

pub(super) fn setsubtract(args: FuncArgs) -> Result<Value> {
    let sets = sets(&Args::new("setsubtract", &args))?;
    let [from, without] = &sets[..] else { return Ok(Value::Array(Vec::new())) };
    Ok(Value::Array(from.iter().filter(|v| !without.contains(v)).cloned().collect()))
}

/// The elements in an odd number of the sets (for two sets: in one but not both).
pub(super) fn setsymmetricdifference(args: FuncArgs) -> Result<Value> {
    let sets = sets(&Args::new("setsymmetricdifference", &args))?;
    let mut result: Vec<Value> = Vec::new();
    for set in sets {
        let kept: Vec<Value> = result.iter().filter(|v| !set.contains(v)).cloned().collect();
        let added = set.into_iter().filter(|v| !result.contains(v));
        result = kept.into_iter().chain(added).collect();
    }
    Ok(Value::Array(result))
}

/// Every combination of one element from each set, the first set's varying slowest.
pub(super) fn setproduct(args: FuncArgs) -> Result<Value> {
    let a = Args::new("setproduct", &args);
    if a.len() < 2 {
        return Err(a.fail("at least two sets are required"));
    }
    let sets = sets(&a)?;
    match sets.iter().try_fold(1usize, |n, s| n.checked_mul(s.len())) {
        // Before building anything, as the first sets' product could be long before an empty one.
        Some(0) => return Ok(Value::Array(Vec::new())),
        Some(n) if n <= MAX_PRODUCT => {}
        _ => return Err(a.fail(format!("the product would have more than {MAX_PRODUCT} elements"))),
    }
    let mut product: Vec<Vec<Value>> = vec![Vec::new()];
    for set in &sets {
        product = product.iter().flat_map(|prefix| set.iter().map(move |v| prefix.iter().chain([v]).cloned().collect())).collect();
    }
    Ok(Value::Array(product.into_iter().map(Value::Array).collect()))
}

#[cfg(test)]
mod tests {
    use super::super::test::{fails, same};

    #[test]
    fn toset() {
        same(r#"toset(["b", "a", "b"])"#, r#"["b", "a"]"#);
        same(r#"toset(["a", 1, "1"])"#, r#"["a", "1"]"#);
        fails(r#"toset("a")"#, "toset: the argument must be a list, not the string \"a\"");
    }

    #[test]
    fn setintersection() {
        same(r#"setintersection(toset(["a", "b"]), toset(["b", "c"]))"#, r#"["b"]"#);
        same(r#"setintersection(["a", "b", "c"], ["c", "b"], ["b", "c", "d"])"#, r#"["b", "c"]"#);
        same(r#"setintersection(["a", "a"])"#, r#"["a"]"#);
        fails(r#"setintersection(["a"], "b")"#, "setintersection: argument 2 must be a list");
    }

    #[test]
    fn setunion() {
        same(r#"setunion(["a", "b"], ["b", "c"], ["d"])"#, r#"["a", "b", "c", "d"]"#);
        same(r#"setunion(["a"], [1])"#, r#"["a", "1"]"#);
    }

    #[test]
    fn setsubtract() {
        same(r#"setsubtract(["a", "b", "c"], ["a", "c"])"#, r#"["b"]"#);
        same(r#"setsubtract([], ["a"])"#, "[]");
    }

    #[test]
    fn setsymmetricdifference() {
        same(r#"setsymmetricdifference(["a", "b"], ["b", "c"])"#, r#"["a", "c"]"#);
        same(r#"setsymmetricdifference(["a"], ["a"], ["a"])"#, r#"["a"]"#);
    }

    #[test]
    fn setproduct() {
        same(r#"setproduct(["a", "b"], ["1", "2"])"#, r#"[["a", "1"], ["a", "2"], ["b", "1"], ["b", "2"]]"#);
        same(r#"setproduct(["a"], [])"#, "[]");
        fails(r#"setproduct(["a"])"#, "setproduct: at least two sets are required");
        fails("setproduct(range(1000), range(1000))", "setproduct: the product would have more than 100000 elements");
    }
}
