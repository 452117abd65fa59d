//! deploy/: the Grafana dashboard queries only metrics and labels a real `pikoci server` exports at
//! `/metrics` after a build, and the Prometheus scrape config scrapes the path it serves on the
//! port it listens on by default.

mod support;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use yaml_rust2::Yaml;

/// One `# TYPE` family of an exposition: its type, and the label names seen on each sample name
/// (`pikoci_build_duration_seconds_bucket` has `le`, its `_count` none).
#[derive(Debug, Default)]
struct Family {
    kind: String,
    samples: BTreeMap<String, BTreeSet<String>>,
}

/// The sample names a family of `kind` called `family` may have.
fn sample_names(family: &str, kind: &str) -> Vec<String> {
    let suffixes: &[&str] = match kind {
        "counter" => &["_total", "_created"],
        "histogram" | "gaugehistogram" => &["_bucket", "_sum", "_count", "_created"],
        "summary" => &["", "_sum", "_count", "_created"],
        "info" => &["_info"],
        _ => &[""],
    };
    suffixes.iter().map(|s| format!("{family}{s}")).collect()
}

/// The label names of a sample's `{k="v",...}`, from just after its `{`; values may hold escaped
/// quotes, commas and braces.
fn sample_labels(text: &str) -> BTreeSet<String> {
    let mut labels = BTreeSet::new();
    let mut rest = text;
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq].trim_start_matches([',', ' ']).trim();
        if name.starts_with('}') {
            break;
        }
        labels.insert(name.to_string());
        let value = rest[eq + 1..].strip_prefix('"').expect("a quoted label value");
        let mut end = None;
        let mut escaped = false;
        for (i, c) in value.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        rest = &value[end.expect("a closed label value") + 1..];
        if rest.starts_with('}') {
            break;
        }
    }
    labels
}

/// The families of a text exposition, by family name.
fn parse_exposition(text: &str) -> BTreeMap<String, Family> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("a `# TYPE` line without a type: {line}"));
            families.insert(name.to_string(), Family { kind: kind.trim().to_string(), samples: BTreeMap::new() });
            current = Some(name.to_string());
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let name_end = line.find(['{', ' ']).unwrap_or(line.len());
            let name = &line[..name_end];
            let labels = if line[name_end..].starts_with('{') { sample_labels(&line[name_end + 1..]) } else { BTreeSet::new() };
            let family = current.as_ref().and_then(|f| families.get_mut(f)).unwrap_or_else(|| panic!("the sample `{line}` comes before any `# TYPE` line"));
            family.samples.entry(name.to_string()).or_default().extend(labels);
        }
    }
    families
}

