//! Every input the fuzzers found a fault with (`fuzz/regressions/TARGET/*`), and the crafted
//! traces of the limits (`fuzz/seeds/trace/limit-*`), run through the fuzz targets' checks:
//! none may panic or exhaust memory again.

#[path = "../../fuzz/fuzz_targets/checks.rs"]
mod checks;

use std::path::PathBuf;

fn inputs(dirs: &[&str]) -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut out: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(root.join(d)).ok())
        .flatten()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

#[test]
fn binary_traces_found_by_the_fuzzer_read_without_panicking() {
    let found = inputs(&["regressions/trace", "seeds/trace"]);
    assert!(!found.is_empty());
    for path in found {
        checks::binary(&std::fs::read(&path).unwrap());
    }
}

#[test]
fn json_traces_found_by_the_fuzzer_read_without_panicking() {
    let found = inputs(&["regressions/trace_json", "seeds/trace_json"]);
    assert!(!found.is_empty());
    for path in found {
        if let Ok(text) = String::from_utf8(std::fs::read(&path).unwrap()) {
            checks::json(&text);
        }
    }
}
