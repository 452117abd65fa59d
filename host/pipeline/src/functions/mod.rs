//! PikoCI's function library for pipeline expressions: the functions of Terraform's standard
//! library (go-cty's `stdlib` and Terraform's own) that PikoCI exposes, with Terraform's meaning,
//! so that an expression written for PikoCI gives the same value here. That includes Terraform's
//! automatic conversions: where a string is wanted a number or a bool stands for its text, and
//! where a number or a bool is wanted a string spelling one stands for it.
//!
//! Where our values differ from Terraform's:
//! - sets are lists without duplicates, in the order their elements first appear (Terraform
//!   orders a set's elements itself);
//! - lengths, offsets and widths count characters, where Terraform counts grapheme clusters
//!   (the same for all text but combining marks and emoji sequences);
//! - regular expressions are the `regex` crate's, which is RE2's syntax like Go's, except that
//!   `\d`, `\w`, `\s` and `\b` also match non-ASCII letters, digits and spaces.
//!
//! Every error names its function, as in `lookup: key "x" is not in the map and no default was
//! given`.

mod collections;
mod encoding;
mod numbers;
mod regex;
mod sets;
mod strings;
mod time;

use hcl::eval::{Context, FuncArgs, FuncDef, ParamType};
use hcl::{Map, Number, Value};

type Func = fn(FuncArgs) -> Result<Value>;

/// How many arguments a function takes.
#[derive(Clone, Copy)]
enum Arity {
    Exactly(usize),
    /// At least this many; a function with a bounded number of optional arguments checks the
    /// upper bound itself (see [`Args::at_most`]).
    AtLeast(usize),
}

use Arity::{AtLeast, Exactly};

/// The library: every function's name, arity and body, by category.
const LIBRARY: &[(&str, Arity, Func)] = &[
    // Strings
    ("chomp", Exactly(1), strings::chomp),
    ("endswith", Exactly(2), strings::endswith),
    ("format", AtLeast(1), strings::format),
    ("formatlist", AtLeast(1), strings::formatlist),
    ("indent", Exactly(2), strings::indent),
    ("join", AtLeast(1), strings::join),
    ("lower", Exactly(1), strings::lower),
    ("replace", Exactly(3), strings::replace),
    ("split", Exactly(2), strings::split),
    ("startswith", Exactly(2), strings::startswith),
    ("strcontains", Exactly(2), strings::strcontains),
    ("strlen", Exactly(1), strings::strlen),
    ("strrev", Exactly(1), strings::strrev),
    ("substr", Exactly(3), strings::substr),
    ("title", Exactly(1), strings::title),
    ("trim", Exactly(2), strings::trim),
    ("trimprefix", Exactly(2), strings::trimprefix),
    ("trimspace", Exactly(1), strings::trimspace),
    ("trimsuffix", Exactly(2), strings::trimsuffix),
    ("upper", Exactly(1), strings::upper),
    // Collections
    ("alltrue", Exactly(1), collections::alltrue),
    ("anytrue", Exactly(1), collections::anytrue),
    ("chunklist", Exactly(2), collections::chunklist),
    ("coalesce", AtLeast(0), collections::coalesce),
    ("coalescelist", AtLeast(0), collections::coalescelist),
    ("compact", Exactly(1), collections::compact),
    ("concat", AtLeast(0), collections::concat),
    ("contains", Exactly(2), collections::contains),
    ("distinct", Exactly(1), collections::distinct),
    ("element", Exactly(2), collections::element),
    ("flatten", Exactly(1), collections::flatten),
    ("keys", Exactly(1), collections::keys),
    ("length", Exactly(1), collections::length),
    ("lookup", AtLeast(2), collections::lookup),
    ("merge", AtLeast(0), collections::merge),
    ("one", Exactly(1), collections::one),
    ("range", AtLeast(1), collections::range),
    ("reverse", Exactly(1), collections::reverse),
    ("slice", Exactly(3), collections::slice),
    ("sort", Exactly(1), collections::sort),
    ("sum", Exactly(1), collections::sum),
    ("transpose", Exactly(1), collections::transpose),
    ("values", Exactly(1), collections::values),
    ("zipmap", Exactly(2), collections::zipmap),
    // Numbers
    ("abs", Exactly(1), numbers::abs),
    ("ceil", Exactly(1), numbers::ceil),
    ("floor", Exactly(1), numbers::floor),
    ("log", Exactly(2), numbers::log),
    ("max", AtLeast(0), numbers::max),
    ("min", AtLeast(0), numbers::min),
    ("parseint", Exactly(2), numbers::parseint),
    ("pow", Exactly(2), numbers::pow),
    ("signum", Exactly(1), numbers::signum),
    // Encoding
    ("base64decode", Exactly(1), encoding::base64decode),
    ("base64encode", Exactly(1), encoding::base64encode),
    ("csvdecode", Exactly(1), encoding::csvdecode),
    ("jsondecode", Exactly(1), encoding::jsondecode),
    ("jsonencode", Exactly(1), encoding::jsonencode),
    ("urlencode", Exactly(1), encoding::urlencode),
    // Date and time
    ("formatdate", Exactly(2), time::formatdate),
    ("timeadd", Exactly(2), time::timeadd),
    ("timestamp", Exactly(0), time::timestamp),
    // Regular expressions
    ("regex", Exactly(2), regex::regex),
    ("regexall", Exactly(2), regex::regexall),
    ("regexreplace", Exactly(3), regex::regexreplace),
    // Sets
    ("setintersection", AtLeast(1), sets::setintersection),
    ("setproduct", AtLeast(0), sets::setproduct),
    ("setsubtract", Exactly(2), sets::setsubtract),
    ("setsymmetricdifference", AtLeast(1), sets::setsymmetricdifference),
    ("setunion", AtLeast(1), sets::setunion),
    ("toset", Exactly(1), sets::toset),
    // Type conversion
    ("tobool", Exactly(1), tobool),
    ("tolist", Exactly(1), tolist),
    ("tomap", Exactly(1), tomap),
    ("tonumber", Exactly(1), tonumber),
    ("tostring", Exactly(1), tostring),
];

