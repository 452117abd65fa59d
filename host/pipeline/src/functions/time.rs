//! Date and time functions. Timestamps are RFC 3339 strings ("2026-06-08T10:30:00Z"), and keep
//! their UTC offset through `formatdate` and `timeadd`.

use super::{Args, Result};
use chrono::{DateTime, Datelike, FixedOffset, SecondsFormat, TimeDelta, Timelike, Utc};
use hcl::eval::FuncArgs;
use hcl::Value;

/// The time of evaluation, in UTC to the second.
pub(super) fn timestamp(_args: FuncArgs) -> Result<Value> {
    Ok(Value::String(Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)))
}

fn parse(a: &Args, text: &str) -> Result<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).map_err(|e| a.fail(format!("{text:?} is not an RFC 3339 timestamp such as \"2026-06-08T10:30:00Z\": {e}")))
}

/// `timeadd(timestamp, duration)`, the duration in Go's syntax: "1h30m", "-10s", "1.5h", "250ms".
pub(super) fn timeadd(args: FuncArgs) -> Result<Value> {
    let a = Args::new("timeadd", &args);
    let (text, duration) = (a.string(0)?, a.string(1)?);
    let time = parse(&a, &text)?;
    let nanos = parse_duration(&duration).map_err(|e| a.fail(e))?;
    let sum = time.checked_add_signed(TimeDelta::nanoseconds(nanos)).ok_or_else(|| a.fail("the result is out of the range of dates"))?;
    Ok(Value::String(sum.to_rfc3339_opts(SecondsFormat::Secs, true)))
}

/// Go's `time.ParseDuration`, in nanoseconds: a sign, then numbers (with decimals or not), each
/// with its unit: ns, us (µs), ms, s, m, h.
fn parse_duration(text: &str) -> std::result::Result<i64, String> {
    let invalid = || format!("{text:?} is not a duration; write a number and a unit (h, m, s, ms, us, ns), like \"1h30m\" or \"-10s\"");
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (whole, after) = rest.split_at(digits(rest));
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => after.split_at(digits(after)),
            None => ("", after),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(invalid());
        }
        let unit_len = after.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("{text:?} is missing a unit (h, m, s, ms, us, ns) after a number")),
            other => return Err(format!("unknown unit {other:?} in the duration {text:?}; the units are h, m, s, ms, us and ns")),
        };
        // Digits past the 18th cannot change a count of nanoseconds that fits in 64 bits.
        let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| invalid())? };
        let fraction = &fraction[..fraction.len().min(18)];
        let part: u128 = if fraction.is_empty() { 0 } else { fraction.parse().map_err(|_| invalid())? };
        let part = part * scale / 10u128.pow(fraction.len() as u32);
        total = whole.checked_mul(scale).and_then(|w| w.checked_add(part)).and_then(|n| total.checked_add(n)).ok_or_else(invalid)?;
        rest = after;
    }
    let signed = i128::try_from(total).map(|n| if negative { -n } else { n }).map_err(|_| invalid())?;
    i64::try_from(signed).map_err(|_| invalid())
}

const MONTHS: [&str; 12] = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// `formatdate(spec, timestamp)` with Terraform's letters: YYYY YY, MMMM MMM MM M, DD D,
/// EEEE EEE, hh h (24-hour), HH H (12-hour), AA aa, mm m, ss s, ZZZZZ ZZZZ ZZZ Z; other text as
/// it is, letters quoted in single quotes ('' is a quote).
pub(super) fn formatdate(args: FuncArgs) -> Result<Value> {
    let a = Args::new("formatdate", &args);
    let (spec, text) = (a.string(0)?, a.string(1)?);
    let t = parse(&a, &text)?;
    let chars: Vec<char> = spec.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            i += 1;
            loop {
                match (chars.get(i), chars.get(i + 1)) {
                    (None, _) => return Err(a.fail("a quoted literal is not closed with '")),
                    (Some('\''), Some('\'')) => {
                        out.push('\'');
                        i += 2;
                    }
                    (Some('\''), _) => break,
                    (Some(&c), _) => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            i += 1;
        } else if c.is_ascii_alphabetic() {
            let n = chars[i..].iter().take_while(|d| **d == c).count();
            let verb: String = chars[i..i + n].iter().collect();
            out.push_str(&date_verb(&t, c, n).map_err(|wanted| a.fail(format!("invalid date format verb {verb:?}: {wanted}")))?);
            i += n;
        } else {
            out.push(c);
            i += 1;
        }
    }
    Ok(Value::String(out))
}

