//! `wasi:io/streams`: the interposer's `input-stream` and `output-stream` resources.
//!
//! Reads, skips and `check-write` permits are logged with their results. Writes are logged as
//! their length and [`wasm_rr_trace::output_hash`]; the replayer checks both and still sends the
//! bytes to the host's stdout or stderr. `splice` is carried out as a logged read and a logged
//! write, so it replays like any other read and write.

use crate::Interposer;
use crate::exports::wasi::io::streams as api;
use crate::io::error::Error;
use crate::io::poll::new_pollable;
use crate::wasi::io::streams as host;
use std::rc::Rc;
#[cfg(not(feature = "replay"))]
use wasm_rr_trace::Bytes;
#[cfg(feature = "replay")]
use wasm_rr_trace::Call;
use wasm_rr_trace::{Event, ReadResult, StreamError, StreamId, WriteOp};

/// What an input stream wraps: the host's stream when recording, nothing when replaying.
#[cfg(not(feature = "replay"))]
pub type HostInput = Rc<host::InputStream>;
/// What an input stream wraps: the host's stream when recording, nothing when replaying.
#[cfg(feature = "replay")]
pub type HostInput = ();

/// The exported `input-stream` resource.
pub struct InputStream {
    id: StreamId,
    #[cfg_attr(feature = "replay", allow(dead_code))]
    host: HostInput,
    /// The host resource this stream is a child of (a socket), kept alive until the stream is
    /// dropped (fields drop in order: the host stream first), so that a guest dropping the
    /// socket first behaves the same recording and replaying.
    _parent: Option<Rc<dyn std::any::Any>>,
}

/// What an output stream wraps: the host's stream when recording.
#[cfg(not(feature = "replay"))]
pub type HostOutput = Rc<host::OutputStream>;
/// What an output stream wraps: when replaying, the host's stdout or stderr (which replayed
/// output still reaches), and nothing for other streams (a file's writes are only checked).
#[cfg(feature = "replay")]
pub type HostOutput = Option<Rc<host::OutputStream>>;

/// The exported `output-stream` resource.
pub struct OutputStream {
    id: StreamId,
    host: HostOutput,
    /// See [`InputStream`]'s.
    _parent: Option<Rc<dyn std::any::Any>>,
}

thread_local! {
    /// Streams of network connections (see [`mark_network`]).
    static NETWORK: std::cell::RefCell<std::collections::BTreeSet<u32>> =
        const { std::cell::RefCell::new(std::collections::BTreeSet::new()) };
}

/// Marks `id` as a network connection's stream: like stdio, its calls may block for long.
pub fn mark_network(id: StreamId) {
    NETWORK.with_borrow_mut(|n| n.insert(id.0));
}

/// Whether `id` is stdin, stdout, stderr or a network stream: the streams whose calls may block
/// for long, or whose output must be in the trace before the guest can trap (see `rr.rs`).
fn is_stdio(id: StreamId) -> bool {
    id.0 < StreamId::FIRST_OTHER || NETWORK.with_borrow(|n| n.contains(&id.0))
}

#[cfg(not(feature = "replay"))]
thread_local! {
    static NEXT_STREAM: std::cell::Cell<u32> = const { std::cell::Cell::new(StreamId::FIRST_OTHER) };
}

/// Recording: the number of the next stream that is not stdio.
#[cfg(not(feature = "replay"))]
pub fn next_stream_id() -> StreamId {
    NEXT_STREAM.with(|n| {
        let id = n.get();
        n.set(id + 1);
        StreamId(id)
    })
}

/// A new exported `input-stream` named `id` in the trace.
pub fn new_input(id: StreamId, host: HostInput) -> api::InputStream {
    new_child_input(id, host, None)
}

/// A new exported `input-stream` named `id`, a child of the host resource `parent`.
pub fn new_child_input(
    id: StreamId,
    host: HostInput,
    parent: Option<Rc<dyn std::any::Any>>,
) -> api::InputStream {
    api::InputStream::new(InputStream {
        id,
        host,
        _parent: parent,
    })
}

/// A new exported `output-stream` named `id` in the trace, writing to the host's stdout or
/// stderr (recording: to `host`).
pub fn new_output(id: StreamId, host: HostOutput) -> api::OutputStream {
    new_child_output(id, host, None)
}

/// A new exported `output-stream` named `id`, a child of the host resource `parent`.
pub fn new_child_output(
    id: StreamId,
    host: HostOutput,
    parent: Option<Rc<dyn std::any::Any>>,
) -> api::OutputStream {
    api::OutputStream::new(OutputStream {
        id,
        host,
        _parent: parent,
    })
}

