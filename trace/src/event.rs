//! [`Event`]: one logged WASI call, and [`Call`]: the call and arguments an event answers.

use crate::Bytes;
use serde::{Deserialize, Serialize};
use std::fmt;

/// `wasi:clocks/wall-clock.datetime`: seconds and nanoseconds since the Unix epoch.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datetime {
    /// Whole seconds.
    pub seconds: u64,
    /// Nanoseconds within the second (0..1_000_000_000).
    pub nanoseconds: u32,
}

/// Which stream a stream event is about: a number in creation order. `0`, `1` and `2` are
/// stdin, stdout and stderr (every `get-stdin` call hands out the same stream 0, and so on);
/// every other stream (a file's, a socket's, an HTTP body's) is numbered from 3 up in the order
/// the guest created it, which replay reproduces because creation follows the guest's calls.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(transparent)]
pub struct StreamId(pub u32);

impl StreamId {
    /// `wasi:cli/stdin.get-stdin`.
    pub const STDIN: StreamId = StreamId(0);
    /// `wasi:cli/stdout.get-stdout`.
    pub const STDOUT: StreamId = StreamId(1);
    /// `wasi:cli/stderr.get-stderr`.
    pub const STDERR: StreamId = StreamId(2);
    /// The first number given to a stream that is not stdio.
    pub const FIRST_OTHER: u32 = 3;
}

/// Serde adapter for random numbers: a plain number in JSON, and nothing at all in the binary
/// form of the event, because [`crate::codec`] stores them in the block's column of random
/// bytes (deserialising gives 0 until the codec fills the value in).
pub(crate) mod column {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            v.serialize(s)
        } else {
            s.serialize_unit()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        if d.is_human_readable() {
            u64::deserialize(d)
        } else {
            <()>::deserialize(d).map(|()| 0)
        }
    }
}

/// Serde adapter for values that are uniformly random (random numbers, hashes): 8 fixed
/// bytes (little-endian) in the binary form, where a varint would take 9 or 10, and a plain
/// number in JSON.
pub(crate) mod fixed64 {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            v.serialize(s)
        } else {
            v.to_le_bytes().serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        if d.is_human_readable() {
            u64::deserialize(d)
        } else {
            <[u8; 8]>::deserialize(d).map(u64::from_le_bytes)
        }
    }
}

/// `wasi:io/streams.stream-error`. A `last-operation-failed` error is kept as the text of the
/// host's `error.to-debug-string`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum StreamError {
    /// `closed`.
    Closed,
    /// `last-operation-failed`, with the error's debug string.
    Failed(String),
}

/// The result of `input-stream.read` / `blocking-read`.
pub type ReadResult = Result<Bytes, StreamError>;

/// Which `output-stream` method wrote the bytes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum WriteOp {
    /// `write`.
    Write,
    /// `blocking-write-and-flush`.
    BlockingWriteAndFlush,
    /// `write-zeroes`.
    WriteZeroes,
    /// `blocking-write-zeroes-and-flush`.
    BlockingWriteZeroesAndFlush,
}

impl WriteOp {
    /// The WIT name of the method, e.g. `blocking-write-and-flush`.
    pub fn wit_name(self) -> &'static str {
        match self {
            WriteOp::Write => "write",
            WriteOp::BlockingWriteAndFlush => "blocking-write-and-flush",
            WriteOp::WriteZeroes => "write-zeroes",
            WriteOp::BlockingWriteZeroesAndFlush => "blocking-write-zeroes-and-flush",
        }
    }
}

/// `result` without payloads, as passed to `wasi:cli/exit.exit` or returned by `run`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// `ok`.
    Ok,
    /// `err`.
    Err,
}

impl From<Result<(), ()>> for Status {
    fn from(r: Result<(), ()>) -> Status {
        match r {
            Ok(()) => Status::Ok,
            Err(()) => Status::Err,
        }
    }
}

impl From<Status> for Result<(), ()> {
    fn from(s: Status) -> Result<(), ()> {
        match s {
            Status::Ok => Ok(()),
            Status::Err => Err(()),
        }
    }
}

