//! Encoding functions: base64, JSON, CSV and URL query text.

use super::{number_text, Args, Result};
use base64::Engine as _;
use hcl::eval::FuncArgs;
use hcl::{Map, Number, Value};

pub(super) fn base64encode(args: FuncArgs) -> Result<Value> {
    let s = Args::new("base64encode", &args).string(0)?;
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(s)))
}

pub(super) fn base64decode(args: FuncArgs) -> Result<Value> {
    let a = Args::new("base64decode", &args);
    let s = a.string(0)?;
    // Go's decoder, and so Terraform's, skips line breaks, as in wrapped base64.
    let s: String = s.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(&s).map_err(|e| a.fail(format!("the string is not valid base64: {e}")))?;
    String::from_utf8(bytes).map(Value::String).map_err(|_| a.fail("the decoded bytes are not UTF-8 text"))
}

pub(super) fn jsonencode(args: FuncArgs) -> Result<Value> {
    Ok(Value::String(json(Args::new("jsonencode", &args).get(0))))
}

pub(super) fn jsondecode(args: FuncArgs) -> Result<Value> {
    let a = Args::new("jsondecode", &args);
    let text = a.string(0)?;
    let parsed: serde_json::Value = serde_json::from_str(&text).map_err(|e| a.fail(format!("the string is not valid JSON: {e}")))?;
    Ok(from_json(parsed))
}

/// Go's `url.QueryEscape`: letters, digits and `-_.~` stay, a space is `+`, the rest `%XX`.
pub(super) fn urlencode(args: FuncArgs) -> Result<Value> {
    let s = Args::new("urlencode", &args).string(0)?;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(Value::String(out))
}

/// RFC 4180 CSV whose first line names the columns: a list of one map per further line.
pub(super) fn csvdecode(args: FuncArgs) -> Result<Value> {
    let a = Args::new("csvdecode", &args);
    let records = parse_csv(&a.string(0)?).map_err(|e| a.fail(e))?;
    let mut records = records.into_iter();
    let Some((_, header)) = records.next() else {
        return Err(a.fail("missing header line"));
    };
    for (i, name) in header.iter().enumerate() {
        if header[..i].contains(name) {
            return Err(a.fail(format!("duplicate column name {name:?}")));
        }
    }
    let mut rows = Vec::new();
    for (line, record) in records {
        if record.len() != header.len() {
            return Err(a.fail(format!("line {line} has {} fields where the header has {}", record.len(), header.len())));
        }
        rows.push(Value::Object(header.iter().cloned().zip(record.into_iter().map(Value::String)).collect()));
    }
    Ok(Value::Array(rows))
}

/// Records with the line each starts on, as Go's encoding/csv reads them: `\r\n` ends a line
/// like `\n`, empty lines are skipped, quotes are doubled inside quoted fields and may not
/// appear in unquoted ones.
fn parse_csv(text: &str) -> std::result::Result<Vec<(usize, Vec<String>)>, String> {
    let text = text.replace("\r\n", "\n");
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut records = Vec::new();
    loop {
        while chars.next_if_eq(&'\n').is_some() {
            line += 1;
        }
        if chars.peek().is_none() {
            return Ok(records);
        }
        let start = line;
        let mut record = Vec::new();
        loop {
            let mut field = String::new();
            if chars.next_if_eq(&'"').is_some() {
                loop {
                    match chars.next() {
                        None => return Err(format!("the quoted field starting on line {start} is not closed")),
                        Some('"') => match chars.peek() {
                            Some('"') => {
                                chars.next();
                                field.push('"');
                            }
                            Some(',' | '\n') | None => break,
                            Some(_) => return Err(format!("line {line}: a quote inside a quoted field must be doubled")),
                        },
                        Some(c) => {
                            line += usize::from(c == '\n');
                            field.push(c);
                        }
                    }
                }
            } else {
                while let Some(c) = chars.next_if(|c| *c != ',' && *c != '\n') {
                    if c == '"' {
                        return Err(format!("line {line}: a quote in a field that does not start with one"));
                    }
                    field.push(c);
                }
            }
            record.push(field);
            match chars.next() {
                Some(',') => {}
                Some(_) => {
                    line += 1;
                    break;
                }
                None => break,
            }
        }
        records.push((start, record));
    }
}