/// What one PromQL expression uses: each series name with the labels its `{...}` matches on, and
/// the labels of its `by`/`without`/`on`/`ignoring` clauses.
#[derive(Debug, Default, PartialEq)]
struct ExprUse {
    selectors: Vec<(String, BTreeSet<String>)>,
    grouping: BTreeSet<String>,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

fn is_ident(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit()
}

/// Reads enough PromQL for a dashboard's queries: identifiers, `{label op "value"}` matchers,
/// grouping clauses; strings and `[range]`s are skipped.
fn parse_expr(expr: &str) -> ExprUse {
    let b = expr.as_bytes();
    let skip_spaces = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let ident_at = |i: usize| {
        let mut end = i;
        while end < b.len() && is_ident(b[end]) {
            end += 1;
        }
        end
    };
    let string_end = |i: usize| {
        let quote = b[i];
        let mut j = i + 1;
        while j < b.len() && b[j] != quote {
            j += if b[j] == b'\\' { 2 } else { 1 };
        }
        j + 1
    };
    let mut out = ExprUse::default();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\'' || c == b'`' {
            i = string_end(i);
        } else if c == b'[' {
            i = expr[i..].find(']').map_or(b.len(), |j| i + j + 1);
        } else if is_ident_start(c) && (i == 0 || !is_ident(b[i - 1])) {
            let end = ident_at(i);
            let word = &expr[i..end];
            let next = skip_spaces(end);
            if word.starts_with("pikoci_") {
                let mut labels = BTreeSet::new();
                i = end;
                if next < b.len() && b[next] == b'{' {
                    // label op "value", ...
                    let mut j = next + 1;
                    loop {
                        j = skip_spaces(j);
                        if j >= b.len() || b[j] == b'}' {
                            break;
                        }
                        if b[j] == b',' {
                            j += 1;
                            continue;
                        }
                        if b[j] == b'"' || b[j] == b'\'' || b[j] == b'`' {
                            j = string_end(j);
                            continue;
                        }
                        if is_ident_start(b[j]) {
                            let label_end = ident_at(j);
                            labels.insert(expr[j..label_end].to_string());
                            j = label_end;
                            continue;
                        }
                        j += 1; // =, !=, =~, !~
                    }
                    i = j + 1;
                }
                out.selectors.push((word.to_string(), labels));
                continue;
            }
            if matches!(word, "by" | "without" | "on" | "ignoring") && next < b.len() && b[next] == b'(' {
                let close = expr[next..].find(')').map_or(b.len(), |j| next + j);
                out.grouping.extend(expr[next + 1..close].split(',').map(str::trim).filter(|l| !l.is_empty()).map(str::to_string));
                i = close + 1;
                continue;
            }
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// Every `expr` of the dashboard's panels (rows' nested panels too), with its panel's title.
fn dashboard_exprs(dashboard: &Value) -> Vec<(String, String)> {
    fn walk(panels: &Value, out: &mut Vec<(String, String)>) {
        for panel in panels.as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap_or("(untitled)").to_string();
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push((title.clone(), expr.to_string()));
                }
            }
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// The series names a family has samples of, or what it would have when it has none yet.
fn series_of(name: &str, family: &Family) -> Vec<String> {
    if family.samples.is_empty() {
        return vec![format!("{name} (a {} with no samples yet)", family.kind)];
    }
    family.samples.keys().cloned().collect()
}

/// Which problems the dashboard's queries have against an exposition: none when every series
/// it names is exported and has every label it matches or groups on.
fn dashboard_problems(dashboard: &Value, families: &BTreeMap<String, Family>) -> Vec<String> {
    let exported: BTreeMap<String, (&String, &Family)> =
        families.iter().flat_map(|(name, family)| sample_names(name, &family.kind).into_iter().map(move |sample| (sample, (name, family)))).collect();
    let mut problems = Vec::new();
    for (title, expr) in dashboard_exprs(dashboard) {
        let used = parse_expr(&expr);
        if used.selectors.is_empty() {
            problems.push(format!("panel `{title}`: `{expr}` names no pikoci_ metric"));
        }
        for (series, matched) in &used.selectors {
            let Some((family_name, family)) = exported.get(series) else {
                let family =
                    families.get(series).map(|f| format!(" (`{series}` is the name of a {}: its series are {})", f.kind, series_of(series, f).join(", ")));
                problems.push(format!(
                    "panel `{title}`: the metric `{series}` is not exported by pikoci server{}; it exports: {}",
                    family.unwrap_or_default(),
                    families.iter().flat_map(|(name, f)| series_of(name, f)).collect::<Vec<_>>().join(", ")
                ));
                continue;
            };
            let Some(labels) = family.samples.get(series) else {
                problems.push(format!(
                    "panel `{title}`: the {} `{family_name}` has no `{series}` sample after a build, so its labels cannot be checked",
                    family.kind
                ));
                continue;
            };
            for label in matched.iter().chain(&used.grouping) {
                if !labels.contains(label) {
                    problems.push(format!("panel `{title}`: `{expr}` uses the label `{label}`, which `{series}` does not have (it has: {labels:?})"));
                }
            }
        }
    }
    problems
}

/// `pikoci server`'s default `--port`, as its `--help` says.
fn default_port() -> u16 {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pikoci")).args(["server", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let mut lines = help.lines().skip_while(|l| !l.trim_start().trim_start_matches("-p, ").starts_with("--port "));
    let flag = lines.next().unwrap_or_else(|| panic!("no --port in `pikoci server --help`: {help}"));
    // Its description, up to the next flag.
    let option: Vec<&str> = std::iter::once(flag).chain(lines.take_while(|l| !l.trim_start().starts_with('-'))).collect();
    let default = option.iter().find_map(|l| l.split("[default: ").nth(1)?.split(']').next()).unwrap_or_else(|| panic!("no default for --port in: {option:?}"));
    default.parse().unwrap_or_else(|e| panic!("--port's default `{default}`: {e}"))
}

/// The `pikoci` job of deploy/prometheus.yml.
fn scrape_job() -> Yaml {
    let path = support::repo_root().join("deploy/prometheus.yml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()));
    let [config] = docs.as_slice() else { panic!("{}: expected one YAML document, found {}", path.display(), docs.len()) };
    let jobs = config["scrape_configs"].as_vec().unwrap_or_else(|| panic!("{}: no scrape_configs list", path.display()));
    jobs.iter()
        .find(|j| j["job_name"].as_str() == Some("pikoci"))
        .unwrap_or_else(|| panic!("{}: no scrape config with job_name: pikoci", path.display()))
        .clone()
}

fn dashboard() -> Value {
    let path = support::repo_root().join("deploy/grafana-dashboard.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()))
}

#[test]
fn prometheus_scrapes_the_default_port_and_path_every_15s() {
    let job = scrape_job();
    assert_eq!(job["metrics_path"].as_str(), Some("/metrics"), "metrics_path of the pikoci job: {job:?}");
    assert!(matches!(job["scheme"].as_str(), None | Some("http")), "the server serves plain HTTP: {job:?}");
    assert_eq!(job["scrape_interval"].as_str(), Some("15s"), "{job:?}");
    let port = default_port();
    let targets: Vec<&str> =
        job["static_configs"].as_vec().into_iter().flatten().flat_map(|c| c["targets"].as_vec().into_iter().flatten()).filter_map(Yaml::as_str).collect();
    assert!(!targets.is_empty(), "no static_configs targets in the pikoci job: {job:?}");
    for target in targets {
        let target_port = target.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok());
        assert_eq!(target_port, Some(port), "the target `{target}` should be on pikoci server's default port {port}");
    }
}

#[test]
fn the_dashboard_imports_on_any_grafana() {
    let dashboard = dashboard();
    assert_eq!(dashboard["schemaVersion"], 39);
    let inputs = dashboard["__inputs"].as_array().expect("__inputs");
    assert!(inputs.iter().any(|i| i["name"] == "DS_PROMETHEUS" && i["type"] == "datasource" && i["pluginId"] == "prometheus"), "{inputs:?}");
    let mut panels = 0;
    for panel in dashboard["panels"].as_array().expect("panels") {
        panels += 1;
        let title = &panel["title"];
        assert_eq!(panel["datasource"]["uid"], "${DS_PROMETHEUS}", "panel {title}");
        for target in panel["targets"].as_array().unwrap_or_else(|| panic!("panel {title} has no targets")) {
            assert_eq!(target["datasource"]["uid"], "${DS_PROMETHEUS}", "a target of panel {title}");
        }
    }
    assert!(panels >= 8, "{panels} panels");
}

#[test]
fn the_query_reader_finds_series_matchers_and_grouping() {
    let used =
        parse_expr(r#"histogram_quantile(0.95, sum by (le, kind) (rate(pikoci_x_bucket{outcome="fa,il}ed", a!~"b"}[$__rate_interval]))) / on() pikoci_y"#);
    let labels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(used.selectors, vec![("pikoci_x_bucket".to_string(), labels(&["outcome", "a"])), ("pikoci_y".to_string(), labels(&[]))]);
    assert_eq!(used.grouping, labels(&["le", "kind"]));
    let families = parse_exposition("# HELP c Builds.\n# TYPE c counter\nc_total{status=\"a\\\"}b,c=\\\"d\"} 1\n# EOF\n");
    assert_eq!(families["c"].samples["c_total"], labels(&["status"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_and_label_the_dashboard_queries_is_exported_after_a_build() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("v"), "v1").unwrap();
    let pipeline = dir.path().join("monitored.hcl");
    let config = support::server::pipeline_text(&app);
    std::fs::write(&pipeline, config).unwrap();
    let server = support::server::start(&["--pipeline-config", pipeline.to_str().unwrap()]);
    let api = support::server::Api::admin(&server).await;
    let builds = api.finished("monitored", "deploy", 1).await;
    assert_eq!(builds[0]["status"], "succeeded", "{builds:?}: {}", server.log());

    // The worker counts a build just after recording its end.
    let metrics_path = scrape_job()["metrics_path"].as_str().unwrap_or("/metrics").to_string();
    let c = support::server::client();
    let deadline = Instant::now() + Duration::from_secs(30);
    let exposition = loop {
        let r = c.get(format!("{}{metrics_path}", server.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {metrics_path} without a token");
        let text = r.text().await.unwrap();
        if text.contains("pikoci_builds_total{") {
            break text;
        }
        assert!(Instant::now() < deadline, "no build counted in {metrics_path}: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let families = parse_exposition(&exposition);
    let problems = dashboard_problems(&dashboard(), &families);
    assert!(problems.is_empty(), "deploy/grafana-dashboard.json queries what pikoci server does not export:\n  {}\n\n{exposition}", problems.join("\n  "));
}
