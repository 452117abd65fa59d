//! String functions, with `format`'s printf.

use super::encoding::json;
use super::regex::compile;
use super::{as_bool, as_number, as_string, describe, to_f64, whole, Args, Result};
use hcl::eval::FuncArgs;
use hcl::Value;

/// The widest padding `indent` and `format` make, so that a mistyped number cannot make an
/// expression hold gigabytes.
const MAX_PAD: usize = 10_000;

pub(super) fn chomp(args: FuncArgs) -> Result<Value> {
    let s = Args::new("chomp", &args).string(0)?;
    Ok(Value::String(s.trim_end_matches(['\r', '\n']).to_string()))
}

pub(super) fn endswith(args: FuncArgs) -> Result<Value> {
    let a = Args::new("endswith", &args);
    Ok(Value::Bool(a.string(0)?.ends_with(&a.string(1)?)))
}

pub(super) fn startswith(args: FuncArgs) -> Result<Value> {
    let a = Args::new("startswith", &args);
    Ok(Value::Bool(a.string(0)?.starts_with(&a.string(1)?)))
}

pub(super) fn strcontains(args: FuncArgs) -> Result<Value> {
    let a = Args::new("strcontains", &args);
    Ok(Value::Bool(a.string(0)?.contains(&a.string(1)?)))
}

pub(super) fn format(args: FuncArgs) -> Result<Value> {
    let a = Args::new("format", &args);
    let spec = a.string(0)?;
    sprintf(&spec, &a.all()[1..]).map(Value::String).map_err(|e| a.fail(e))
}

/// `format` over lists: list arguments (all of one length) are taken element by element, the
/// others are repeated for each.
pub(super) fn formatlist(args: FuncArgs) -> Result<Value> {
    let a = Args::new("formatlist", &args);
    let spec = a.string(0)?;
    let rest = &a.all()[1..];
    let mut length: Option<(usize, usize)> = None;
    for (i, arg) in rest.iter().enumerate() {
        if let Value::Array(items) = arg {
            match length {
                None => length = Some((items.len(), i)),
                Some((n, first)) if n != items.len() => {
                    return Err(a.fail(format!(
                        "argument {} has length {}, which is inconsistent with argument {} of length {n}",
                        i + 2,
                        items.len(),
                        first + 2
                    )))
                }
                Some(_) => {}
            }
        }
    }
    let rows = length.map_or(1, |(n, _)| n);
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        let values: Vec<Value> = rest
            .iter()
            .map(|arg| match arg {
                Value::Array(items) => items.get(row).cloned().unwrap_or_default(),
                other => other.clone(),
            })
            .collect();
        let line = sprintf(&spec, &values).map_err(|e| a.fail(format!("error on format iteration {row}: {e}")))?;
        out.push(Value::String(line));
    }
    Ok(Value::Array(out))
}

/// Terraform's indent pads every line after the first, blank ones included.
pub(super) fn indent(args: FuncArgs) -> Result<Value> {
    let a = Args::new("indent", &args);
    let spaces = a.int(0)?;
    let text = a.string(1)?;
    let spaces = usize::try_from(spaces).ok().filter(|n| *n <= MAX_PAD).ok_or_else(|| a.fail(format!("the number of spaces must be from 0 to {MAX_PAD}")))?;
    Ok(Value::String(text.replace('\n', &format!("\n{}", " ".repeat(spaces)))))
}

pub(super) fn join(args: FuncArgs) -> Result<Value> {
    let a = Args::new("join", &args);
    let sep = a.string(0)?;
    if a.len() < 2 {
        return Err(a.fail("at least one list is required after the separator"));
    }
    let mut parts = Vec::new();
    for i in 1..a.len() {
        for (j, item) in a.list(i)?.iter().enumerate() {
            let part = as_string(item).ok_or_else(|| a.fail(format!("element {j} of list {i} must be a string, not {}", describe(item))))?;
            parts.push(part);
        }
    }
    Ok(Value::String(parts.join(&sep)))
}

/// Case is mapped a character at a time, as Go does: `upper("ß")` stays "ß" rather than "SS".
fn map_case(s: &str, f: fn(char) -> Option<char>) -> String {
    s.chars().map(|c| f(c).unwrap_or(c)).collect()
}

fn single<I: ExactSizeIterator<Item = char>>(mut mapped: I) -> Option<char> {
    if mapped.len() == 1 {
        mapped.next()
    } else {
        None
    }
}

