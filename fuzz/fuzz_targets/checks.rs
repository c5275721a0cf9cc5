//! What the trace fuzz targets check on one input, shared with the regression tests that
//! replay every input the fuzzers found (`trace/tests/fuzz_regressions.rs`).

// Each target uses one of these.
#![allow(dead_code)]

use wasm_rr_trace::redact::{Redacted, Redactor};
use wasm_rr_trace::{Trace, block};

/// The binary reader on any bytes: nothing panics, and what decodes encodes and reads back as
/// the same events, in both forms; redacting it changes nothing the second time.
pub fn binary(data: &[u8]) {
    let _ = block::scan_blocks(data);
    if let Ok(trace) = Trace::from_bytes(data) {
        let again = Trace::from_bytes(&trace.to_bytes(None)).expect("re-encoded trace reads");
        assert_eq!(again.events, trace.events);
        let back = Trace::from_json(&trace.to_json()).expect("JSON form reads");
        assert_eq!(back.events, trace.events);
        redacts(trace);
    }
}

/// Redacting `trace` (an env var, the default headers, a directory) twice: the second pass
/// finds the same events and changes nothing.
fn redacts(trace: Trace) {
    let items = [
        Redacted::Env("HOME".into()),
        Redacted::header("authorization"),
        Redacted::header("cookie"),
        Redacted::file("/"),
    ];
    let mut once = trace.events;
    let mut first = Redactor::new(&items);
    let marks: Vec<bool> = once.iter_mut().map(|e| first.apply(e)).collect();
    let mut twice = once.clone();
    let mut second = Redactor::new(&items);
    let again: Vec<bool> = twice.iter_mut().map(|e| second.apply(e)).collect();
    assert_eq!(marks, again);
    assert_eq!(once, twice);
}

/// The JSON reader on any text: nothing panics, and what parses converts to the binary form
/// and back to the same events.
pub fn json(text: &str) {
    if let Ok(trace) = Trace::from_json(text) {
        let back = Trace::from_bytes(&trace.to_bytes(None)).expect("encoded trace reads");
        assert_eq!(back.events, trace.events);
    }
}
