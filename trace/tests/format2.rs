//! Traces of format 2, recorded by wasm-rr 0.2 (`tests/format2/*.cbor`, with what wasm-rr 0.2's
//! `show` printed for each, `*.show`), read by this version: every event is upgraded to the
//! current shape and reads exactly as it did, and the upgraded trace round-trips through the
//! current binary and JSON forms.

use std::path::{Path, PathBuf};
use wasm_rr_trace::{Trace, http};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/format2")
}

/// The traces of format 2, by name (`fs_ops`, `http_get`, …).
fn traces() -> Vec<(String, Trace)> {
    let mut out: Vec<(String, Trace)> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cbor"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let trace = Trace::from_bytes(&std::fs::read(&p).unwrap())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, trace)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The lines wasm-rr 0.2's `show` printed for the exchanges and events (the header lines
/// aside), and the same lines for `trace` as read now.
fn shown(name: &str, trace: &Trace) -> (Vec<String>, Vec<String>) {
    let golden = std::fs::read_to_string(dir().join(format!("{name}.show"))).unwrap();
    let from = |lines: &mut dyn Iterator<Item = String>| -> Vec<String> {
        lines
            .skip_while(|l| !l.starts_with("HTTP exchanges") && !l.ends_with(" events:"))
            .collect()
    };
    let expected = from(&mut golden.lines().map(str::to_string));
    let mut now = Vec::new();
    let exchanges = http::exchanges(&trace.events);
    if !exchanges.is_empty() {
        now.push(format!("HTTP exchanges ({}):", exchanges.len()));
        now.extend(exchanges.iter().map(|x| format!("  {x}")));
    }
    now.push(format!("{} events:", trace.events.len()));
    now.extend(
        trace
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| format!("#{i} {e}")),
    );
    (expected, now)
}

#[test]
fn every_format_2_trace_reads_as_it_did() {
    let all = traces();
    assert_eq!(all.len(), 10, "the format-2 traces in tests/format2");
    for (name, trace) in &all {
        assert_eq!(trace.header.format, 2, "{name}");
        assert_eq!(trace.header.wasm_rr, "0.2.0", "{name}");
        let (expected, now) = shown(name, trace);
        assert_eq!(now, expected, "{name}");
    }
}

#[test]
fn an_upgraded_trace_round_trips_in_the_current_format() {
    for (name, trace) in traces() {
        let bytes = trace.to_bytes(None);
        let again = Trace::from_bytes(&bytes).unwrap();
        assert_eq!(again.header.format, wasm_rr_trace::FORMAT_VERSION, "{name}");
        assert_eq!(again.events, trace.events, "{name}");
        let json = Trace::from_json(&trace.to_json()).unwrap();
        assert_eq!(json.events, trace.events, "{name}");
    }
}

#[test]
fn a_format_2_json_trace_reads_as_its_binary_form() {
    let json = std::fs::read_to_string(dir().join("wasi_apis.json")).unwrap();
    assert!(json.contains("\"wasm-rr-trace\": 2"));
    let from_json = Trace::from_json(&json).unwrap();
    let from_binary =
        Trace::from_bytes(&std::fs::read(dir().join("wasi_apis.cbor")).unwrap()).unwrap();
    assert_eq!(from_json.header, from_binary.header);
    assert_eq!(from_json.events, from_binary.events);
}
