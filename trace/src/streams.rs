//! Events of `wasi:io/streams` (and the messages of `wasi:io/error`).
//!
//! Every stream has a number ([`StreamId`]). Reads and skips record what the host gave; writes
//! record their length and [`crate::output_hash`], which replay checks (the replayed bytes of
//! stdout and stderr still reach the host), and [`Wrote`](crate::streams::Wrote) keeps the
//! bytes themselves, up to the header's [`crate::Header::output_bytes`] per stream, for people
//! and tests.

use crate::Bytes;
use crate::values::Fixed64;
use serde::{Deserialize, Serialize};
use std::fmt;

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

crate::event::interface! {
    Streams = 40;
    /// `input-stream.read(len)` or `blocking-read(len)`: the data or the error.
    Read {
        /// The stream.
        stream: StreamId,
        /// The `len` argument, in bytes.
        len: u64,
        /// `blocking-read` rather than `read`.
        blocking: bool,
    } -> Result<Bytes, StreamError>;
    /// `input-stream.skip(len)` or `blocking-skip(len)`: bytes skipped, or the error.
    Skip {
        /// The stream.
        stream: StreamId,
        /// The `len` argument, in bytes.
        len: u64,
        /// `blocking-skip` rather than `skip`.
        blocking: bool,
    } -> Result<u64, StreamError>;
    /// `output-stream.check-write`: bytes the host permits, or the error.
    CheckWrite {
        /// The stream.
        stream: StreamId,
    } -> Result<u64, StreamError>;
    /// A write to an output stream. The data is not in the trace: only its length and
    /// [`crate::output_hash`], so replay can tell when the output differs.
    Write {
        /// The stream.
        stream: StreamId,
        /// Which method.
        op: WriteOp,
        /// Bytes written (for `write-zeroes`, the count of zeroes).
        len: u64,
        /// [`crate::output_hash`] of the data (0 for the zeroes methods).
        hash: Fixed64,
    } -> Result<(), StreamError>;
    /// `output-stream.flush` or `blocking-flush`.
    Flush {
        /// The stream.
        stream: StreamId,
        /// `blocking-flush` rather than `flush`.
        blocking: bool,
    } -> Result<(), StreamError>;
    /// The bytes of the [`Write`] before it, on the same stream, as far as the trace keeps
    /// them (the header's [`crate::Header::output_bytes`] per stream: a write past it keeps
    /// its first bytes, or none); the write's hash covers them all. Not a call the app made:
    /// kept for `show`, `diff` and tests, and skipped by a replay. Format 7.
    Wrote {
        /// The stream.
        stream: StreamId,
        /// The bytes kept.
        data: Bytes,
    } -> ();
}

/// `ok(v)`, `closed` or `failed("…")`, for stream answers.
fn stream_result<T: fmt::Debug>(r: &Result<T, StreamError>) -> String {
    match r {
        Ok(v) => format!("ok({v:?})"),
        Err(StreamError::Closed) => "closed".into(),
        Err(StreamError::Failed(m)) => format!("failed({m:?})"),
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::Read(c) => {
                let m = if c.blocking { "blocking-read" } else { "read" };
                write!(
                    f,
                    "wasi:io/streams.input-stream.{m}({}, len={})",
                    c.stream, c.len
                )
            }
            Call::Skip(c) => {
                let m = if c.blocking { "blocking-skip" } else { "skip" };
                write!(
                    f,
                    "wasi:io/streams.input-stream.{m}({}, len={})",
                    c.stream, c.len
                )
            }
            Call::CheckWrite(c) => {
                write!(f, "wasi:io/streams.output-stream.check-write({})", c.stream)
            }
            Call::Write(c) => write!(
                f,
                "wasi:io/streams.output-stream.{}({}, len={}, hash={})",
                c.op.wit_name(),
                c.stream,
                c.len,
                c.hash
            ),
            Call::Flush(c) => {
                let m = if c.blocking { "blocking-flush" } else { "flush" };
                write!(f, "wasi:io/streams.output-stream.{m}({})", c.stream)
            }
            Call::Wrote(c) => write!(f, "{} wrote {}", c.stream, crate::text_preview(&c.data.0)),
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&match self {
            Answer::Read(r) => stream_result(r),
            Answer::Skip(r) | Answer::CheckWrite(r) => stream_result(r),
            Answer::Write(r) | Answer::Flush(r) => stream_result(r),
            Answer::Wrote(()) => String::new(),
        })
    }
}