/// A host `stream-error` as logged: `last-operation-failed` keeps the error's debug string.
#[cfg(not(feature = "replay"))]
fn from_host(e: host::StreamError) -> StreamError {
    match e {
        host::StreamError::Closed => StreamError::Closed,
        host::StreamError::LastOperationFailed(err) => {
            let message = err.to_debug_string();
            crate::io::error::stash(err);
            StreamError::Failed(message)
        }
    }
}

fn to_wit(e: StreamError) -> api::StreamError {
    match e {
        StreamError::Closed => api::StreamError::Closed,
        StreamError::Failed(m) => api::StreamError::LastOperationFailed(Error::new_resource(m)),
    }
}

impl InputStream {
    fn read(&self, len: u64, blocking: bool) -> Result<Vec<u8>, api::StreamError> {
        let stream = self.id;
        // Recording: the data moves into the event and back out of it, never copied.
        #[cfg(not(feature = "replay"))]
        let event = {
            let r = if blocking {
                if is_stdio(stream) {
                    crate::rr::flush();
                }
                self.host.blocking_read(len)
            } else {
                self.host.read(len)
            };
            let event = Event::Read {
                stream,
                len,
                blocking,
                result: r.map(Bytes).map_err(from_host),
            };
            crate::rr::log(&event);
            event
        };
        #[cfg(feature = "replay")]
        let event = crate::rr::next(Call::Read {
            stream,
            len,
            blocking,
        });
        let result: ReadResult = match event {
            Event::Read { result, .. } => result,
            other => crate::rr::bad_event(other),
        };
        result.map(|b| b.0).map_err(to_wit)
    }

    fn skip(&self, len: u64, blocking: bool) -> Result<u64, api::StreamError> {
        let stream = self.id;
        let result = rr!({
                let r = if blocking {
                    if is_stdio(stream) {
                        crate::rr::flush();
                    }
                    self.host.blocking_skip(len)
                } else {
                    self.host.skip(len)
                };
                r.map_err(from_host)
            } => |r| Event::Skip { stream, len, blocking, result: r.clone() };
            replay Call::Skip { stream, len, blocking }, Event::Skip { result, .. } => result);
        result.map_err(to_wit)
    }
}

impl api::GuestInputStream for InputStream {
    fn read(&self, len: u64) -> Result<Vec<u8>, api::StreamError> {
        InputStream::read(self, len, false)
    }

    fn blocking_read(&self, len: u64) -> Result<Vec<u8>, api::StreamError> {
        InputStream::read(self, len, true)
    }

    fn skip(&self, len: u64) -> Result<u64, api::StreamError> {
        InputStream::skip(self, len, false)
    }

    fn blocking_skip(&self, len: u64) -> Result<u64, api::StreamError> {
        InputStream::skip(self, len, true)
    }

    fn subscribe(&self) -> api::Pollable {
        #[cfg(not(feature = "replay"))]
        return new_pollable(self.host.subscribe(), Some(self.host.clone()));
        #[cfg(feature = "replay")]
        new_pollable((), None)
    }
}

/// Largest chunk `blocking-write-and-flush` accepts, in bytes.
const MAX_BLOCKING_WRITE: usize = 4096;

impl OutputStream {
    /// Performs (recording) or checks and re-performs (replaying) one write. `data` is `None`
    /// for the zeroes methods, whose length is `len`.
    fn write(&self, op: WriteOp, data: Option<&[u8]>, len: u64) -> Result<(), api::StreamError> {
        let stream = self.id;
        let blocking = matches!(
            op,
            WriteOp::BlockingWriteAndFlush | WriteOp::BlockingWriteZeroesAndFlush
        );
        if blocking && len > MAX_BLOCKING_WRITE as u64 {
            // wasmtime traps on this; trap the same way when replaying.
            crate::rr::guest_error(&format!(
                "{} was given {len} bytes; WASI allows at most {MAX_BLOCKING_WRITE}",
                op.wit_name()
            ));
        }
        let hash = data.map_or(0, wasm_rr_trace::output_hash);
        let stdio = is_stdio(stream);
        // The host may block or trap here: the trace must hold everything before this call.
        if stdio {
            crate::rr::flush();
        }
        let result = rr!({
            let r = match (op, data) {
                (WriteOp::Write, Some(d)) => self.host.write(d),
                (WriteOp::BlockingWriteAndFlush, Some(d)) => self.host.blocking_write_and_flush(d),
                (WriteOp::WriteZeroes, _) => self.host.write_zeroes(len),
                _ => self.host.blocking_write_zeroes_and_flush(len),
            };
            r.map_err(from_host)
        } => |r| Event::Write { stream, op, len, hash, result: r.clone() };
        replay Call::Write { stream, op, len, hash }, Event::Write { result, .. } => {
            if result.is_ok() {
                self.replay_output(data, len);
            }
            result
        });
        // A write is a point the trace must reach before the guest can trap.
        if stdio {
            crate::rr::flush();
        }
        result.map_err(to_wit)
    }

