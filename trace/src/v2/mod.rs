//! Format 2 (wasm-rr 0.2), read only: its events as they were encoded, and their upgrade to
//! the current [`crate::Event`]s.
//!
//! Format 2 had one enum variant per kind of event, holding the call's arguments and the answer
//! together, with filesystem, sockets and HTTP events nested in enums of their own. Its blocks
//! are framed as today's; only the events inside differ. Nothing here writes format 2.

use crate::{Bytes, Datetime, Status, StreamError, StreamId, WriteOp};
use serde::{Deserialize, Serialize};

mod codec;
mod fs;
mod http;
mod sockets;
mod upgrade;

pub(crate) use codec::Decoder;

/// One logged call: what the guest asked (the arguments replay checks) and what the host
/// answered (what replay returns). Times are nanoseconds; lengths are bytes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Event {
    /// `wasi:cli/environment.get-environment`, without `WASM_RR_*` variables.
    GetEnvironment(Vec<(String, String)>),
    /// `wasi:cli/environment.get-arguments`.
    GetArguments(Vec<String>),
    /// `wasi:cli/environment.initial-cwd`.
    InitialCwd(Option<String>),
    /// `wasi:cli/exit.exit(status)`.
    Exit(Status),
    /// `wasi:cli/exit.exit-with-code(status-code)`.
    ExitWithCode(u8),
    /// The guest's `wasi:cli/run.run` returned this status.
    RunReturned(Status),
    /// `wasi:cli/terminal-stdin.get-terminal-stdin`: whether a terminal was returned.
    TerminalStdin(bool),
    /// `wasi:cli/terminal-stdout.get-terminal-stdout`: whether a terminal was returned.
    TerminalStdout(bool),
    /// `wasi:cli/terminal-stderr.get-terminal-stderr`: whether a terminal was returned.
    TerminalStderr(bool),
    /// `wasi:clocks/wall-clock.now`.
    WallClockNow(Datetime),
    /// `wasi:clocks/wall-clock.resolution`.
    WallClockResolution(Datetime),
    /// `wasi:clocks/monotonic-clock.now`, in ns.
    MonotonicClockNow(u64),
    /// `wasi:clocks/monotonic-clock.resolution`, in ns.
    MonotonicClockResolution(u64),
    /// `wasi:clocks/monotonic-clock.subscribe-duration(when)`, `when` in ns.
    SubscribeDuration(u64),
    /// `wasi:clocks/monotonic-clock.subscribe-instant(when)`, `when` in ns.
    SubscribeInstant(u64),
    /// `wasi:io/poll.poll(in)`: how many pollables were passed, and the indices reported ready.
    Poll {
        /// Length of the `in` list.
        pollables: u32,
        /// The returned indices.
        ready: Vec<u32>,
    },
    /// `wasi:io/poll.pollable.ready`.
    PollableReady(bool),
    /// `wasi:io/poll.pollable.block`.
    PollableBlock,
    /// `wasi:random/random.get-random-bytes`: the bytes (their count is the `len` argument).
    RandomBytes(Bytes),
    /// `wasi:random/random.get-random-u64`.
    RandomU64(#[serde(with = "crate::values::column")] u64),
    /// `wasi:random/insecure.get-insecure-random-bytes`.
    InsecureRandomBytes(Bytes),
    /// `wasi:random/insecure.get-insecure-random-u64`.
    InsecureRandomU64(#[serde(with = "crate::values::column")] u64),
    /// `wasi:random/insecure-seed.insecure-seed`.
    InsecureSeed(
        #[serde(with = "crate::values::fixed64")] u64,
        #[serde(with = "crate::values::fixed64")] u64,
    ),
    /// `input-stream.read(len)` or `blocking-read(len)`.
    Read {
        /// The stream.
        stream: StreamId,
        /// The `len` argument, in bytes.
        len: u64,
        /// `blocking-read` rather than `read`.
        blocking: bool,
        /// The data or the error.
        result: Result<Bytes, StreamError>,
    },
    /// `input-stream.skip(len)` or `blocking-skip(len)`.
    Skip {
        /// The stream.
        stream: StreamId,
        /// The `len` argument, in bytes.
        len: u64,
        /// `blocking-skip` rather than `skip`.
        blocking: bool,
        /// Bytes skipped, or the error.
        result: Result<u64, StreamError>,
    },
    /// `output-stream.check-write`.
    CheckWrite {
        /// The stream.
        stream: StreamId,
        /// Bytes the host permits, or the error.
        result: Result<u64, StreamError>,
    },
    /// A write to an output stream. The data is not logged: only its length and
    /// [`crate::output_hash`], so replay can detect output divergence.
    Write {
        /// The stream.
        stream: StreamId,
        /// Which method.
        op: WriteOp,
        /// Bytes written (for `write-zeroes`, the count of zeroes).
        len: u64,
        /// [`crate::output_hash`] of the data (0 for the zeroes methods).
        #[serde(with = "crate::values::fixed64")]
        hash: u64,
        /// The host's answer.
        result: Result<(), StreamError>,
    },
    /// `output-stream.flush` or `blocking-flush`.
    Flush {
        /// The stream.
        stream: StreamId,
        /// `blocking-flush` rather than `flush`.
        blocking: bool,
        /// The host's answer.
        result: Result<(), StreamError>,
    },
    /// A `wasi:filesystem` call (`fs.rs`).
    Fs(fs::FsEvent),
    /// A `wasi:sockets` call (`sockets.rs`).
    Sockets(sockets::SocketsEvent),
    /// A `wasi:http` call (`http.rs`).
    Http(http::HttpEvent),
    /// Binary form only: the same bytes as the previous event (see `codec.rs`).
    Repeat,
}

/// A format-2 trace in JSON: the header and the events as they were.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonTrace {
    header: crate::Header,
    events: Vec<Event>,
}

/// Parses a format-2 trace's JSON form and upgrades its events.
///
/// Errors: [`crate::TraceError::BadJson`], naming the event that cannot be upgraded.
pub(crate) fn trace_from_json(text: &str) -> Result<crate::Trace, crate::TraceError> {
    let bad = |m: String| crate::TraceError::BadJson(m);
    let old: JsonTrace = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let events = old
        .events
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            if e == Event::Repeat {
                return Err(bad(format!(
                    "event {i} is `repeat`, which only the binary form holds"
                )));
            }
            e.upgrade().map_err(|m| bad(format!("event {i}: {m}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(crate::Trace {
        header: old.header,
        events,
        torn_tail_bytes: 0,
    })
}
