//! `pikoci server --config FILE`, as PikoCI reads it (viper): a JSON, TOML, YAML or dotenv file,
//! told apart by its extension, whose top-level keys are the server's flag names (`port`,
//! `db-system`, `pipeline-config`, `log-level`...). Each key counts only where neither the command
//! line nor the environment set that flag: command line > environment > file > default.
//!
//! The file is turned into `--flag=value` arguments, checked one by one with the flag's own parser
//! so that a bad value is reported with the file and the key; unlike PikoCI, a key that is not a
//! flag is an error, not silently ignored.

use clap::parser::ValueSource;
use std::ffi::OsString;
use std::path::Path;

/// The one flag of the top-level command a server's file may set.
const GLOBAL_KEYS: &[(&str, &str)] = &[("log-level", "log_level")];

/// PikoCI server flags pikoci has no counterpart for.
const PIKOCI_ONLY: &[&str] = &["secret-key", "external-url", "session-lifetime"];

/// The extra arguments that bring the file's settings to a command line already parsed into
/// `matches` (for `cli`, whose `server` subcommand is being run).
pub fn extra_args(path: &Path, cli: &clap::Command, matches: &clap::ArgMatches) -> Result<Vec<OsString>, String> {
    let at = |what: String| format!("config file {}: {what}", path.display());
    let server = cli.find_subcommand("server").ok_or_else(|| at("no server command".into()))?;
    let server_matches = matches.subcommand_matches("server").ok_or_else(|| at("not a server command line".into()))?;
    let (format, entries) = read(path).map_err(at)?;

    let mut seen: Vec<String> = Vec::new();
    let mut extra = Vec::new();
    for (written, value) in entries {
        // viper's keys are case-insensitive. A dotenv key cannot hold a `-`: DB_SYSTEM is db-system.
        let mut key = written.to_ascii_lowercase();
        if format == Format::Dotenv {
            key = key.replace('_', "-");
        }
        if seen.contains(&key) {
            return Err(at(format!("`{written}` is given twice")));
        }
        seen.push(key.clone());
        let (command_matches, arg) = if let Some(arg) = server.get_arguments().find(|a| a.get_long() == Some(key.as_str()) && is_setting(a)) {
            (server_matches, arg)
        } else if let Some((_, id)) = GLOBAL_KEYS.iter().find(|(k, _)| *k == key) {
            let arg = cli.get_arguments().find(|a| a.get_id() == *id).ok_or_else(|| at(format!("`{written}`: no such flag")))?;
            (matches, arg)
        } else {
            return Err(at(unknown_key(&written, &key, server)));
        };
        let values = values_of(&written, value, is_list(arg)).map_err(at)?;
        for v in &values {
            check_value(arg, &key, &written, v).map_err(at)?;
        }
        let from_outside = matches!(command_matches.value_source(arg.get_id().as_str()), Some(ValueSource::CommandLine | ValueSource::EnvVariable));
        if !from_outside {
            extra.extend(values.iter().map(|v| OsString::from(format!("--{key}={v}"))));
        }
    }
    Ok(extra)
}

/// A flag an operator sets (not `--help`, not `--config` itself).
fn is_setting(arg: &clap::Arg) -> bool {
    !matches!(arg.get_id().as_str(), "help" | "version" | "config")
}

fn is_list(arg: &clap::Arg) -> bool {
    matches!(arg.get_action(), clap::ArgAction::Append)
}

fn unknown_key(written: &str, key: &str, server: &clap::Command) -> String {
    if key == "config" {
        return "`config` names this file; it cannot be set from inside it".into();
    }
    if PIKOCI_ONLY.contains(&key) {
        return format!("`{written}` is a PikoCI server setting that pikoci does not have; remove it");
    }
    let names: Vec<&str> = server.get_arguments().filter(|a| is_setting(a)).filter_map(|a| a.get_long()).chain(GLOBAL_KEYS.iter().map(|(k, _)| *k)).collect();
    let hint = closest(key, &names).map(|n| format!("; did you mean `{n}`?")).unwrap_or_else(|| ".".into());
    format!("unknown key `{written}`{hint} The keys are the names of `pikoci server`'s flags, such as `port`, `db-system` and `pipeline-config`")
}

