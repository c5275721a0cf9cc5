//! The recorder: the trace file, its blocks, and when they are written out (see the flush
//! policy in `rr/mod.rs`).

use super::{FLUSH_AT, fatal, warn};
use crate::wasi::cli::environment;
use crate::wasi::filesystem::{preopens, types as fs};
use std::cell::RefCell;
use wasm_rr_trace::protocol::{DEFAULT_TRACE_FILE, TRACE_DIR, TRACE_ENV};
use wasm_rr_trace::{BlockWriter, RecordConfig, Request, encode_header};

struct Recorder {
    /// Events of the block being filled.
    events: BlockWriter,
    /// Framed bytes not yet written to the file (the header, then whole blocks).
    out: Vec<u8>,
    file: Option<(fs::Descriptor, u64)>,
}

thread_local! {
    static RECORDER: RefCell<Option<Recorder>> = const { RefCell::new(None) };
}

/// zstd for the blocks, when the recording component was wrapped with `--compress`.
fn zstd(data: &[u8]) -> Option<Vec<u8>> {
    Some(ruzstd::encoding::compress_to_vec(
        data,
        ruzstd::encoding::CompressionLevel::Fastest,
    ))
}

thread_local! {
    /// The trace's file name, when chosen by [`start_request_trace`].
    static NAME: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Opens the trace of one incoming HTTP request, named `req-<wall-clock ns>-<random>.cbor`
/// (20 decimal and 8 hex digits, so that `ls` sorts a directory of them by arrival, and
/// instances running at once never pick the same name; `WASM_RR_TRACE` does not apply).
pub fn start_request_trace() {
    use crate::wasi::clocks::wall_clock;
    thread_local! {
        static REQUESTS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    }
    // A reused instance carries the last request's state, which a replay (in a new
    // instance) would not have: refuse rather than write a trace that cannot replay.
    if REQUESTS.replace(REQUESTS.get() + 1) > 0 {
        fatal(
            "this instance is handling a second request; to be recorded, every request needs an instance of its own (leave `wasmtime serve --max-instance-reuse-count` at its default, 1)",
        );
    }
    let now = wall_clock::now();
    let ns = u128::from(now.seconds) * 1_000_000_000 + u128::from(now.nanoseconds);
    let tag = crate::wasi::random::random::get_random_u64() as u32;
    NAME.with_borrow_mut(|n| *n = Some(format!("req-{ns:020}-{tag:08x}.cbor")));
    start();
}

/// The trace file name relative to [`TRACE_DIR`].
fn trace_file_name() -> String {
    if let Some(name) = NAME.with_borrow(|n| n.clone()) {
        return name;
    }
    let Some((_, name)) = environment::get_environment()
        .into_iter()
        .find(|(k, _)| k == TRACE_ENV)
    else {
        return DEFAULT_TRACE_FILE.to_string();
    };
    let relative = name
        .strip_prefix(TRACE_DIR)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(&name);
    if relative.is_empty() || relative.starts_with('/') {
        fatal(&format!(
            "{TRACE_ENV}={name} must name a file inside the {TRACE_DIR} preopen"
        ));
    }
    relative.to_string()
}

impl Recorder {
    fn open() -> Recorder {
        let config = RecordConfig::from_cbor(&super::embedded_blob()).unwrap_or_else(|e| {
            fatal(&format!(
                "this recording component is damaged (its configuration does not decode: {e}); wrap the app again"
            ))
        });
        let Some((dir, _)) = preopens::get_directories()
            .into_iter()
            .find(|(_, path)| path == TRACE_DIR)
        else {
            fatal(&format!(
                "no directory is preopened at {TRACE_DIR} for the trace; add `--dir <host-dir>::{TRACE_DIR}` to `wasmtime run`"
            ));
        };
        let name = trace_file_name();
        let file = dir
            .open_at(
                fs::PathFlags::empty(),
                &name,
                fs::OpenFlags::CREATE | fs::OpenFlags::TRUNCATE,
                fs::DescriptorFlags::WRITE,
            )
            .unwrap_or_else(|e| {
                fatal(&format!(
                    "cannot create the trace {TRACE_DIR}/{name}: {}",
                    e.message()
                ))
            });
        let mut out = Vec::with_capacity(FLUSH_AT + 4096);
        encode_header(&config.header(), &mut out);
        let mut r = Recorder {
            events: BlockWriter::new(config.compress.then_some(zstd as _)),
            out,
            file: Some((file, 0)),
        };
        r.flush();
        r
    }

    fn flush(&mut self) {
        self.events.finish_block(&mut self.out);
        let Some((file, offset)) = &mut self.file else {
            return;
        };
        let mut written = 0;
        while written < self.out.len() {
            match file.write(&self.out[written..], *offset) {
                Ok(n) => {
                    written += n as usize;
                    *offset += n;
                }
                // A full disk (or any write error) ends the recording, not the app: the trace
                // keeps its whole blocks (a reader drops the torn one), and the app runs on.
                Err(e) => {
                    let message = e.message();
                    // "No space left on device, similar to `ENOSPC` in POSIX.": the first part.
                    let reason = message.split(", similar to").next().unwrap_or_default();
                    warn(&format!(
                        "cannot write the trace ({reason}): recording stopped here; the trace keeps what was written before, and the app runs on unrecorded"
                    ));
                    self.file = None;
                    break;
                }
            }
        }
        self.out.clear();
    }
}

fn with<T>(f: impl FnOnce(&mut Recorder) -> T) -> T {
    RECORDER.with_borrow_mut(|r| f(r.get_or_insert_with(Recorder::open)))
}

/// Opens the trace (if not yet open) and writes its header.
pub fn start() {
    with(|_| ());
}

/// Appends `call` answered by `answer` to the trace; gives the answer back (data the host
/// returned is never copied).
#[inline]
pub fn record<C: Request>(call: C, answer: C::Answer) -> C::Answer {
    with(|r| {
        r.events.push_parts(&call, &answer);
        if r.events.buffered() >= FLUSH_AT {
            r.flush();
        }
    });
    answer
}

/// Writes every buffered event to the trace file, as one block.
pub fn flush() {
    RECORDER.with_borrow_mut(|r| {
        if let Some(r) = r {
            r.flush()
        }
    });
}
