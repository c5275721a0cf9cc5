//! `wasi:io/streams`: the interposer's `input-stream` and `output-stream` resources.
//!
//! Reads, skips and `check-write` permits are recorded with their results. Writes are recorded
//! as their length and [`wasm_rr_trace::output_hash`]; replay checks both and still sends the
//! bytes of stdout and stderr to the host's. `splice` is carried out as a recorded read and a
//! recorded write, so it replays like any other read and write.

use crate::exports::wasi::io::streams as api;
use crate::io::error::Error;
use crate::io::poll::new_pollable;
use crate::rr::MAX_BLOCKING_WRITE;
use crate::rr::created::Counter;
use crate::wasi::io::streams as host;
use crate::{Interposer, rr};
use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use wasm_rr_trace::streams as ev;
use wasm_rr_trace::{Fixed64, StreamError, StreamId, WriteOp};

/// The exported `input-stream` resource.
pub struct InputStream {
    id: StreamId,
    /// The host's stream (recording).
    host: Option<Rc<host::InputStream>>,
    /// The host resource this stream is a child of (a socket), kept alive until the stream is
    /// dropped (fields drop in order: the host stream first), so that a guest dropping the
    /// socket first behaves the same recording and replaying.
    _parent: Option<Rc<dyn Any>>,
}

/// The exported `output-stream` resource.
pub struct OutputStream {
    id: StreamId,
    /// Where the bytes go: recording, the host's stream; replaying, the host's stdout or
    /// stderr for those two streams (replayed output still reaches them), and nowhere for the
    /// others (a file's writes are only checked).
    host: Option<Rc<host::OutputStream>>,
    /// See [`InputStream`]'s.
    _parent: Option<Rc<dyn Any>>,
}

thread_local! {
    /// Streams of network connections (see [`mark_network`]).
    static NETWORK: RefCell<BTreeSet<u32>> = const { RefCell::new(BTreeSet::new()) };
    /// Numbers for streams other than stdio (recording).
    pub static STREAMS: Counter = const { Counter::new(StreamId::FIRST_OTHER) };
}

/// Marks `id` as a network connection's stream: like stdio, its calls may block for long.
pub fn mark_network(id: StreamId) {
    NETWORK.with_borrow_mut(|n| n.insert(id.0));
}

/// Whether `id` is stdin, stdout, stderr or a network stream: the streams whose calls may block
/// for long, or whose output must be in the trace before the guest can trap (see `rr`).
fn is_stdio(id: StreamId) -> bool {
    id.0 < StreamId::FIRST_OTHER || NETWORK.with_borrow(|n| n.contains(&id.0))
}

/// Recording: keeps a new host stream (for [`rr::Live::created`]) and gives it the number of
/// the next stream that is not stdio.
pub fn keep_stream<T: 'static>(host: T) -> StreamId {
    StreamId(rr::created::put(Rc::new(host), &STREAMS))
}

/// A new exported `input-stream` named `id` in the trace (recording: wrapping `host`).
pub fn new_input(id: StreamId, host: Option<Rc<host::InputStream>>) -> api::InputStream {
    new_child_input(id, host, None)
}

/// A new exported `input-stream` named `id`, a child of the host resource `parent`.
pub fn new_child_input(
    id: StreamId,
    host: Option<Rc<host::InputStream>>,
    parent: Option<Rc<dyn Any>>,
) -> api::InputStream {
    api::InputStream::new(InputStream {
        id,
        host,
        _parent: parent,
    })
}

/// A new exported `output-stream` named `id` in the trace, writing to `host` (see
/// [`OutputStream`]).
pub fn new_output(id: StreamId, host: Option<Rc<host::OutputStream>>) -> api::OutputStream {
    new_child_output(id, host, None)
}

/// A new exported `output-stream` named `id`, a child of the host resource `parent`.
pub fn new_child_output(
    id: StreamId,
    host: Option<Rc<host::OutputStream>>,
    parent: Option<Rc<dyn Any>>,
) -> api::OutputStream {
    api::OutputStream::new(OutputStream {
        id,
        host,
        _parent: parent,
    })
}