// ---------------------------------------------------------------------------------------------
// JSON as Terraform writes it

/// Compact JSON with object keys sorted and numbers in full, as go-cty writes it.
pub(super) fn json(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, &mut out);
    out
}

fn write_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_text(n)),
        Value::String(s) => json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(key, out);
                out.push(':');
                write_json(value, out);
            }
            out.push('}');
        }
    }
}

/// Go's encoding/json string escapes, which Terraform documents: `<`, `>`, `&`, U+2028 and
/// U+2029 are written `\u003c` and so on, so that the JSON is safe inside HTML.
fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn from_json(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => {
            let number = match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Some(Number::from(i)),
                (None, Some(u)) => Some(Number::from(u)),
                _ => n.as_f64().and_then(Number::from_f64),
            };
            number.map_or(Value::Null, Value::Number)
        }
        serde_json::Value::String(s) => Value::String(s),
        serde_json::Value::Array(items) => Value::Array(items.into_iter().map(from_json).collect()),
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, from_json(v))).collect::<Map<_, _>>())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test::{fails, same};

    #[test]
    fn base64() {
        same(r#"base64encode("hello")"#, r#""aGVsbG8=""#);
        same(r#"base64decode("aGVsbG8=")"#, r#""hello""#);
        same(r#"base64decode("aGVs\nbG8=")"#, r#""hello""#);
        fails(r#"base64decode("not base64!")"#, "base64decode: the string is not valid base64");
        fails(r#"base64decode("/w==")"#, "base64decode: the decoded bytes are not UTF-8 text");
    }

    #[test]
    fn jsonencode() {
        same(r#"jsonencode({b = [1, 2.5, true, null], a = "x"})"#, r#""{\"a\":\"x\",\"b\":[1,2.5,true,null]}""#);
        same(r#"jsonencode("<a&b>\n")"#, r#""\"\\u003ca\\u0026b\\u003e\\n\"""#);
        same("jsonencode(1e21)", r#""1000000000000000000000""#);
    }

    #[test]
    fn jsondecode() {
        same(r#"jsondecode("{\"a\": [1, \"x\", null, true], \"b\": {\"c\": 1.5}}")"#, r#"{a = [1, "x", null, true], b = {c = 1.5}}"#);
        same(r#"jsondecode("\"s\"")"#, r#""s""#);
        fails(r#"jsondecode("{")"#, "jsondecode: the string is not valid JSON");
    }

    #[test]
    fn urlencode() {
        same(r#"urlencode("a b")"#, r#""a+b""#);
        same(r#"urlencode("a/b?c=d&e~f.g_h-i")"#, r#""a%2Fb%3Fc%3Dd%26e~f.g_h-i""#);
        same(r#"urlencode("é")"#, r#""%C3%A9""#);
    }

    #[test]
    fn csvdecode() {
        same(r#"csvdecode("a,b\n1,2\n3,4\n")"#, r#"[{a = "1", b = "2"}, {a = "3", b = "4"}]"#);
        same(r#"csvdecode("a,b\r\n\"x, \"\"y\"\"\",\"multi\nline\"\r\n\n,\n")"#, r#"[{a = "x, \"y\"", b = "multi\nline"}, {a = "", b = ""}]"#);
        same(r#"csvdecode("a,b")"#, "[]");
        fails(r#"csvdecode("")"#, "csvdecode: missing header line");
        fails(r#"csvdecode("a,b\n1\n")"#, "csvdecode: line 2 has 1 fields where the header has 2");
        fails(r#"csvdecode("a,a\n1,2\n")"#, "csvdecode: duplicate column name \"a\"");
        fails(r#"csvdecode("a\nx\"y\n")"#, "csvdecode: line 2: a quote in a field");
        fails(r#"csvdecode("a\n\"x\n")"#, "is not closed");
    }
}
