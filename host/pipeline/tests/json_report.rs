//! `--json`'s report: positions and suggestions as editors read them.

fn fixture(path: &str) -> String {
    format!("{}/tests/{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn json_report_has_positions() {
    let vars = pikoci_pipeline::VarValues::new();
    let report = pikoci_pipeline::check_file(fixture("invalid/misspelt-resource.hcl").as_ref(), &vars, &pikoci_pipeline::BuiltinCatalog);
    let json: serde_json::Value = serde_json::from_str(&pikoci_pipeline::render_json(&report.diagnostics)).unwrap();
    assert_eq!(json["valid"], false);
    let errors: Vec<&serde_json::Value> = json["diagnostics"].as_array().unwrap().iter().filter(|d| d["severity"] == "error").collect();
    let first = errors[0];
    assert_eq!((first["line"].as_u64(), first["column"].as_u64()), (Some(8), Some(13)));
    assert_eq!(first["severity"], "error");
    assert_eq!(first["suggestion"], "did you mean `my-app`?");
}