/// A host `stream-error` as recorded: `last-operation-failed` keeps the error's debug string.
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
    /// The host's stream (recording only).
    fn host(&self) -> &host::InputStream {
        self.host
            .as_deref()
            .expect("a recorded stream wraps the host's")
    }

    fn read(&self, len: u64, blocking: bool) -> Result<Vec<u8>, api::StreamError> {
        let stream = self.id;
        rr::call(
            ev::Read {
                stream,
                len,
                blocking,
            },
            || {
                let r = if blocking {
                    if is_stdio(stream) {
                        rr::flush();
                    }
                    self.host().blocking_read(rr::read_len(len))
                } else {
                    self.host().read(rr::read_len(len))
                };
                r.map(wasm_rr_trace::Bytes).map_err(from_host)
            },
        )
        .map(|b| b.0)
        .map_err(to_wit)
    }

    fn skip(&self, len: u64, blocking: bool) -> Result<u64, api::StreamError> {
        let stream = self.id;
        rr::call(
            ev::Skip {
                stream,
                len,
                blocking,
            },
            || {
                let r = if blocking {
                    if is_stdio(stream) {
                        rr::flush();
                    }
                    self.host().blocking_skip(len)
                } else {
                    self.host().skip(len)
                };
                r.map_err(from_host)
            },
        )
        .map_err(to_wit)
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
        new_pollable(
            rr::live(|| self.host().subscribe()),
            self.host.clone().map(|h| h as Rc<dyn Any>),
        )
    }
}

impl OutputStream {
    /// The host's stream (recording only).
    fn host(&self) -> &host::OutputStream {
        self.host
            .as_deref()
            .expect("a recorded stream wraps the host's")
    }

    /// Performs (recording) or checks and re-performs on stdout and stderr (replaying) one
    /// write. `data` is `None` for the zeroes methods, whose length is `len`.
    fn write(&self, op: WriteOp, data: Option<&[u8]>, len: u64) -> Result<(), api::StreamError> {
        let stream = self.id;
        let blocking = matches!(
            op,
            WriteOp::BlockingWriteAndFlush | WriteOp::BlockingWriteZeroesAndFlush
        );
        if blocking && len > MAX_BLOCKING_WRITE as u64 {
            // wasmtime traps on this; trap the same way when replaying.
            rr::guest_error(&format!(
                "{} was given {len} bytes; WASI allows at most {MAX_BLOCKING_WRITE}",
                op.wit_name()
            ));
        }
        let hash = Fixed64(data.map_or(0, wasm_rr_trace::output_hash));
        let stdio = is_stdio(stream);
        // The host may block or trap here: the trace must hold everything before this call.
        if stdio {
            rr::flush();
        }
        let call = ev::Write {
            stream,
            op,
            len,
            hash,
        };
        let result = rr::call(call, || {
            let h = self.host();
            let r = match (op, data) {
                (WriteOp::Write, Some(d)) => h.write(d),
                (WriteOp::BlockingWriteAndFlush, Some(d)) => h.blocking_write_and_flush(d),
                (WriteOp::WriteZeroes, _) => h.write_zeroes(len),
                _ => h.blocking_write_zeroes_and_flush(len),
            };
            r.map_err(from_host)
        });
        if rr::REPLAYING && result.is_ok() {
            self.replay_output(data, len);
        }
        if let (false, Ok(()), Some(d)) = (rr::REPLAYING, &result, data) {
            rr::recorder::keep_output(stream, d);
        }
        // A write is a point the trace must reach before the guest can trap.
        if stdio {
            rr::flush();
        }
        result.map_err(to_wit)
    }

    /// Sends replayed output to the host's stream (stdout and stderr only).
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
        // The recorded result is what the guest sees; a host failure here changes nothing.
        rr::write_out(host, data);
    }

    fn flush(&self, blocking: bool) -> Result<(), api::StreamError> {
        let stream = self.id;
        let stdio = is_stdio(stream);
        if stdio {
            rr::flush();
        }
        let result = rr::call(ev::Flush { stream, blocking }, || {
            let r = if blocking {
                self.host().blocking_flush()
            } else {
                self.host().flush()
            };
            r.map_err(from_host)
        });
        // Like a write, a flush may be the guest's last call before it traps.
        if stdio {
            rr::flush();
        }
        result.map_err(to_wit)
    }
}

impl api::GuestOutputStream for OutputStream {
    fn check_write(&self) -> Result<u64, api::StreamError> {
        rr::call(ev::CheckWrite { stream: self.id }, || {
            self.host().check_write().map_err(from_host)
        })
        .map_err(to_wit)
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
        new_pollable(
            rr::live(|| self.host().subscribe()),
            self.host.clone().map(|h| h as Rc<dyn Any>),
        )
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
