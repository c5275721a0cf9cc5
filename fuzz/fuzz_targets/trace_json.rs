//! The JSON trace reader on any text: nothing may panic, and what parses converts to the
//! binary form and back to the same events.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasm_rr_trace::Trace;

fuzz_target!(|text: &str| {
    if let Ok(trace) = Trace::from_json(text) {
        let back = Trace::from_bytes(&trace.to_bytes(None)).expect("encoded trace reads");
        assert_eq!(back.events, trace.events);
    }
});