pub(super) fn lower(args: FuncArgs) -> Result<Value> {
    let s = Args::new("lower", &args).string(0)?;
    Ok(Value::String(map_case(&s, |c| single(c.to_lowercase()))))
}

pub(super) fn upper(args: FuncArgs) -> Result<Value> {
    let s = Args::new("upper", &args).string(0)?;
    Ok(Value::String(map_case(&s, |c| single(c.to_uppercase()))))
}

/// A search string in slashes, `/re/`, is a regular expression, as in Terraform; the
/// replacement may then use `$1` and `${name}`.
pub(super) fn replace(args: FuncArgs) -> Result<Value> {
    let a = Args::new("replace", &args);
    let (text, search, with) = (a.string(0)?, a.string(1)?, a.string(2)?);
    if search.len() > 1 && search.starts_with('/') && search.ends_with('/') {
        let re = compile(&a, &search[1..search.len() - 1])?;
        return Ok(Value::String(re.replace_all(&text, with.as_str()).into_owned()));
    }
    Ok(Value::String(text.replace(&search, &with)))
}

pub(super) fn split(args: FuncArgs) -> Result<Value> {
    let a = Args::new("split", &args);
    let (sep, text) = (a.string(0)?, a.string(1)?);
    // Go splits on "" between characters, with nothing before the first or after the last.
    let parts: Vec<Value> =
        if sep.is_empty() { text.chars().map(|c| Value::String(c.to_string())).collect() } else { text.split(&sep).map(Value::from).collect() };
    Ok(Value::Array(parts))
}

pub(super) fn strlen(args: FuncArgs) -> Result<Value> {
    let s = Args::new("strlen", &args).string(0)?;
    Ok(Value::from(s.chars().count()))
}

pub(super) fn strrev(args: FuncArgs) -> Result<Value> {
    let s = Args::new("strrev", &args).string(0)?;
    Ok(Value::String(s.chars().rev().collect()))
}

/// go-cty's substr: a negative offset counts from the end, a negative length runs to the end,
/// and an offset past the end gives "".
pub(super) fn substr(args: FuncArgs) -> Result<Value> {
    let a = Args::new("substr", &args);
    let (text, offset, length) = (a.string(0)?, a.int(1)?, a.int(2)?);
    let chars: Vec<char> = text.chars().collect();
    let total = chars.len() as i64;
    let offset = if offset < 0 { (offset + total).max(0) } else { offset.min(total) };
    let rest = &chars[offset as usize..];
    let taken = if length < 0 { rest.len() } else { (length as usize).min(rest.len()) };
    Ok(Value::String(rest[..taken].iter().collect()))
}

/// Go's strings.Title: the first letter after anything but a letter, digit or underscore.
pub(super) fn title(args: FuncArgs) -> Result<Value> {
    let s = Args::new("title", &args).string(0)?;
    let separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            !c.is_alphanumeric() && c.is_whitespace()
        }
    };
    let mut previous = ' ';
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if separator(previous) {
            out.push(single(c.to_uppercase()).unwrap_or(c));
        } else {
            out.push(c);
        }
        previous = c;
    }
    Ok(Value::String(out))
}

/// Every character of the second argument is trimmed from both ends, in any order.
pub(super) fn trim(args: FuncArgs) -> Result<Value> {
    let a = Args::new("trim", &args);
    let (text, cutset) = (a.string(0)?, a.string(1)?);
    Ok(Value::String(text.trim_matches(|c| cutset.contains(c)).to_string()))
}

pub(super) fn trimprefix(args: FuncArgs) -> Result<Value> {
    let a = Args::new("trimprefix", &args);
    let (text, prefix) = (a.string(0)?, a.string(1)?);
    Ok(Value::String(text.strip_prefix(prefix.as_str()).unwrap_or(&text).to_string()))
}

pub(super) fn trimsuffix(args: FuncArgs) -> Result<Value> {
    let a = Args::new("trimsuffix", &args);
    let (text, suffix) = (a.string(0)?, a.string(1)?);
    Ok(Value::String(text.strip_suffix(suffix.as_str()).unwrap_or(&text).to_string()))
}

pub(super) fn trimspace(args: FuncArgs) -> Result<Value> {
    let s = Args::new("trimspace", &args).string(0)?;
    Ok(Value::String(s.trim().to_string()))
}

// ---------------------------------------------------------------------------------------------
// printf, as go-cty's format: `%` [flags] [width] [.precision] [[argument]] verb