/// Declares the whole library in `ctx`.
pub(crate) fn declare_all(ctx: &mut Context<'static>) {
    for &(name, arity, func) in LIBRARY {
        // Parameters take any value and each function converts its own arguments: hcl-rs's type
        // check would refuse `upper(5)`, which Terraform takes, and word refusals in its terms.
        let def = match arity {
            Exactly(n) => FuncDef::builder().params(std::iter::repeat_n(ParamType::Any, n)),
            AtLeast(n) => FuncDef::builder().params(std::iter::repeat_n(ParamType::Any, n)).variadic_param(ParamType::Any),
        };
        ctx.declare_func(name, def.build(func));
    }
}

type Result<T> = std::result::Result<T, String>;

// ---------------------------------------------------------------------------------------------
// Reading arguments

static NULL: Value = Value::Null;

/// A function's arguments, read with Terraform's conversions; errors name the function.
pub(super) struct Args<'a> {
    name: &'static str,
    values: &'a [Value],
}

impl<'a> Args<'a> {
    pub(super) fn new(name: &'static str, args: &'a FuncArgs) -> Self {
        Args { name, values: args.as_slice() }
    }

    pub(super) fn len(&self) -> usize {
        self.values.len()
    }

    pub(super) fn all(&self) -> &'a [Value] {
        self.values
    }

    /// The `i`th argument; null past the end, so that no function can index out of bounds.
    pub(super) fn get(&self, i: usize) -> &'a Value {
        self.values.get(i).unwrap_or(&NULL)
    }

    /// `"NAME: MESSAGE"`.
    pub(super) fn fail(&self, message: impl std::fmt::Display) -> String {
        format!("{}: {message}", self.name)
    }

    /// For the functions whose last arguments are optional.
    pub(super) fn at_most(&self, max: usize) -> Result<()> {
        if self.values.len() > max {
            return Err(self.fail(format!("takes at most {max} arguments, not {}", self.values.len())));
        }
        Ok(())
    }

    fn which(&self, i: usize) -> String {
        if self.values.len() == 1 {
            "the argument".to_string()
        } else {
            format!("argument {}", i + 1)
        }
    }

    fn wrong(&self, i: usize, wanted: &str) -> String {
        self.fail(format!("{} must be {wanted}, not {}", self.which(i), describe(self.get(i))))
    }

    pub(super) fn string(&self, i: usize) -> Result<String> {
        as_string(self.get(i)).ok_or_else(|| self.wrong(i, "a string"))
    }

    pub(super) fn number(&self, i: usize) -> Result<Number> {
        as_number(self.get(i)).ok_or_else(|| self.wrong(i, "a number"))
    }

    pub(super) fn float(&self, i: usize) -> Result<f64> {
        Ok(to_f64(&self.number(i)?))
    }

    pub(super) fn int(&self, i: usize) -> Result<i64> {
        let n = self.number(i)?;
        whole(&n).and_then(|n| i64::try_from(n).ok()).ok_or_else(|| self.fail(format!("{} must be a whole number, not {n}", self.which(i))))
    }

    pub(super) fn list(&self, i: usize) -> Result<&'a [Value]> {
        match self.get(i) {
            Value::Array(items) => Ok(items),
            _ => Err(self.wrong(i, "a list")),
        }
    }

    pub(super) fn map(&self, i: usize) -> Result<&'a Map<String, Value>> {
        match self.get(i) {
            Value::Object(map) => Ok(map),
            _ => Err(self.wrong(i, "a map")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Terraform's conversions between primitive values

/// What a value is, for messages.
pub(super) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("the bool {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() <= 40 => format!("the string {s:?}"),
        Value::String(_) => "a string".to_string(),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a map".to_string(),
    }
}

/// A number as Terraform writes it: in full, never with an exponent.
pub(super) fn number_text(n: &Number) -> String {
    match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => i.to_string(),
        (None, Some(u)) => u.to_string(),
        // Rust's `Display` for floats is the shortest text that reads back, without exponent,
        // which is what go-cty's `Text('f', -1)` gives.
        _ => to_f64(n).to_string(),
    }
}