/// One logged call: what the guest asked (the arguments replay checks) and what the host
/// answered (what replay returns). Times are nanoseconds; lengths are bytes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
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
    RandomU64(#[serde(with = "column")] u64),
    /// `wasi:random/insecure.get-insecure-random-bytes`.
    InsecureRandomBytes(Bytes),
    /// `wasi:random/insecure.get-insecure-random-u64`.
    InsecureRandomU64(#[serde(with = "column")] u64),
    /// `wasi:random/insecure-seed.insecure-seed`.
    InsecureSeed(
        #[serde(with = "fixed64")] u64,
        #[serde(with = "fixed64")] u64,
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
        result: ReadResult,
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
        #[serde(with = "fixed64")]
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
    Fs(crate::fs::FsEvent),
    /// A `wasi:sockets` call (`sockets.rs`).
    Sockets(crate::sockets::SocketsEvent),
    /// A `wasi:http` call (`http.rs`).
    Http(crate::http::HttpEvent),
    /// Binary form only: the same bytes as the previous event (see `codec.rs`). Never in the
    /// data model a reader returns, nor in JSON.
    #[doc(hidden)]
    Repeat,
}

/// A call the guest made, with the arguments replay checks. Two calls are the same when they
/// are equal; replay compares the guest's call with [`Event::call`] of the next event.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Call {
    GetEnvironment,
    GetArguments,
    InitialCwd,
    Exit(Status),
    ExitWithCode(u8),
    RunReturned(Status),
    TerminalStdin,
    TerminalStdout,
    TerminalStderr,
    WallClockNow,
    WallClockResolution,
    MonotonicClockNow,
    MonotonicClockResolution,
    SubscribeDuration(u64),
    SubscribeInstant(u64),
    Poll {
        pollables: u32,
    },
    PollableReady,
    PollableBlock,
    RandomBytes {
        len: u64,
    },
    RandomU64,
    InsecureRandomBytes {
        len: u64,
    },
    InsecureRandomU64,
    InsecureSeed,
    Read {
        stream: StreamId,
        len: u64,
        blocking: bool,
    },
    Skip {
        stream: StreamId,
        len: u64,
        blocking: bool,
    },
    CheckWrite {
        stream: StreamId,
    },
    Write {
        stream: StreamId,
        op: WriteOp,
        len: u64,
        hash: u64,
    },
    Flush {
        stream: StreamId,
        blocking: bool,
    },
    /// A `wasi:filesystem` call.
    Fs(crate::fs::FsCallOf),
    /// A `wasi:sockets` call.
    Sockets(crate::sockets::SocketsCall),
    Http(crate::http::HttpCall),
    /// Never made by a guest: what [`Event::Repeat`] answers.
    Repeat,
}

impl Event {
    /// The call this event answers, with the arguments replay checks.
    pub fn call(&self) -> Call {
        match self {
            Event::GetEnvironment(_) => Call::GetEnvironment,
            Event::GetArguments(_) => Call::GetArguments,
            Event::InitialCwd(_) => Call::InitialCwd,
            Event::Exit(s) => Call::Exit(*s),
            Event::ExitWithCode(c) => Call::ExitWithCode(*c),
            Event::RunReturned(s) => Call::RunReturned(*s),
            Event::TerminalStdin(_) => Call::TerminalStdin,
            Event::TerminalStdout(_) => Call::TerminalStdout,
            Event::TerminalStderr(_) => Call::TerminalStderr,
            Event::WallClockNow(_) => Call::WallClockNow,
            Event::WallClockResolution(_) => Call::WallClockResolution,
            Event::MonotonicClockNow(_) => Call::MonotonicClockNow,
            Event::MonotonicClockResolution(_) => Call::MonotonicClockResolution,
            Event::SubscribeDuration(d) => Call::SubscribeDuration(*d),
            Event::SubscribeInstant(i) => Call::SubscribeInstant(*i),
            Event::Poll { pollables, .. } => Call::Poll {
                pollables: *pollables,
            },
            Event::PollableReady(_) => Call::PollableReady,
            Event::PollableBlock => Call::PollableBlock,
            Event::RandomBytes(b) => Call::RandomBytes {
                len: b.0.len() as u64,
            },
            Event::RandomU64(_) => Call::RandomU64,
            Event::InsecureRandomBytes(b) => Call::InsecureRandomBytes {
                len: b.0.len() as u64,
            },
            Event::InsecureRandomU64(_) => Call::InsecureRandomU64,
            Event::InsecureSeed(..) => Call::InsecureSeed,
            Event::Read {
                stream,
                len,
                blocking,
                ..
            } => Call::Read {
                stream: *stream,
                len: *len,
                blocking: *blocking,
            },
            Event::Skip {
                stream,
                len,
                blocking,
                ..
            } => Call::Skip {
                stream: *stream,
                len: *len,
                blocking: *blocking,
            },
            Event::CheckWrite { stream, .. } => Call::CheckWrite { stream: *stream },
            Event::Write {
                stream,
                op,
                len,
                hash,
                ..
            } => Call::Write {
                stream: *stream,
                op: *op,
                len: *len,
                hash: *hash,
            },
            Event::Flush {
                stream, blocking, ..
            } => Call::Flush {
                stream: *stream,
                blocking: *blocking,
            },
            Event::Fs(e) => Call::Fs(e.call()),
            Event::Sockets(e) => Call::Sockets(e.call()),
            Event::Http(e) => Call::Http(e.call.clone()),
            Event::Repeat => Call::Repeat,
        }
    }

    /// A short description of what the host answered, e.g. `16 bytes` or `ok`.
    pub fn answer(&self) -> String {
        fn stream_result<T: fmt::Debug>(r: &Result<T, StreamError>) -> String {
            match r {
                Ok(v) => format!("ok({v:?})"),
                Err(StreamError::Closed) => "closed".into(),
                Err(StreamError::Failed(m)) => format!("failed({m:?})"),
            }
        }
        match self {
            Event::GetEnvironment(v) => format!("{} variables", v.len()),
            Event::GetArguments(v) => format!("{v:?}"),
            Event::InitialCwd(v) => format!("{v:?}"),
            Event::Exit(_) | Event::ExitWithCode(_) | Event::RunReturned(_) => "()".into(),
            Event::PollableBlock => "()".into(),
            Event::SubscribeDuration(_) | Event::SubscribeInstant(_) => "pollable".into(),
            Event::TerminalStdin(b) | Event::TerminalStdout(b) | Event::TerminalStderr(b) => {
                if *b { "terminal" } else { "none" }.into()
            }
            Event::WallClockNow(d) | Event::WallClockResolution(d) => {
                format!("{}.{:09} s", d.seconds, d.nanoseconds)
            }
            Event::MonotonicClockNow(n) | Event::MonotonicClockResolution(n) => format!("{n} ns"),
            Event::Poll { ready, .. } => format!("ready {ready:?}"),
            Event::PollableReady(b) => format!("{b}"),
            Event::RandomBytes(b) | Event::InsecureRandomBytes(b) => format!("{b:?}"),
            Event::RandomU64(v) | Event::InsecureRandomU64(v) => format!("{v}"),
            Event::InsecureSeed(a, b) => format!("({a}, {b})"),
            Event::Read { result, .. } => stream_result(result),
            Event::Skip { result, .. } | Event::CheckWrite { result, .. } => stream_result(result),
            Event::Write { result, .. } | Event::Flush { result, .. } => stream_result(result),
            Event::Fs(e) => e.answer(),
            Event::Sockets(e) => e.answer(),
            Event::Http(e) => e.answer(),
            Event::Repeat => "(the previous event)".into(),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.call(), self.answer())
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            StreamId::STDIN => f.write_str("stdin"),
            StreamId::STDOUT => f.write_str("stdout"),
            StreamId::STDERR => f.write_str("stderr"),
            StreamId(n) => write!(f, "stream {n}"),
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = |s: &Status| match s {
            Status::Ok => "ok",
            Status::Err => "err",
        };
        match self {
            Call::GetEnvironment => write!(f, "wasi:cli/environment.get-environment()"),
            Call::GetArguments => write!(f, "wasi:cli/environment.get-arguments()"),
            Call::InitialCwd => write!(f, "wasi:cli/environment.initial-cwd()"),
            Call::Exit(s) => write!(f, "wasi:cli/exit.exit({})", status(s)),
            Call::ExitWithCode(c) => write!(f, "wasi:cli/exit.exit-with-code({c})"),
            Call::RunReturned(s) => write!(f, "wasi:cli/run.run returned {}", status(s)),
            Call::TerminalStdin => write!(f, "wasi:cli/terminal-stdin.get-terminal-stdin()"),
            Call::TerminalStdout => write!(f, "wasi:cli/terminal-stdout.get-terminal-stdout()"),
            Call::TerminalStderr => write!(f, "wasi:cli/terminal-stderr.get-terminal-stderr()"),
            Call::WallClockNow => write!(f, "wasi:clocks/wall-clock.now()"),
            Call::WallClockResolution => write!(f, "wasi:clocks/wall-clock.resolution()"),
            Call::MonotonicClockNow => write!(f, "wasi:clocks/monotonic-clock.now()"),
            Call::MonotonicClockResolution => {
                write!(f, "wasi:clocks/monotonic-clock.resolution()")
            }
            Call::SubscribeDuration(d) => {
                write!(f, "wasi:clocks/monotonic-clock.subscribe-duration({d} ns)")
            }
            Call::SubscribeInstant(i) => {
                write!(f, "wasi:clocks/monotonic-clock.subscribe-instant({i} ns)")
            }
            Call::Poll { pollables } => write!(f, "wasi:io/poll.poll({pollables} pollables)"),
            Call::PollableReady => write!(f, "wasi:io/poll.pollable.ready()"),
            Call::PollableBlock => write!(f, "wasi:io/poll.pollable.block()"),
            Call::RandomBytes { len } => write!(f, "wasi:random/random.get-random-bytes({len})"),
            Call::RandomU64 => write!(f, "wasi:random/random.get-random-u64()"),
            Call::InsecureRandomBytes { len } => {
                write!(f, "wasi:random/insecure.get-insecure-random-bytes({len})")
            }
            Call::InsecureRandomU64 => write!(f, "wasi:random/insecure.get-insecure-random-u64()"),
            Call::InsecureSeed => write!(f, "wasi:random/insecure-seed.insecure-seed()"),
            Call::Read {
                stream,
                len,
                blocking,
            } => {
                let m = if *blocking { "blocking-read" } else { "read" };
                write!(f, "wasi:io/streams.input-stream.{m}({stream}, len={len})")
            }
            Call::Skip {
                stream,
                len,
                blocking,
            } => {
                let m = if *blocking { "blocking-skip" } else { "skip" };
                write!(f, "wasi:io/streams.input-stream.{m}({stream}, len={len})")
            }
            Call::CheckWrite { stream } => {
                write!(f, "wasi:io/streams.output-stream.check-write({stream})")
            }
            Call::Write {
                stream,
                op,
                len,
                hash,
            } => write!(
                f,
                "wasi:io/streams.output-stream.{}({stream}, len={len}, hash={hash:016x})",
                op.wit_name()
            ),
            Call::Flush { stream, blocking } => {
                let m = if *blocking { "blocking-flush" } else { "flush" };
                write!(f, "wasi:io/streams.output-stream.{m}({stream})")
            }
            Call::Fs(c) => write!(f, "{c}"),
            Call::Sockets(c) => write!(f, "{c}"),
            Call::Http(c) => write!(f, "{c}"),
            Call::Repeat => write!(f, "(a repeat marker, which only the binary form holds)"),
        }
    }
}

impl Call {
    /// Where the recorded call `self` and the guest's call `actual` differ, in words, when a
    /// field-level account is clearer than the two calls side by side (a changed header).
    pub fn difference(&self, actual: &Call) -> Option<String> {
        match (self, actual) {
            (Call::Http(a), Call::Http(b)) => a.difference(b),
            _ => None,
        }
    }
}
