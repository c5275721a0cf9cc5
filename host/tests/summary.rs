//! `wasm-rr show --summary`: golden summaries of the fixture traces (files, HTTP client and
//! handler, sockets), and a summary of a fresh recording whose app reads the monotonic clock.
//! `WASM_RR_BLESS=1` writes the golden files anew.

mod common;

use common::*;
use std::path::Path;

/// The summary of the trace at `trace`, as `wasm-rr show --summary` prints it.
fn summary(trace: &Path) -> String {
    let r = run(wasm_rr().arg("show").arg("--summary").arg(trace), None);
    assert_eq!(r.code, Some(0), "{}", r.stderr());
    r.stdout()
}

#[test]
fn summaries_of_the_fixture_traces_are_as_committed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let traces = root.join("../trace/tests/format2");
    let golden = root.join("tests/summaries");
    let mut names: Vec<_> = std::fs::read_dir(&traces)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cbor"))
        .collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    let bless = std::env::var_os("WASM_RR_BLESS").is_some();
    for trace in names {
        let now = summary(&trace);
        let path = golden.join(trace.with_extension("txt").file_name().unwrap());
        if bless {
            std::fs::write(&path, &now).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == now,
            "the summary of {} is not {}; WASM_RR_BLESS=1 writes it anew:\n{now}",
            trace.display(),
            path.display()
        );
    }
}

#[test]
fn a_fresh_recording_has_its_duration_and_end() {
    let dir = scratch();
    let app = fixture("print_time");
    let recorded = record_embedded(dir.path(), &app, &[], &[], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    let out = summary(&dir.path().join("wasm-rr-trace.cbor"));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[2].starts_with("run: "), "{out}");
    assert!(
        lines[2].ends_with(
            " ms from the first to the last monotonic clock reading; ended: run returned ok"
        ),
        "{out}"
    );
    let stdout = recorded.stdout().len();
    assert!(
        out.contains(&format!("stdio: stdin 0 B read, stdout {stdout} B in ")),
        "{out}"
    );
    assert!(out.contains("\n  clocks   "), "{out}");
    assert!(out.contains("\ntrace: format 4, "), "{out}");
}