/// The flag name `key` most likely meant: the same once `_` is `-`, else the nearest by edit distance.
fn closest<'a>(key: &str, names: &[&'a str]) -> Option<&'a str> {
    let dashed = key.replace('_', "-");
    if let Some(n) = names.iter().find(|n| **n == dashed) {
        return Some(n);
    }
    names.iter().map(|n| (strsim::levenshtein(&dashed, n), *n)).filter(|(d, n)| *d <= 2.max(n.len() / 3)).min_by_key(|(d, _)| *d).map(|(_, n)| n)
}

/// Run the flag's own value parser over a value from the file.
fn check_value(arg: &clap::Arg, key: &str, written: &str, value: &str) -> Result<(), String> {
    let alone = clap::Command::new("pikoci").no_binary_name(true).arg(arg.clone());
    let Err(e) = alone.try_get_matches_from([format!("--{key}={value}")]) else {
        return Ok(());
    };
    let got = if arg.is_hide_env_values_set() { String::new() } else { format!(" {value:?}") };
    let why = std::error::Error::source(&e).map(|s| s.to_string());
    match (expected(key, arg), why) {
        // The parser already says what it wanted.
        (None, Some(why)) if why.contains("expected") => Err(format!("`{written}`: invalid value{got}: {why}")),
        (wanted, why) => {
            let wanted = wanted.unwrap_or_else(|| format!("a value --{key} accepts"));
            let got = if got.is_empty() { " something else".to_string() } else { got };
            Err(format!("`{written}`: expected {wanted}, got{got}{}", why.map(|w| format!(" ({w})")).unwrap_or_default()))
        }
    }
}

/// What a flag takes, in words, where its parser's own message may not say.
fn expected(key: &str, arg: &clap::Arg) -> Option<String> {
    let possible: Vec<String> = arg.get_possible_values().iter().map(|p| p.get_name().to_string()).collect();
    Some(match key {
        "port" | "db-port" => "a port number (0 to 65535)".into(),
        "listen" => "an address with a port, such as 127.0.0.1:8080".into(),
        "concurrency" => "a whole number".into(),
        "drain-timeout" | "check-timeout" => "a duration such as 90s or 10m".into(),
        "max-concurrent-checks" => "a whole number from 1".into(),
        _ if !possible.is_empty() => format!("one of {}", possible.join(", ")),
        _ => return None,
    })
}

/// A value as the file has it, before it becomes one or more flag values.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(String),
    List(Vec<Value>),
    Table,
    Null,
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Text(_) => "a single value",
            Value::List(_) => "a list",
            Value::Table => "a table of keys",
            Value::Null => "no value",
        }
    }
}

