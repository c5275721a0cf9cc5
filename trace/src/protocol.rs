//! What wasm-rr's parts agree on outside the trace itself: where the recording component writes
//! its trace, how it is told which file, and how request traces are named. The interposer, the
//! composer and the `wasm-rr` host all take these from here.

/// Guest path of the directory the recording component writes its trace into (a preopen the
/// guest never sees).
pub const TRACE_DIR: &str = "/wasm-rr";

/// The trace's file name in [`TRACE_DIR`] unless [`TRACE_ENV`] names another.
pub const DEFAULT_TRACE_FILE: &str = "trace.cbor";

/// Prefix of the environment variables that configure the recording component; the guest never
/// sees them.
pub const RESERVED_ENV_PREFIX: &str = "WASM_RR_";

/// The environment variable that names the trace file inside [`TRACE_DIR`].
pub const TRACE_ENV: &str = "WASM_RR_TRACE";

/// The file name of the trace of one incoming HTTP request that arrived at `wall_clock_ns`
/// (ns since the Unix epoch), told apart from others of the same instant by `tag`:
/// `req-<20 decimal digits>-<8 hex digits>.cbor`, so that `ls` sorts a directory of them by
/// arrival.
pub fn request_trace_name(wall_clock_ns: u128, tag: u32) -> String {
    format!("req-{wall_clock_ns:020}-{tag:08x}.cbor")
}

/// The interface through which the interposer reads what `wasm-rr wrap` embedded (the
/// recorder's configuration, or the trace to replay).
pub const EMBEDDED_INTERFACE: &str = "wasm-rr:rr/embedded";
