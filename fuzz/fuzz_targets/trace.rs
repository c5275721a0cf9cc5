//! The binary trace reader on any bytes: the header, every block's framing, checksums, limits
//! and decompression, and every event, then both forms of what decoded (see `checks.rs`).
#![no_main]

mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::binary(data));