pub(super) fn to_f64(n: &Number) -> f64 {
    n.as_f64().unwrap_or_default()
}

/// A string, number or bool as a string.
pub(super) fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(number_text(n)),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A number, or a string that is a decimal number.
pub(super) fn as_number(v: &Value) -> Option<Number> {
    match v {
        Value::Number(n) => Some(*n),
        Value::String(s) => parse_decimal(s),
        _ => None,
    }
}

/// A bool, or the string "true" or "false".
pub(super) fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// Only decimal notation, as go-cty: Rust's float parser also takes "inf", "NaN" and "1_0".
fn parse_decimal(s: &str) -> Option<Number> {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || !exponent_ok {
        return None;
    }
    if exponent.is_none() && frac.is_empty() {
        if let Ok(i) = s.parse::<i64>() {
            return Some(Number::from(i));
        }
        if let Ok(u) = unsigned.parse::<u64>() {
            if !s.starts_with('-') {
                return Some(Number::from(u));
            }
        }
    }
    s.parse::<f64>().ok().and_then(Number::from_f64)
}

/// A number that is whole, as an integer.
pub(super) fn whole(n: &Number) -> Option<i128> {
    if let Some(i) = n.as_i64() {
        return Some(i.into());
    }
    if let Some(u) = n.as_u64() {
        return Some(u.into());
    }
    let f = to_f64(n);
    // Beyond 2^100 a float is not worth calling a whole number for any function here.
    (f.fract() == 0.0 && f.abs() < 1e30).then_some(f as i128)
}

/// A whole number as a value, exact as long as it fits in 64 bits.
pub(super) fn int_value(i: i128) -> Value {
    if let Ok(i) = i64::try_from(i) {
        Value::from(i)
    } else if let Ok(u) = u64::try_from(i) {
        Value::from(u)
    } else {
        Number::from_f64(i as f64).map_or(Value::Null, Value::Number)
    }
}

/// A float as a value; HCL has no infinity or NaN, so those are errors.
pub(super) fn float_value(args: &Args, f: f64) -> Result<Value> {
    Number::from_f64(f).map(Value::Number).ok_or_else(|| args.fail("the result is not a finite number"))
}

/// Terraform's type unification for the elements of one collection: when strings are mixed with
/// numbers or bools, all become strings (`tolist(["a", 1])` is `["a", "1"]`).
pub(super) fn unify(items: &[Value]) -> Vec<Value> {
    let primitive = |v: &Value| matches!(v, Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_));
    let mixed = items.iter().all(primitive)
        && items.iter().any(|v| matches!(v, Value::String(_)))
        && items.iter().any(|v| matches!(v, Value::Bool(_) | Value::Number(_)));
    if !mixed {
        return items.to_vec();
    }
    items.iter().map(|v| as_string(v).map_or(Value::Null, Value::String)).collect()
}

// ---------------------------------------------------------------------------------------------
// Type conversion: null converts to null, as in Terraform

fn tobool(args: FuncArgs) -> Result<Value> {
    let a = Args::new("tobool", &args);
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        v => {
            as_bool(v).map(Value::Bool).ok_or_else(|| a.fail(format!("cannot convert {} to a bool; only true, false, \"true\" and \"false\" are", describe(v))))
        }
    }
}

fn tonumber(args: FuncArgs) -> Result<Value> {
    let a = Args::new("tonumber", &args);
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        v => as_number(v)
            .map(Value::Number)
            .ok_or_else(|| a.fail(format!("cannot convert {} to a number; a string must be a decimal number such as \"12\" or \"-1.5\"", describe(v)))),
    }
}