/// One run of `n` times the letter `c`, or what the letter may be.
fn date_verb(t: &DateTime<FixedOffset>, c: char, n: usize) -> std::result::Result<String, &'static str> {
    let two = |v: u32| format!("{v:02}");
    let offset = t.offset().local_minus_utc();
    let (sign, hours, minutes) = (if offset < 0 { '-' } else { '+' }, offset.unsigned_abs() / 3600, offset.unsigned_abs() / 60 % 60);
    let text = match (c, n) {
        ('Y', 2) => format!("{:02}", t.year().rem_euclid(100)),
        ('Y', 4) => format!("{:04}", t.year()),
        ('Y', _) => return Err("a year is YY or YYYY"),
        ('M', 1) => t.month().to_string(),
        ('M', 2) => two(t.month()),
        ('M', 3) => MONTHS[t.month0() as usize][..3].to_string(),
        ('M', 4) => MONTHS[t.month0() as usize].to_string(),
        ('M', _) => return Err("a month is M, MM, MMM or MMMM"),
        ('D', 1) => t.day().to_string(),
        ('D', 2) => two(t.day()),
        ('D', _) => return Err("a day of the month is D or DD"),
        ('E', 3) => WEEKDAYS[t.weekday().num_days_from_monday() as usize][..3].to_string(),
        ('E', 4) => WEEKDAYS[t.weekday().num_days_from_monday() as usize].to_string(),
        ('E', _) => return Err("a day of the week is EEE or EEEE"),
        ('h', 1) => t.hour().to_string(),
        ('h', 2) => two(t.hour()),
        ('h', _) => return Err("a 24-hour hour is h or hh"),
        ('H', 1) => t.hour12().1.to_string(),
        ('H', 2) => two(t.hour12().1),
        ('H', _) => return Err("a 12-hour hour is H or HH"),
        ('A', 2) => (if t.hour12().0 { "PM" } else { "AM" }).to_string(),
        ('a', 2) => (if t.hour12().0 { "pm" } else { "am" }).to_string(),
        ('A' | 'a', _) => return Err("the AM/PM marker is AA or aa"),
        ('m', 1) => t.minute().to_string(),
        ('m', 2) => two(t.minute()),
        ('m', _) => return Err("a minute is m or mm"),
        ('s', 1) => t.second().to_string(),
        ('s', 2) => two(t.second()),
        ('s', _) => return Err("a second is s or ss"),
        ('Z', 1) if offset == 0 => "Z".to_string(),
        ('Z', 3) if offset == 0 => "UTC".to_string(),
        ('Z', 1 | 5) => format!("{sign}{hours:02}:{minutes:02}"),
        ('Z', 3 | 4) => format!("{sign}{hours:02}{minutes:02}"),
        ('Z', _) => return Err("a time zone is Z, ZZZ, ZZZZ or ZZZZZ"),
        _ => return Err("not a date format letter; put literal letters in single quotes, as in 'at'"),
    };
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::super::test::{eval, fails, same};

    #[test]
    fn timestamp() {
        let hcl::Value::String(now) = eval("timestamp()").unwrap() else { panic!("not a string") };
        assert_eq!(now.len(), "2026-06-08T10:30:00Z".len(), "{now}");
        assert!(now.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(&now).is_ok(), "{now}");
    }

    #[test]
    fn formatdate() {
        same(r#"formatdate("YYYY-MM-DD", "2026-06-08T10:30:00Z")"#, r#""2026-06-08""#);
        same(r#"formatdate("DD MMM YYYY hh:mm ZZZ", "2026-06-08T10:30:00Z")"#, r#""08 Jun 2026 10:30 UTC""#);
        same(r#"formatdate("EEEE, MMMM D, YY H:m:s aa", "2026-06-08T15:04:05+02:00")"#, r#""Monday, June 8, 26 3:4:5 pm""#);
        same(r#"formatdate("EEE h AA Z ZZZZ ZZZZZ", "2026-01-04T00:00:00-08:00")"#, r#""Sun 0 AM -08:00 -0800 -08:00""#);
        same(r#"formatdate("HH 'o''clock' ''", "2026-06-08T00:30:00Z")"#, r#""12 o'clock '""#);
        same(r#"formatdate("Z", "2026-06-08T10:30:00+00:00")"#, r#""Z""#);
        fails(r#"formatdate("YYY", "2026-06-08T10:30:00Z")"#, r#"formatdate: invalid date format verb "YYY": a year is YY or YYYY"#);
        fails(r#"formatdate("q", "2026-06-08T10:30:00Z")"#, r#"formatdate: invalid date format verb "q": not a date format letter"#);
        fails(r#"formatdate("'at", "2026-06-08T10:30:00Z")"#, "formatdate: a quoted literal is not closed");
        fails(r#"formatdate("YYYY", "2026-06-08")"#, r#"formatdate: "2026-06-08" is not an RFC 3339 timestamp"#);
    }

    #[test]
    fn timeadd() {
        same(r#"timeadd("2026-06-08T10:30:00Z", "24h")"#, r#""2026-06-09T10:30:00Z""#);
        same(r#"timeadd("2026-06-08T10:30:00Z", "1h30m")"#, r#""2026-06-08T12:00:00Z""#);
        same(r#"timeadd("2026-06-08T10:30:00Z", "-10m")"#, r#""2026-06-08T10:20:00Z""#);
        same(r#"timeadd("2026-06-08T10:30:00Z", "1.5h")"#, r#""2026-06-08T12:00:00Z""#);
        same(r#"timeadd("2026-06-08T10:30:00Z", "1500ms")"#, r#""2026-06-08T10:30:01Z""#);
        same(r#"timeadd("2026-06-08T10:30:00+02:00", "0")"#, r#""2026-06-08T10:30:00+02:00""#);
        same(r#"timeadd("2026-06-08T10:30:00Z", "2us3ns")"#, r#""2026-06-08T10:30:00Z""#);
        fails(r#"timeadd("2026-06-08T10:30:00Z", "1d")"#, r#"timeadd: unknown unit "d" in the duration "1d""#);
        fails(r#"timeadd("2026-06-08T10:30:00Z", "10")"#, "timeadd: \"10\" is missing a unit");
        fails(r#"timeadd("2026-06-08T10:30:00Z", "")"#, "timeadd: \"\" is not a duration");
        fails(r#"timeadd("2026-06-08T10:30:00Z", "99999999999h")"#, "is not a duration");
        fails(r#"timeadd("yesterday", "1h")"#, "timeadd: \"yesterday\" is not an RFC 3339 timestamp");
    }
}