#[derive(Default)]
struct Verb {
    zero: bool,
    sharp: bool,
    minus: bool,
    plus: bool,
    space: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

/// Formats `args` by `spec`; every argument must be used, to catch a forgotten verb.
pub(super) fn sprintf(spec: &str, args: &[Value]) -> Result<String> {
    let mut out = String::new();
    let mut next = 0;
    let mut highest = 0;
    let mut chars = spec.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.next_if(|(_, c)| *c == '%').is_some() {
            out.push('%');
            continue;
        }
        let mut verb = Verb::default();
        while let Some((_, flag)) = chars.next_if(|(_, c)| "0#-+ ".contains(*c)) {
            match flag {
                '0' => verb.zero = true,
                '#' => verb.sharp = true,
                '-' => verb.minus = true,
                '+' => verb.plus = true,
                _ => verb.space = true,
            }
        }
        verb.width = number(&mut chars);
        if chars.next_if(|(_, c)| *c == '.').is_some() {
            verb.precision = Some(number(&mut chars).unwrap_or(0));
        }
        let mut index = next;
        if chars.next_if(|(_, c)| *c == '[').is_some() {
            match (number(&mut chars), chars.next()) {
                (Some(n), Some((_, ']'))) if n > 0 => index = n - 1,
                _ => return Err(format!("invalid argument index in the verb at offset {start}; it is written like %[2]s")),
            }
        }
        if verb.width.max(verb.precision).is_some_and(|n| n > MAX_PAD) {
            return Err(format!("the width or precision of the verb at offset {start} is over {MAX_PAD}"));
        }
        let (end, mode) = match chars.next() {
            Some((at, m)) if m.is_ascii_alphabetic() => (at + 1, m),
            Some((at, other)) => return Err(format!("unrecognized format character {other:?} at offset {at}")),
            None => return Err(format!("the format string ends inside the verb at offset {start}")),
        };
        let raw = &spec[start..end];
        if !"vtbdoxXeEfgGsq".contains(mode) {
            return Err(format!("unsupported format verb %{mode} at offset {start}; the verbs are %s %q %d %f %e %g %x %X %o %b %t %v and %%"));
        }
        let Some(arg) = args.get(index) else {
            let given = if args.len() == 1 { "1 was".to_string() } else { format!("{} were", args.len()) };
            return Err(format!("not enough arguments for {raw} at offset {start}: it needs argument {} and {given} given", index + 1));
        };
        if mode != 'v' && arg.is_null() {
            return Err(format!("{raw} at offset {start} cannot format null"));
        }
        let needs = |what: &str| format!("{raw} at offset {start} needs {what}, not {}", describe(arg));
        match mode {
            'v' => out.push_str(&as_is(&verb, arg)),
            't' => out.push_str(if as_bool(arg).ok_or_else(|| needs("a bool"))? { "true" } else { "false" }),
            'b' | 'd' | 'o' | 'x' | 'X' => {
                let n = as_number(arg).ok_or_else(|| needs("a number"))?;
                let i = whole(&n).ok_or_else(|| needs("a whole number"))?;
                out.push_str(&integer(&verb, mode, i));
            }
            'e' | 'E' | 'f' | 'g' | 'G' => {
                let n = as_number(arg).ok_or_else(|| needs("a number"))?;
                out.push_str(&float(&verb, mode, to_f64(&n)));
            }
            _ => {
                let mut s = as_string(arg).ok_or_else(|| needs("a string"))?;
                // go-cty truncates only for a precision above zero: "%.0s" is the whole string.
                if let Some(p) = verb.precision.filter(|p| *p > 0) {
                    s = s.chars().take(p).collect();
                }
                let s = if mode == 'q' { json(&Value::String(s)) } else { s };
                out.push_str(&pad(&verb, s));
            }
        }
        highest = highest.max(index + 1);
        next = index + 1;
    }
    match highest {
        h if h >= args.len() => Ok(out),
        0 => Err("too many arguments; the format string has no verbs".to_string()),
        h => Err(format!("too many arguments; only {h} used by the format string")),
    }
}

/// The decimal number at the front of `chars`, if there is one.
fn number(chars: &mut std::iter::Peekable<std::str::CharIndices>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some((_, d)) = chars.next_if(|(_, c)| c.is_ascii_digit()) {
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize - '0' as usize));
    }
    n
}