fn tostring(args: FuncArgs) -> Result<Value> {
    let a = Args::new("tostring", &args);
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        v => as_string(v).map(Value::String).ok_or_else(|| a.fail(format!("cannot convert {} to a string; only strings, numbers and bools can", describe(v)))),
    }
}

fn tolist(args: FuncArgs) -> Result<Value> {
    let a = Args::new("tolist", &args);
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        Value::Array(items) => Ok(Value::Array(unify(items))),
        v => Err(a.fail(format!("cannot convert {} to a list", describe(v)))),
    }
}

fn tomap(args: FuncArgs) -> Result<Value> {
    let a = Args::new("tomap", &args);
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        Value::Object(map) => {
            let values: Vec<Value> = map.values().cloned().collect();
            Ok(Value::Object(map.keys().cloned().zip(unify(&values)).collect()))
        }
        v => Err(a.fail(format!("cannot convert {} to a map", describe(v)))),
    }
}

#[cfg(test)]
pub(super) mod test {
    use super::*;
    use hcl::eval::Evaluate;

    pub(crate) fn eval(text: &str) -> std::result::Result<Value, String> {
        let mut ctx = Context::new();
        declare_all(&mut ctx);
        let expr: hcl::edit::expr::Expression = text.parse().map_err(|e| format!("{text}: {e}"))?;
        let expr: hcl::Expression = expr.into();
        expr.evaluate(&ctx).map_err(|e| e.to_string())
    }

    /// `text` evaluates to what the HCL literal `expected` does.
    #[track_caller]
    pub(crate) fn same(text: &str, expected: &str) {
        let want = eval(expected).unwrap_or_else(|e| panic!("{expected}: {e}"));
        match eval(text) {
            Ok(got) => assert_eq!(got, want, "{text}"),
            Err(e) => panic!("{text}: {e}"),
        }
    }

    /// `text` fails with a message containing `part`.
    #[track_caller]
    pub(crate) fn fails(text: &str, part: &str) {
        match eval(text) {
            Ok(v) => panic!("{text} gave {v}, not an error"),
            Err(e) => assert!(e.contains(part), "{text}: the error `{e}` does not say `{part}`"),
        }
    }

    #[test]
    fn the_library_has_each_name_once() {
        let mut names: Vec<&str> = LIBRARY.iter().map(|(n, _, _)| *n).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
        assert_eq!(names.len(), 76);
    }

    #[test]
    fn arity_is_checked() {
        fails("chomp()", "chomp");
        fails(r#"chomp("a", "b")"#, "chomp");
        fails("lookup({}, \"a\", 1, 2)", "lookup: takes at most 3 arguments, not 4");
    }

    #[test]
    fn tobool() {
        same(r#"tobool("true")"#, "true");
        same("tobool(false)", "false");
        same("tobool(null)", "null");
        fails(r#"tobool("yes")"#, r#"tobool: cannot convert the string "yes" to a bool"#);
    }

    #[test]
    fn tonumber() {
        same(r#"tonumber("12")"#, "12");
        same(r#"tonumber("-1.5e2")"#, "-150");
        same("tonumber(3.5)", "3.5");
        fails(r#"tonumber("0x10")"#, "tonumber: cannot convert the string \"0x10\" to a number");
        fails(r#"tonumber("inf")"#, "tonumber");
        fails("tonumber(true)", "tonumber");
    }

    #[test]
    fn tostring() {
        same("tostring(12)", r#""12""#);
        same("tostring(1.5)", r#""1.5""#);
        same("tostring(true)", r#""true""#);
        same(r#"tostring("x")"#, r#""x""#);
        fails("tostring([1])", "tostring: cannot convert a list to a string");
        fails("tostring({a = 1})", "tostring: cannot convert a map to a string");
    }

    #[test]
    fn tolist() {
        same(r#"tolist(["a", 1, true])"#, r#"["a", "1", "true"]"#);
        same("tolist([1, 2])", "[1, 2]");
        fails(r#"tolist("a")"#, "tolist: cannot convert the string \"a\" to a list");
    }

    #[test]
    fn tomap() {
        same(r#"tomap({a = 1, b = "x"})"#, r#"{a = "1", b = "x"}"#);
        fails("tomap([1])", "tomap: cannot convert a list to a map");
    }

    #[test]
    fn strings_stand_for_numbers_and_numbers_for_strings() {
        same(r#"upper(5)"#, r#""5""#);
        same(r#"abs("-3")"#, "3");
        same(r#"substr("hello", "1", "3")"#, r#""ell""#);
    }
}
