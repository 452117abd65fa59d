//! Whatever text it is given, the loader answers with a report and never panics: arbitrary
//! strings, and the valid corpus cut, spliced and sprinkled with HCL's own punctuation.

use pikoci_pipeline::{check_str, BuiltinCatalog, VarValues};
use proptest::prelude::*;
use std::path::Path;

fn corpus() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/valid");
    let mut texts: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hcl"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    texts.sort();
    texts
}

fn check(text: &str) {
    let report = check_str(Path::new("fuzz.hcl"), text, &VarValues::new(), &BuiltinCatalog);
    // Rendering walks every span and line, so it is part of what must not panic.
    let _ = pikoci_pipeline::render_human(&report.diagnostics);
    let _ = pikoci_pipeline::render_json(&report.diagnostics);
}

/// A splice of `text` at a char boundary near `at`.
fn boundary(text: &str, at: usize) -> usize {
    let mut i = at % (text.len() + 1);
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

const PIECES: &[&str] =
    &["{", "}", "\"", "=", "[", "]", "${", "var.", "\n", "#", "<<-EOT\n", "EOT", "job \"x\" {", ",", "@every 0s", "é", "\\", "0x", "-1", "/*"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, max_shrink_iters: 200, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text(text in "\\PC{0,300}") {
        check(&text);
    }

    #[test]
    fn mutated_pipelines(which in 0usize..100, edits in prop::collection::vec((any::<usize>(), 0usize..PIECES.len(), 0usize..40, any::<bool>()), 1..6)) {
        let corpus = corpus();
        let mut text = corpus[which % corpus.len()].clone();
        for (at, piece, cut, insert) in edits {
            let start = boundary(&text, at);
            if insert {
                text.insert_str(start, PIECES[piece]);
            } else {
                let end = boundary(&text, start + cut);
                text.replace_range(start..end.max(start), "");
            }
        }
        check(&text);
    }
}