/// `%v`: strings as they are, numbers as `%g`, anything else as JSON (`%#v`: always JSON).
fn as_is(verb: &Verb, arg: &Value) -> String {
    let text = match arg {
        Value::String(s) if !verb.sharp => s.clone(),
        Value::Number(n) if !verb.sharp => {
            let f = to_f64(n);
            let sign = if f < 0.0 { "-" } else { "" };
            format!("{sign}{}", general(f.abs(), None, false))
        }
        other => json(other),
    };
    pad(verb, text)
}

/// Pads to the width, with spaces or zeros, on the left or (`-`) the right.
fn pad(verb: &Verb, text: String) -> String {
    let len = text.chars().count();
    match verb.width {
        Some(w) if w > len => {
            let fill = (if verb.zero { "0" } else { " " }).repeat(w - len);
            if verb.minus {
                text + &fill
            } else {
                fill + &text
            }
        }
        _ => text,
    }
}

fn sign(verb: &Verb, negative: bool) -> &'static str {
    if negative {
        "-"
    } else if verb.plus {
        "+"
    } else if verb.space {
        " "
    } else {
        ""
    }
}

/// Go's integer formatting: the precision is a minimum number of digits, `#` adds the base's
/// prefix, and `0` pads with zeros after the sign unless a precision is given.
fn integer(verb: &Verb, mode: char, i: i128) -> String {
    let n = i.unsigned_abs();
    let mut digits = match mode {
        'b' => format!("{n:b}"),
        'o' => format!("{n:o}"),
        'x' => format!("{n:x}"),
        'X' => format!("{n:X}"),
        _ => n.to_string(),
    };
    let prefix = match (verb.sharp, mode) {
        (true, 'b') => "0b",
        (true, 'o') => "0",
        (true, 'x') => "0x",
        (true, 'X') => "0X",
        _ => "",
    };
    let sign = sign(verb, i < 0);
    let mut zeros = 0;
    if let Some(p) = verb.precision {
        if p == 0 && n == 0 {
            return String::new();
        }
        zeros = p.saturating_sub(digits.len());
    }
    let (mut left, mut right) = (0, 0);
    let length = sign.len() + prefix.len() + zeros + digits.len();
    if let Some(w) = verb.width.filter(|w| *w > length) {
        if verb.minus {
            right = w - length;
        } else if verb.zero && verb.precision.is_none() {
            zeros += w - length;
        } else {
            left = w - length;
        }
    }
    digits.insert_str(0, &"0".repeat(zeros));
    format!("{}{sign}{prefix}{digits}{}", " ".repeat(left), " ".repeat(right))
}

/// Go's float formatting: `%e` `%f` default to 6 places, `%g` to the fewest digits that read
/// back; `0` pads with zeros after the sign and wins over `-`.
fn float(verb: &Verb, mode: char, f: f64) -> String {
    let x = f.abs();
    let body = match mode {
        'f' => format!("{x:.*}", verb.precision.unwrap_or(6)),
        'e' | 'E' => exponent(x, verb.precision.unwrap_or(6), mode == 'E'),
        _ => general(x, verb.precision, mode == 'G'),
    };
    let sign = sign(verb, f < 0.0);
    let padding = verb.width.map_or(0, |w| w.saturating_sub(sign.len() + body.len()));
    if verb.zero {
        format!("{sign}{}{body}", "0".repeat(padding))
    } else if verb.minus {
        format!("{sign}{body}{}", " ".repeat(padding))
    } else {
        format!("{}{sign}{body}", " ".repeat(padding))
    }
}