/// The flag values for `key`: one for a single-valued flag, any number for a repeatable one
/// (`users`, `var`). Numbers and booleans are taken as the text they stand for.
fn values_of(written: &str, value: Value, list: bool) -> Result<Vec<String>, String> {
    let what = if list { "a value or a list of values" } else { "a single value" };
    let wrong = |found: &Value| format!("`{written}`: expected {what}, found {}", found.kind());
    match value {
        Value::Text(t) => Ok(vec![t]),
        Value::List(items) if list => items
            .into_iter()
            .map(|item| match item {
                Value::Text(t) => Ok(t),
                other => Err(format!("`{written}`: expected a list of single values, found {} in it", other.kind())),
            })
            .collect(),
        other => Err(wrong(&other)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    Json,
    Toml,
    Yaml,
    Dotenv,
}

/// As viper: by the extension; `.env` alone is a dotenv file.
fn format_of(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let ext = if name == ".env" { "env" } else { name.rsplit_once('.')?.1 };
    Some(match ext {
        "json" => Format::Json,
        "toml" => Format::Toml,
        "yaml" | "yml" => Format::Yaml,
        "env" | "dotenv" => Format::Dotenv,
        _ => return None,
    })
}

/// The file's top-level keys and values, in the file's order where the format keeps one.
/// Errors never quote the file's text: it may hold a password.
fn read(path: &Path) -> Result<(Format, Vec<(String, Value)>), String> {
    let format = format_of(path).ok_or("unknown format: name the file .yaml, .yml, .json, .toml or .env")?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    Ok((format, parse(format, &text)?))
}

fn parse(format: Format, text: &str) -> Result<Vec<(String, Value)>, String> {
    match format {
        Format::Json => parse_json(text),
        Format::Toml => parse_toml(text),
        Format::Yaml => parse_yaml(text),
        Format::Dotenv => parse_dotenv(text),
    }
}

const TOP: &str = "expected keys and values at the top level (`port: 8080`)";

fn parse_json(text: &str) -> Result<Vec<(String, Value)>, String> {
    fn convert(v: serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Text(b.to_string()),
            serde_json::Value::Number(n) => Value::Text(n.to_string()),
            serde_json::Value::String(s) => Value::Text(s),
            serde_json::Value::Array(a) => Value::List(a.into_iter().map(convert).collect()),
            serde_json::Value::Object(_) => Value::Table,
        }
    }
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    match serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))? {
        serde_json::Value::Object(map) => Ok(map.into_iter().map(|(k, v)| (k, convert(v))).collect()),
        _ => Err(TOP.into()),
    }
}

fn parse_toml(text: &str) -> Result<Vec<(String, Value)>, String> {
    fn convert(v: toml::Value) -> Value {
        match v {
            toml::Value::String(s) => Value::Text(s),
            toml::Value::Integer(i) => Value::Text(i.to_string()),
            toml::Value::Float(f) => Value::Text(f.to_string()),
            toml::Value::Boolean(b) => Value::Text(b.to_string()),
            toml::Value::Datetime(d) => Value::Text(d.to_string()),
            toml::Value::Array(a) => Value::List(a.into_iter().map(convert).collect()),
            toml::Value::Table(_) => Value::Table,
        }
    }
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let at = e.span().map(|s| line_col(text, s.start)).map(|(l, c)| format!(" at line {l} column {c}")).unwrap_or_default();
        format!("not valid TOML{at}: {}", e.message())
    })?;
    Ok(table.into_iter().map(|(k, v)| (k, convert(v))).collect())
}

fn parse_yaml(text: &str) -> Result<Vec<(String, Value)>, String> {
    use yaml_rust2::Yaml;
    fn scalar(y: &Yaml) -> Option<String> {
        match y {
            Yaml::Real(s) | Yaml::String(s) => Some(s.clone()),
            Yaml::Integer(i) => Some(i.to_string()),
            Yaml::Boolean(b) => Some(b.to_string()),
            _ => None,
        }
    }
    fn convert(y: Yaml) -> Value {
        match y {
            Yaml::Array(a) => Value::List(a.into_iter().map(convert).collect()),
            Yaml::Hash(_) => Value::Table,
            Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => Value::Null,
            other => scalar(&other).map(Value::Text).unwrap_or(Value::Null),
        }
    }
    let mut docs = yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| {
        let m = e.marker();
        format!("not valid YAML at line {} column {}: {}", m.line(), m.col() + 1, e.info())
    })?;
    if docs.len() > 1 {
        return Err("expected one YAML document, found several".into());
    }
    match docs.pop() {
        None | Some(Yaml::Null) => Ok(Vec::new()),
        Some(Yaml::Hash(map)) => map
            .into_iter()
            .map(|(k, v)| match scalar(&k) {
                Some(key) => Ok((key, convert(v))),
                None => Err("expected plain keys at the top level, found a list or table as a key".to_string()),
            })
            .collect(),
        Some(_) => Err(TOP.into()),
    }
}

