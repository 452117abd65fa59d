//! Numeric functions. Whole numbers stay exact; the rest is 64-bit floating point (Terraform
//! computes with 512-bit floats, which only shows past the 15th digit).

use super::{float_value, int_value, to_f64, Args, Result};
use hcl::eval::FuncArgs;
use hcl::{Number, Value};

pub(super) fn abs(args: FuncArgs) -> Result<Value> {
    let a = Args::new("abs", &args);
    let n = a.number(0)?;
    match n.as_i64() {
        Some(i) => Ok(int_value(i128::from(i).abs())),
        None => float_value(&a, to_f64(&n).abs()),
    }
}

pub(super) fn ceil(args: FuncArgs) -> Result<Value> {
    let a = Args::new("ceil", &args);
    float_value(&a, a.float(0)?.ceil())
}

pub(super) fn floor(args: FuncArgs) -> Result<Value> {
    let a = Args::new("floor", &args);
    float_value(&a, a.float(0)?.floor())
}

pub(super) fn log(args: FuncArgs) -> Result<Value> {
    let a = Args::new("log", &args);
    let (n, base) = (a.float(0)?, a.float(1)?);
    float_value(&a, n.ln() / base.ln())
}

pub(super) fn pow(args: FuncArgs) -> Result<Value> {
    let a = Args::new("pow", &args);
    let (n, power) = (a.float(0)?, a.float(1)?);
    float_value(&a, n.powf(power))
}

pub(super) fn signum(args: FuncArgs) -> Result<Value> {
    let a = Args::new("signum", &args);
    let n = a.float(0)?;
    Ok(Value::from(if n > 0.0 {
        1
    } else if n < 0.0 {
        -1
    } else {
        0
    }))
}

/// The argument that compares greatest (`Greater`) or least (`Less`), as it was given.
fn extreme(a: &Args, wanted: std::cmp::Ordering) -> Result<Value> {
    if a.len() == 0 {
        return Err(a.fail("at least one number is required"));
    }
    let mut best: Option<Number> = None;
    for i in 0..a.len() {
        let n = a.number(i)?;
        if best.is_none_or(|b| to_f64(&n).total_cmp(&to_f64(&b)) == wanted) {
            best = Some(n);
        }
    }
    Ok(best.map_or(Value::Null, Value::Number))
}

pub(super) fn max(args: FuncArgs) -> Result<Value> {
    extreme(&Args::new("max", &args), std::cmp::Ordering::Greater)
}

pub(super) fn min(args: FuncArgs) -> Result<Value> {
    extreme(&Args::new("min", &args), std::cmp::Ordering::Less)
}

/// Go's big.Int parsing, as Terraform's: an optional sign, then digits of the base; for bases
/// above 36 lowercase letters are 10-35 and uppercase ones 36-61.
pub(super) fn parseint(args: FuncArgs) -> Result<Value> {
    let a = Args::new("parseint", &args);
    let Value::String(text) = a.get(0) else {
        return Err(a.fail(format!("argument 1 must be a string, not {}", super::describe(a.get(0)))));
    };
    let base = a.int(1)?;
    if !(2..=62).contains(&base) {
        return Err(a.fail("the base must be a whole number from 2 to 62"));
    }
    let cannot = || a.fail(format!("cannot parse {text:?} as a base {base} integer"));
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty() {
        return Err(cannot());
    }
    let mut value: i128 = 0;
    for c in digits.chars() {
        let d = match c {
            '0'..='9' => c as i64 - '0' as i64,
            'a'..='z' => c as i64 - 'a' as i64 + 10,
            'A'..='Z' if base <= 36 => c as i64 - 'A' as i64 + 10,
            'A'..='Z' => c as i64 - 'A' as i64 + 36,
            _ => return Err(cannot()),
        };
        if d >= base {
            return Err(cannot());
        }
        value = value.checked_mul(base.into()).and_then(|v| v.checked_add(d.into())).ok_or_else(|| a.fail(format!("{text:?} is too large a number")))?;
    }
    Ok(int_value(if negative { -value } else { value }))
}

#[cfg(test)]
mod tests {
    use super::super::test::{fails, same};

    #[test]
    fn abs() {
        same("abs(-3)", "3");
        same("abs(2.5)", "2.5");
        same("abs(-2.5)", "2.5");
        fails(r#"abs("x")"#, "abs: the argument must be a number, not the string \"x\"");
    }

    #[test]
    fn ceil_floor() {
        same("ceil(1.2)", "2");
        same("ceil(-1.2)", "-1");
        same("floor(1.8)", "1");
        same("floor(-1.2)", "-2");
        same("floor(5)", "5");
    }

    #[test]
    fn log() {
        same("log(100, 10)", "2");
        same("log(8, 2)", "3");
        fails("log(0, 10)", "log: the result is not a finite number");
        fails("log(-1, 10)", "log: the result is not a finite number");
    }

    #[test]
    fn pow() {
        same("pow(2, 10)", "1024");
        same("pow(4, 0.5)", "2");
        fails("pow(0, -1)", "pow: the result is not a finite number");
    }

    #[test]
    fn signum() {
        same("signum(-5)", "-1");
        same("signum(0)", "0");
        same("signum(0.5)", "1");
    }

    #[test]
    fn max_min() {
        same("max(1, 5, 3)", "5");
        same("min(4, -2.5, 3)", "-2.5");
        same(r#"max("7", 3)"#, "7");
        same("max([2, 9]...)", "9");
        fails("max()", "max: at least one number is required");
        fails("min(1, [])", "min: argument 2 must be a number, not a list");
    }

    #[test]
    fn parseint() {
        same(r#"parseint("ff", 16)"#, "255");
        same(r#"parseint("FF", 16)"#, "255");
        same(r#"parseint("-101", 2)"#, "-5");
        same(r#"parseint("zZ", 62)"#, "35 * 62 + 61");
        fails(r#"parseint("12", 1)"#, "parseint: the base must be a whole number from 2 to 62");
        fails(r#"parseint("19", 8)"#, "parseint: cannot parse \"19\" as a base 8 integer");
        fails("parseint(12, 10)", "parseint: argument 1 must be a string, not the number 12");
    }
}
