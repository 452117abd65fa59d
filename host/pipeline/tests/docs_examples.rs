//! Every HCL example in docs/language/ is well-formed HCL. (Most are fragments, a step or a type
//! on its own, so only their syntax is checked; whole pipelines live in examples/pipelines/.)

use pikoci_pipeline::{check_str, BuiltinCatalog, VarValues};
use std::path::Path;

#[test]
fn documented_examples_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/language");
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, block) in text.split("```hcl\n").skip(1).enumerate() {
            let example = block.split("```").next().unwrap_or_default();
            let shown = format!("{}#{}", path.file_name().unwrap().to_string_lossy(), i + 1);
            let report = check_str(Path::new(&shown), example, &VarValues::new(), &BuiltinCatalog);
            for d in report.diagnostics.iter().filter(|d| d.message.starts_with("syntax error")) {
                failures.push(d.short());
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 15, "only {checked} examples found");
}
