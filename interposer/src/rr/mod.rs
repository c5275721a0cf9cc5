//! The one record/replay mechanism every interface goes through, and the trace.
//!
//! Every WASI method describes its call once, as one of `wasm_rr_trace`'s call structs (the
//! arguments replay checks, and the type of the host's answer), and hands [`call`] that call
//! and a closure that performs it on the host:
//!
//! ```ignore
//! fn now() -> u64 {
//!     rr::call(clocks::MonotonicClockNow {}, host::monotonic_clock::now)
//! }
//! ```
//!
//! Recording, [`call`] runs the closure and appends the call and its answer to the trace.
//! Replaying, it checks the call against the next event of the trace and returns that event's
//! answer without running the closure; a call that is not the recorded one stops the replay with
//! a divergence report. Which of the two runs is decided here only, by [`REPLAYING`]: a
//! constant, so each build carries its own mode's code and no other (the replaying build calls
//! no host function but for output). The host resources the interposer wraps are [`Live`]: the
//! host's own while recording, nothing while replaying.
//!
//! [`recorder`] writes the trace; [`replayer`] reads the embedded one.
//!
//! **When the trace is written out (recording).** Events are encoded into a block as they
//! happen (see `wasm_rr_trace::codec`), and each flush appends the block to the trace file
//! (`trace.cbor` in the preopen at guest path `/wasm-rr`, or the file `WASM_RR_TRACE` names
//! there). A block is written out
//! - right after every write or flush to stdout, stderr or a network connection is logged (so a
//!   guest that panics has already logged everything up to its panic message when it traps),
//! - before every call that may block for long or trap in the host: `poll`, `pollable.block`,
//!   `blocking-read` and `blocking-skip` of stdin or a connection, every write and flush to
//!   stdout, stderr or a connection, and UDP `send`,
//! - at `exit` and when the guest's `run` returns,
//! - whenever [`FLUSH_AT`] bytes are buffered.
//!
//! Calls on file streams are not flushed around (a file's reads and writes do not wait for
//! long, and flushing around each would double their cost): a guest that traps in one loses the
//! events since the last flush point, and its replay stops there.

pub mod created;
mod live;
pub mod recorder;
pub mod replayer;

use crate::wasi::cli as host_cli;
pub use live::{Live, live};
pub use recorder::{start_instance_trace, start_request_trace};
use wasm_rr_trace::Request;

/// Whether this build replays (feature `replay`) rather than records: the one place the mode
/// is decided.
pub const REPLAYING: bool = cfg!(feature = "replay");

/// Buffered trace bytes that trigger a write to the trace file.
pub const FLUSH_AT: usize = wasm_rr_trace::limits::RECORDER_BLOCK_BYTES;

/// The most bytes the host is asked for in one read: a longer read is a short one (see
/// `wasm_rr_trace::limits::MAX_READ_BYTES`), so that no event outgrows a block.
pub fn read_len(len: u64) -> u64 {
    len.min(wasm_rr_trace::limits::MAX_READ_BYTES)
}

/// Records or replays one call: `call` is what the guest asked, with the arguments replay
/// checks; `live` performs it on the host (recording only) and gives the host's answer.
/// Returns the answer the guest gets: the host's, or the recorded one.
#[inline]
pub fn call<C: Request>(call: C, live: impl FnOnce() -> C::Answer) -> C::Answer {
    if REPLAYING {
        replayer::answer(call)
    } else {
        recorder::record(call, live())
    }
}

/// The run is starting: opens the trace (recording: writes its header; replaying: reads it).
pub fn start() {
    if REPLAYING {
        replayer::start()
    } else {
        recorder::start()
    }
}

/// A WASI 0.3 HTTP service's instance got a request: opens the instance's trace at its first
/// (recording: `inst-<ns>-<random>.cbor`; replaying: reads it).
pub fn start_instance() {
    if REPLAYING {
        replayer::start()
    } else {
        recorder::start_instance_trace()
    }
}

/// Writes every buffered event to the trace file, as one block (recording; nothing to do when
/// replaying).
pub fn flush() {
    if !REPLAYING {
        recorder::flush()
    }
}

/// The run is over: writes everything out (recording).
pub fn finish() {
    flush();
}

/// Prints `wasm-rr: {message}` on the host's stderr and exits with status 1.
pub fn fatal(message: &str) -> ! {
    say(&format!("wasm-rr: {message}\n"));
    host_cli::exit::exit(Err(()));
    std::process::abort()
}

/// Prints `wasm-rr: warning: {message}` on the host's stderr; the run goes on.
pub fn warn(message: &str) {
    say(&format!("wasm-rr: warning: {message}\n"));
}

/// Writes `line` to the host's stderr (see [`write_out`]).
pub fn say(line: &str) {
    write_out(&host_cli::stderr::get_stderr(), line.as_bytes());
}

/// The most bytes `blocking-write-and-flush` accepts at once.
pub const MAX_BLOCKING_WRITE: usize = 4096;

/// Writes `data` to the host's stream `out` (stdout, stderr), in pieces a blocking write
/// accepts ([`MAX_BLOCKING_WRITE`]); a host failure is ignored (what wasm-rr reports, or
/// replays, goes on regardless).
pub fn write_out(out: &crate::wasi::io::streams::OutputStream, data: &[u8]) {
    for chunk in data.chunks(MAX_BLOCKING_WRITE) {
        let _ = out.blocking_write_and_flush(chunk);
    }
}

/// The guest broke a rule of WASI that wasmtime enforces with a trap. Writes the trace out,
/// says what happened on the host's stderr, and traps, the same way recording and replaying.
pub fn guest_error(message: &str) -> ! {
    flush();
    say(&format!(
        "wasm-rr: the guest broke a WASI rule: {message}\n"
    ));
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort()
}

/// The whole embedded blob (`wasm-rr:rr/embedded`): the recorder's configuration.
fn embedded_blob() -> Vec<u8> {
    use crate::wasm_rr::rr::embedded;
    embedded::read(0, embedded::size())
}
