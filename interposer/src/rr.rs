//! The trace side of the interposer.
//!
//! **Recorder.** Events are encoded into a block (see `wasm_rr_trace::codec`) as they happen,
//! and each flush appends the block to the trace file (`trace.cbor` in the preopen at guest path
//! `/wasm-rr`, or the file `WASM_RR_TRACE` names there). Flush policy: a block is written out
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
//!
//! **Replayer.** Reads the trace that `wasm-rr wrap --replay` embedded (import
//! `wasm-rr:rr/embedded`) one block at a time, without copying the whole, and decodes one event
//! at a time. Every call asks [`next`] for the next event and
//! gets it only if the event answers that very call with the same arguments; otherwise the
//! replay stops with a divergence report and exit status 1.

use crate::wasi::cli as host_cli;
use wasm_rr_trace::Event;

/// Buffered trace bytes that trigger a write to the trace file.
pub const FLUSH_AT: usize = 64 * 1024;

/// Prints `wasm-rr: {message}` on the host's stderr and exits with status 1.
pub fn fatal(message: &str) -> ! {
    let line = format!("wasm-rr: {message}\n");
    let err = host_cli::stderr::get_stderr();
    for chunk in line.as_bytes().chunks(4096) {
        let _ = err.blocking_write_and_flush(chunk);
    }
    drop(err);
    host_cli::exit::exit(Err(()));
    std::process::abort()
}

/// The guest broke a rule of WASI that wasmtime enforces with a trap. Writes the trace out,
/// says what happened on the host's stderr, and traps, the same way recording and replaying.
pub fn guest_error(message: &str) -> ! {
    flush();
    let line = format!("wasm-rr: the guest broke a WASI rule: {message}\n");
    let _ = host_cli::stderr::get_stderr().blocking_write_and_flush(line.as_bytes());
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort()
}

/// Called when an event that [`next`] matched to a call has the wrong shape (a bug).
pub fn bad_event(event: Event) -> ! {
    fatal(&format!(
        "internal error: the event `{event}` does not answer its call"
    ))
}

#[cfg(not(feature = "replay"))]
pub use recorder::{finish, flush, log, start, start_request_trace};
#[cfg(feature = "replay")]
pub use replayer::{finish, flush, next, start};

/// The whole embedded blob (`wasm-rr:rr/embedded`).
#[cfg(not(feature = "replay"))]
fn embedded_blob() -> Vec<u8> {
    use crate::wasm_rr::rr::embedded;
    embedded::read(0, embedded::size())
}

#[cfg(not(feature = "replay"))]
mod recorder {
    use super::{FLUSH_AT, fatal};
    use crate::cli::RESERVED_ENV_PREFIX;
    use crate::wasi::cli::environment;
    use crate::wasi::filesystem::{preopens, types as fs};
    use std::cell::RefCell;
    use wasm_rr_trace::{BlockWriter, Event, RecordConfig, encode_header};