    /// Sends replayed output to the host's stream (stdout and stderr only).
    #[cfg(feature = "replay")]
    fn replay_output(&self, data: Option<&[u8]>, len: u64) {
        let Some(host) = &self.host else {
            return;
        };
        let zeroes;
        let data = match data {
            Some(d) => d,
            None => {
                zeroes = vec![0u8; len as usize];
                &zeroes
            }
        };
        for chunk in data.chunks(MAX_BLOCKING_WRITE) {
            // The recorded result is what the guest sees; a host failure here changes nothing.
            let _ = host.blocking_write_and_flush(chunk);
        }
    }

    fn flush(&self, blocking: bool) -> Result<(), api::StreamError> {
        let stream = self.id;
        let stdio = is_stdio(stream);
        if stdio {
            crate::rr::flush();
        }
        let result = rr!({
                let r = if blocking { self.host.blocking_flush() } else { self.host.flush() };
                r.map_err(from_host)
            } => |r| Event::Flush { stream, blocking, result: r.clone() };
            replay Call::Flush { stream, blocking }, Event::Flush { result, .. } => result);
        // Like a write, a flush may be the guest's last call before it traps.
        if stdio {
            crate::rr::flush();
        }
        result.map_err(to_wit)
    }
}

impl api::GuestOutputStream for OutputStream {
    fn check_write(&self) -> Result<u64, api::StreamError> {
        let stream = self.id;
        let result = rr!(self.host.check_write().map_err(from_host)
            => |r| Event::CheckWrite { stream, result: r.clone() };
            replay Call::CheckWrite { stream }, Event::CheckWrite { result, .. } => result);
        result.map_err(to_wit)
    }

    fn write(&self, contents: Vec<u8>) -> Result<(), api::StreamError> {
        OutputStream::write(self, WriteOp::Write, Some(&contents), contents.len() as u64)
    }

    fn blocking_write_and_flush(&self, contents: Vec<u8>) -> Result<(), api::StreamError> {
        OutputStream::write(
            self,
            WriteOp::BlockingWriteAndFlush,
            Some(&contents),
            contents.len() as u64,
        )
    }

    fn flush(&self) -> Result<(), api::StreamError> {
        OutputStream::flush(self, false)
    }

    fn blocking_flush(&self) -> Result<(), api::StreamError> {
        OutputStream::flush(self, true)
    }

    fn subscribe(&self) -> api::Pollable {
        #[cfg(not(feature = "replay"))]
        return new_pollable(self.host.subscribe(), Some(self.host.clone()));
        #[cfg(feature = "replay")]
        new_pollable((), None)
    }

    fn write_zeroes(&self, len: u64) -> Result<(), api::StreamError> {
        OutputStream::write(self, WriteOp::WriteZeroes, None, len)
    }

    fn blocking_write_zeroes_and_flush(&self, len: u64) -> Result<(), api::StreamError> {
        OutputStream::write(self, WriteOp::BlockingWriteZeroesAndFlush, None, len)
    }

    fn splice(&self, src: api::InputStreamBorrow<'_>, len: u64) -> Result<u64, api::StreamError> {
        let permit = api::GuestOutputStream::check_write(self)?;
        let data = src.get::<InputStream>().read(len.min(permit), false)?;
        api::GuestOutputStream::write(self, data.clone())?;
        Ok(data.len() as u64)
    }

    fn blocking_splice(
        &self,
        src: api::InputStreamBorrow<'_>,
        len: u64,
    ) -> Result<u64, api::StreamError> {
        let want = len.min(MAX_BLOCKING_WRITE as u64);
        let data = src.get::<InputStream>().read(want, true)?;
        let n = data.len() as u64;
        api::GuestOutputStream::blocking_write_and_flush(self, data)?;
        Ok(n)
    }
}

impl api::Guest for Interposer {
    type InputStream = InputStream;
    type OutputStream = OutputStream;
}