/// `d.dddddde+XX`, with Go's signed exponent of at least two digits.
fn exponent(x: f64, places: usize, upper: bool) -> String {
    let s = format!("{x:.places$e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    exp_text(mantissa, exp, upper)
}

fn exp_text(mantissa: &str, exp: i32, upper: bool) -> String {
    format!("{mantissa}{}{}{:02}", if upper { 'E' } else { 'e' }, if exp < 0 { '-' } else { '+' }, exp.unsigned_abs())
}

/// `%g`: Go's choice between `%e` and `%f` (the exponent form from 1e+06 on when no precision
/// is given, from the precision on otherwise), without trailing zeros.
fn general(x: f64, precision: Option<usize>, upper: bool) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    let p = precision.map(|p| p.max(1));
    let s = match p {
        None => format!("{x:e}"),
        Some(p) => format!("{x:.*e}", p - 1),
    };
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    let nd = digits.len() as i64;
    let exp: i64 = exp.parse().unwrap_or(0);
    let dp = exp + 1;
    let eprec = match p {
        None => 6,
        Some(p) if p as i64 > nd && nd >= dp => nd,
        Some(p) => p as i64,
    };
    let digit = |i: i64| if (0..nd).contains(&i) { digits[i as usize] as char } else { '0' };
    if exp < -4 || exp >= eprec {
        let keep = p.map_or(nd, |p| nd.min(p as i64));
        let mut mantissa = digit(0).to_string();
        if keep > 1 {
            mantissa.push('.');
            mantissa.extend((1..keep).map(digit));
        }
        return exp_text(&mantissa, exp as i32, upper);
    }
    let wanted = p.map_or(nd, |p| p as i64);
    let places = if wanted > dp { nd - dp } else { wanted - dp }.max(0);
    let mut out: String = if dp > 0 { (0..dp).map(digit).collect() } else { "0".to_string() };
    if places > 0 {
        out.push('.');
        out.extend((dp..dp + places).map(digit));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test::{fails, same};

    #[test]
    fn chomp() {
        same(r#"chomp("hello\n")"#, r#""hello""#);
        same(r#"chomp("hello\r\n\n")"#, r#""hello""#);
        same(r#"chomp("hello\nworld")"#, r#""hello\nworld""#);
        fails("chomp([])", "chomp: the argument must be a string, not a list");
    }

    #[test]
    fn endswith_startswith_strcontains() {
        same(r#"endswith("hello", "lo")"#, "true");
        same(r#"endswith("hello", "he")"#, "false");
        same(r#"startswith("hello", "he")"#, "true");
        same(r#"startswith("hello", "")"#, "true");
        same(r#"strcontains("hello", "ell")"#, "true");
        same(r#"strcontains("hello", "x")"#, "false");
    }

    #[test]
    fn format() {
        same(r#"format("v%s-%s", "1.0", "prod")"#, r#""v1.0-prod""#);
        same(r#"format("%d items", 3)"#, r#""3 items""#);
        same(r#"format("%.2f", 3.14159)"#, r#""3.14""#);
        same(r#"format("%f", 1)"#, r#""1.000000""#);
        same(r#"format("[%5s][%-5s]", "ab", "cd")"#, r#""[   ab][cd   ]""#);
        same(r#"format("%05d|%+d|%x|%X|%o|%b|%#x", 42, 5, 255, 255, 8, 5, 255)"#, r#""00042|+5|ff|FF|10|101|0xff""#);
        same(r#"format("%q", "a\"b")"#, r#""\"a\\\"b\"""#);
        same(r#"format("%t %t", true, "false")"#, r#""true false""#);
        same(r#"format("%v %v %v", "s", 1.5, [1, "a"])"#, r#""s 1.5 [1,\"a\"]""#);
        same(r#"format("%#v", "s")"#, r#""\"s\"""#);
        same(r#"format("%v", null)"#, r#""null""#);
        same(r#"format("100%%")"#, r#""100%""#);
        same(r#"format("%s", 12)"#, r#""12""#);
        same(r#"format("%.3s", "abcdef")"#, r#""abc""#);
        same(r#"format("%[2]s %[1]s", "a", "b")"#, r#""b a""#);
        same(r#"format("%e|%.2E|%g|%g|%g|%.3g", 1234.5678, 0.000123, 1000000, 0.0001, 1.5, 3.14159)"#, r#""1.234568e+03|1.23E-04|1e+06|0.0001|1.5|3.14""#);
        same(r#"format("%8.2f|%-8.2f|%08.2f", -3.14159, 2.5, -1.5)"#, r#""   -3.14|2.50    |-0001.50""#);
    }

    #[test]
    fn format_errors() {
        fails(r#"format("%y", 1)"#, "format: unsupported format verb %y at offset 0");
        fails(r#"format("%s %s", "a")"#, "format: not enough arguments for %s at offset 3: it needs argument 2 and 1 was given");
        fails(r#"format("%s", "a", "b")"#, "format: too many arguments; only 1 used");
        fails(r#"format("x", "a")"#, "format: too many arguments; the format string has no verbs");
        fails(r#"format("%d", 1.5)"#, "format: %d at offset 0 needs a whole number, not the number 1.5");
        fails(r#"format("%d", "x")"#, "format: %d at offset 0 needs a number");
        fails(r#"format("%s", [1])"#, "format: %s at offset 0 needs a string, not a list");
        fails(r#"format("%s", null)"#, "cannot format null");
        fails(r#"format("%5", 1)"#, "ends inside the verb");
        fails(r#"format("%99999s", 1)"#, "over 10000");
    }

    #[test]
    fn formatlist() {
        same(r#"formatlist("-%s", ["a", "b"])"#, r#"["-a", "-b"]"#);
        same(r#"formatlist("%s=%s", ["a", "b"], ["1", "2"])"#, r#"["a=1", "b=2"]"#);
        same(r#"formatlist("%s@%s", ["a", "b"], "host")"#, r#"["a@host", "b@host"]"#);
        same(r#"formatlist("%s", [])"#, "[]");
        same(r#"formatlist("x")"#, r#"["x"]"#);
        fails(r#"formatlist("%s%s", ["a"], ["b", "c"])"#, "formatlist: argument 3 has length 2, which is inconsistent with argument 2 of length 1");
        fails(r#"formatlist("%d", ["a"])"#, "formatlist: error on format iteration 0");
    }

    #[test]
    fn indent() {
        same(r#"indent(2, "a\nb")"#, r#""a\n  b""#);
        same(r#"indent(1, "a\n\nb\n")"#, r#""a\n \n b\n ""#);
        fails(r#"indent(-1, "a")"#, "indent: the number of spaces must be from 0");
    }

    #[test]
    fn join() {
        same(r#"join(", ", ["a", "b"])"#, r#""a, b""#);
        same(r#"join("-", ["a"], ["b", 1])"#, r#""a-b-1""#);
        same(r#"join("-", [])"#, r#""""#);
        fails(r#"join("-")"#, "join: at least one list is required");
        fails(r#"join("-", ["a", null])"#, "join: element 1 of list 1 must be a string, not null");
        fails(r#"join("-", "a")"#, "join: argument 2 must be a list");
    }

    #[test]
    fn lower_upper() {
        same(r#"lower("HeLLo")"#, r#""hello""#);
        same(r#"upper("hello é")"#, r#""HELLO É""#);
        same(r#"upper("ß")"#, r#""ß""#);
    }

    #[test]
    fn replace() {
        same(r#"replace("hello", "l", "r")"#, r#""herro""#);
        same(r#"replace("a.b.c", ".", "-")"#, r#""a-b-c""#);
        same(r#"replace("hello", "/l+/", "r")"#, r#""hero""#);
        same(r#"replace("v1.2.3", "/v(\\d+)\\.(\\d+).*/", "$1-$2")"#, r#""1-2""#);
        same(r#"replace("/", "/", "x")"#, r#""x""#);
        fails(r#"replace("a", "/(/", "x")"#, "replace: invalid regular expression");
    }

    #[test]
    fn split() {
        same(r#"split(",", "a,b,c")"#, r#"["a", "b", "c"]"#);
        same(r#"split(",", "")"#, r#"[""]"#);
        same(r#"split(",", "a,")"#, r#"["a", ""]"#);
        same(r#"split("", "ab")"#, r#"["a", "b"]"#);
    }

    #[test]
    fn strlen_strrev() {
        same(r#"strlen("héllo")"#, "5");
        same(r#"strlen("")"#, "0");
        same(r#"strrev("héllo")"#, r#""olléh""#);
    }

    #[test]
    fn substr() {
        same(r#"substr("hello", 1, 3)"#, r#""ell""#);
        same(r#"substr("hello", 1, -1)"#, r#""ello""#);
        same(r#"substr("hello", -3, 2)"#, r#""ll""#);
        same(r#"substr("hello", 10, 2)"#, r#""""#);
        same(r#"substr("hello", 2, 100)"#, r#""llo""#);
        same(r#"substr("héllo", 1, 1)"#, r#""é""#);
        fails(r#"substr("hello", 1.5, 1)"#, "substr: argument 2 must be a whole number, not 1.5");
    }

    #[test]
    fn title() {
        same(r#"title("hello world")"#, r#""Hello World""#);
        same(r#"title("hello-world foo_bar x.y")"#, r#""Hello-World Foo_bar X.Y""#);
    }

    #[test]
    fn trims() {
        same(r#"trim("?!hello?!", "!?")"#, r#""hello""#);
        same(r#"trimprefix("helloworld", "hello")"#, r#""world""#);
        same(r#"trimprefix("helloworld", "x")"#, r#""helloworld""#);
        same(r#"trimsuffix("helloworld", "world")"#, r#""hello""#);
        same(r#"trimspace("  hello\n\t")"#, r#""hello""#);
    }
}