    /// Guest path of the directory the trace is written to.
    pub const TRACE_DIR: &str = "/wasm-rr";
    /// File name of the trace inside [`TRACE_DIR`] unless `WASM_RR_TRACE` names another.
    pub const DEFAULT_TRACE_FILE: &str = "trace.cbor";

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
        let var = format!("{RESERVED_ENV_PREFIX}TRACE");
        let Some((_, name)) = environment::get_environment()
            .into_iter()
            .find(|(k, _)| *k == var)
        else {
            return DEFAULT_TRACE_FILE.to_string();
        };
        let relative = name
            .strip_prefix(TRACE_DIR)
            .and_then(|r| r.strip_prefix('/'))
            .unwrap_or(&name);
        if relative.is_empty() || relative.starts_with('/') {
            fatal(&format!(
                "WASM_RR_TRACE={name} must name a file inside the {TRACE_DIR} preopen"
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
                    Err(e) => fatal(&format!("cannot write the trace: {}", e.message())),
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

    /// Appends `event` to the trace.
    #[inline]
    pub fn log(event: &Event) {
        with(|r| {
            r.events.push(event);
            if r.events.buffered() >= FLUSH_AT {
                r.flush();
            }
        });
    }

    /// Writes every buffered event to the trace file, as one block.
    pub fn flush() {
        RECORDER.with_borrow_mut(|r| {
            if let Some(r) = r {
                r.flush()
            }
        });
    }

    /// The run is over: write everything out.
    pub fn finish() {
        flush();
    }
}

#[cfg(feature = "replay")]
mod replayer {
    use super::fatal;
    use crate::wasm_rr::rr::embedded;
    use std::cell::RefCell;
    use std::fmt::Write;
    use wasm_rr_trace::{Call, Event, Reader, Source};

    /// How many events before a divergence the report shows.
    const RECENT: u64 = 5;

    /// The embedded trace, read piece by piece (no copy of the whole).
    struct Embedded {
        size: u64,
    }

    impl Source for Embedded {
        fn size(&self) -> u64 {
            self.size
        }

        fn read(&mut self, offset: u64, len: u64, out: &mut Vec<u8>) {
            out.extend_from_slice(&embedded::read(offset, len));
        }
    }

    struct Replayer {
        reader: Reader<Embedded>,
        /// The last event handed out was one that ends a run.
        ended: bool,
    }

    thread_local! {
        static REPLAYER: RefCell<Option<Replayer>> = const { RefCell::new(None) };
    }

    fn unusable(e: impl std::fmt::Display) -> ! {
        fatal(&format!("the embedded trace is unusable: {e}"))
    }

    fn open() -> Reader<Embedded> {
        let source = Embedded {
            size: embedded::size(),
        };
        let (_, reader) = Reader::new(source).unwrap_or_else(|e| unusable(e));
        reader
    }

    /// Stops the replay: the guest made `actual` where the trace holds `expected` at `index`.
    /// Reads the trace again from its start to show the events before.
    fn diverge(index: u64, expected: &str, actual: &str, difference: Option<String>) -> ! {
        let mut msg = format!(
            "replay diverged at event {index}\n  expected: {expected}\n  actual:   {actual}"
        );
        if let Some(d) = difference {
            let _ = write!(msg, "\n  difference: {d}");
        }
        if index == 0 {
            msg.push_str("\n  (no events before it)");
        } else {
            msg.push_str("\n  last events:");
            let mut reader = open();
            let first = index.saturating_sub(RECENT);
            while reader.index() < index {
                let i = reader.index();
                match reader.next_event() {
                    Ok(Some(e)) if i >= first => {
                        let _ = write!(msg, "\n    #{i} {e}");
                    }
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
        }
        fatal(&msg)
    }

    /// Loads the embedded trace.
    pub fn start() {
        REPLAYER.with_borrow_mut(|r| {
            if r.is_none() {
                *r = Some(Replayer {
                    reader: open(),
                    ended: false,
                });
            }
        });
    }

    /// The next event, which must answer `call`; otherwise the replay stops with a divergence.
    #[inline]
    pub fn next(call: Call) -> Event {
        REPLAYER.with_borrow_mut(|slot| {
            let r = slot.get_or_insert_with(|| Replayer {
                reader: open(),
                ended: false,
            });
            let index = r.reader.index();
            match r.reader.next_event() {
                Ok(Some(event)) => {
                    let expected = event.call();
                    if expected != call {
                        diverge(
                            index,
                            &expected.to_string(),
                            &call.to_string(),
                            expected.difference(&call),
                        );
                    }
                    r.ended = matches!(
                        event,
                        Event::RunReturned(_) | Event::Exit(_) | Event::ExitWithCode(_)
                    );
                    event
                }
                Ok(None) => {
                    let end = if r.ended {
                        "the end of the trace"
                    } else {
                        "the end of the trace (the recorded run stopped here without exiting: it trapped or was killed, or the trace was cut)"
                    };
                    diverge(index, end, &call.to_string(), None)
                }
                Err(e) => unusable(e),
            }
        })
    }

    /// Nothing to write when replaying.
    pub fn flush() {}

    /// Nothing to write when replaying.
    pub fn finish() {}
}