fn parse_dotenv(text: &str) -> Result<Vec<(String, Value)>, String> {
    dotenvy::from_read_iter(text.as_bytes())
        .map(|item| match item {
            Ok((k, v)) => Ok((k, Value::Text(v))),
            Err(dotenvy::Error::LineParse(line, _)) => {
                let n = text.lines().position(|l| l.trim() == line.trim() || l.contains(line.trim())).map(|i| format!(" {}", i + 1)).unwrap_or_default();
                Err(format!("line{n} is not KEY=VALUE (keys are letters, digits and _, such as DB_SYSTEM)"))
            }
            Err(e) => Err(format!("not a valid dotenv file: {e}")),
        })
        .collect()
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn every_format_gives_the_same_settings() {
        let want = vec![
            ("port".to_string(), text("9090")),
            ("run-worker".to_string(), text("false")),
            ("users".to_string(), Value::List(vec![text("a:h1"), text("b:h2")])),
        ];
        let sorted = |mut v: Vec<(String, Value)>| {
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        assert_eq!(sorted(parse(Format::Yaml, "port: 9090\nrun-worker: false\nusers:\n  - a:h1\n  - b:h2\n").unwrap()), want);
        assert_eq!(sorted(parse(Format::Json, r#"{"port": 9090, "run-worker": false, "users": ["a:h1", "b:h2"]}"#).unwrap()), want);
        assert_eq!(sorted(parse(Format::Toml, "port = 9090\nrun-worker = false\nusers = [\"a:h1\", \"b:h2\"]\n").unwrap()), want);
        assert_eq!(
            parse(Format::Dotenv, "# c\nport=9090\nexport RUN_WORKER=false\n").unwrap(),
            vec![("port".to_string(), text("9090")), ("RUN_WORKER".to_string(), text("false"))]
        );
    }

    #[test]
    fn formats_come_from_the_extension() {
        assert_eq!(format_of(Path::new("/etc/pikoci/server.YML")), Some(Format::Yaml));
        assert_eq!(format_of(Path::new("a/.env")), Some(Format::Dotenv));
        assert_eq!(format_of(Path::new("c.toml")), Some(Format::Toml));
        assert_eq!(format_of(Path::new("server")), None);
        assert_eq!(format_of(Path::new("server.ini")), None);
    }

    #[test]
    fn syntax_errors_say_where_and_never_quote_the_text() {
        let e = parse(Format::Toml, "port = 1\ndb-password = s3cret\n").unwrap_err();
        assert!(e.starts_with("not valid TOML at line 2"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
        let e = parse(Format::Yaml, "port: 1\n  db-password: s3cret: [\n").unwrap_err();
        assert!(e.starts_with("not valid YAML at line 2"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
        let e = parse(Format::Dotenv, "PORT=1\nDB_PASSWORD s3cret\n").unwrap_err();
        assert!(e.starts_with("line 2 is not KEY=VALUE"), "{e}");
        assert_eq!(parse(Format::Yaml, "- port\n").unwrap_err(), TOP);
    }

    #[test]
    fn close_names_are_suggested() {
        let names = ["port", "db-system", "pipeline-config", "drain-timeout"];
        assert_eq!(closest("db_system", &names), Some("db-system"));
        assert_eq!(closest("prot", &names), Some("port"));
        assert_eq!(closest("pipeline-confg", &names), Some("pipeline-config"));
        assert_eq!(closest("colour", &names), None);
    }

    #[test]
    fn lists_only_where_the_flag_repeats() {
        assert!(values_of("port", Value::List(vec![text("1")]), false).unwrap_err().contains("expected a single value, found a list"));
        assert!(values_of("port", Value::Null, false).unwrap_err().contains("found no value"));
        assert_eq!(values_of("users", text("a:h"), true).unwrap(), ["a:h"]);
    }
}
