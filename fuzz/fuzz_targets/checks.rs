//! What the trace fuzz targets check on one input, shared with the regression tests that
//! replay every input the fuzzers found (`trace/tests/fuzz_regressions.rs`).

// Each target uses one of these.
#![allow(dead_code)]

use wasm_rr_trace::{Trace, block};

/// The binary reader on any bytes: nothing panics, and what decodes encodes and reads back as
/// the same events, in both forms.
pub fn binary(data: &[u8]) {
    let _ = block::scan_blocks(data);
    if let Ok(trace) = Trace::from_bytes(data) {
        let again = Trace::from_bytes(&trace.to_bytes(None)).expect("re-encoded trace reads");
        assert_eq!(again.events, trace.events);
        let back = Trace::from_json(&trace.to_json()).expect("JSON form reads");
        assert_eq!(back.events, trace.events);
    }
}

/// The JSON reader on any text: nothing panics, and what parses converts to the binary form
/// and back to the same events.
pub fn json(text: &str) {
    if let Ok(trace) = Trace::from_json(text) {
        let back = Trace::from_bytes(&trace.to_bytes(None)).expect("encoded trace reads");
        assert_eq!(back.events, trace.events);
    }
}
