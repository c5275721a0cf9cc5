//! The JSON trace reader on any text (see `checks.rs`).
#![no_main]

mod checks;

libfuzzer_sys::fuzz_target!(|text: &str| checks::json(text));
