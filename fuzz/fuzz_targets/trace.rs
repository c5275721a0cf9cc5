//! The binary trace reader on any bytes: the header, every block's framing, checksums and
//! decompression, and every event, then the JSON form of what decoded. Nothing may panic,
//! and memory stays within the reader's limits (libFuzzer's -rss_limit_mb).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasm_rr_trace::{Trace, block};

fuzz_target!(|data: &[u8]| {
    let _ = block::scan_blocks(data);
    if let Ok(trace) = Trace::from_bytes(data) {
        // What decoded writes and reads back as the same events.
        let again = Trace::from_bytes(&trace.to_bytes(None)).expect("re-encoded trace reads");
        assert_eq!(again.events, trace.events);
        let json = trace.to_json();
        let back = Trace::from_json(&json).expect("JSON form reads");
        assert_eq!(back.events, trace.events);
    }
});
