//! The trace side of the interposer.
//!
//! **Recorder.** Events are CBOR-encoded into a buffer as they happen and appended to the trace
//! file (`trace.cbor` in the preopen at guest path `/wasm-rr`, or the file `WASM_RR_TRACE`
//! names there). Flush policy: the buffer is written out
//! - right after every stdout/stderr write or flush is logged (so a guest that panics has
//!   already logged everything up to its panic message when it traps),
//! - before every call that may block or trap in the host (`poll`, `pollable.block`,
//!   `blocking-read`, `blocking-skip`, and every output write and flush),
//! - at `exit` and when the guest's `run` returns,
//! - whenever [`FLUSH_AT`] bytes are buffered.
//!
//! **Replayer.** Reads the trace that `wasm-rr wrap --replay` embedded (import
//! `wasm-rr:rr/embedded`, a zstd frame of the CBOR trace, or the plain CBOR) one event at a
//! time. Every call asks [`next`] for the next event and
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
pub use recorder::{finish, flush, log, start};
#[cfg(feature = "replay")]
pub use replayer::{finish, flush, next, start};

#[cfg(not(feature = "replay"))]
mod recorder {
    use super::{FLUSH_AT, fatal};
    use crate::cli::RESERVED_ENV_PREFIX;
    use crate::wasi::cli::environment;
    use crate::wasi::filesystem::{preopens, types as fs};
    use crate::wasm_rr::rr::embedded;
    use std::cell::RefCell;
    use wasm_rr_trace::{Event, RecordConfig, encode_item};

    /// Guest path of the directory the trace is written to.
    pub const TRACE_DIR: &str = "/wasm-rr";
    /// File name of the trace inside [`TRACE_DIR`] unless `WASM_RR_TRACE` names another.
    pub const DEFAULT_TRACE_FILE: &str = "trace.cbor";

    struct Recorder {
        buf: Vec<u8>,
        file: Option<(fs::Descriptor, u64)>,
    }

    thread_local! {
        static RECORDER: RefCell<Recorder> = const {
            RefCell::new(Recorder { buf: Vec::new(), file: None })
        };
    }

    /// The trace file name relative to [`TRACE_DIR`].
    fn trace_file_name() -> String {
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
        fn open(&mut self) {
            let config = RecordConfig::from_cbor(&embedded::blob()).unwrap_or_else(|e| {
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
            // The header goes first, before anything logged while opening.
            let mut head = Vec::with_capacity(256 + self.buf.len());
            encode_item(&config.header(), &mut head);
            head.append(&mut self.buf);
            self.buf = head;
            self.file = Some((file, 0));
            self.flush();
        }

        fn flush(&mut self) {
            let Some((file, offset)) = &mut self.file else {
                return;
            };
            let mut written = 0;
            while written < self.buf.len() {
                match file.write(&self.buf[written..], *offset) {
                    Ok(n) => {
                        written += n as usize;
                        *offset += n;
                    }
                    Err(e) => fatal(&format!("cannot write the trace: {}", e.message())),
                }
            }
            self.buf.clear();
        }
    }

    /// Opens the trace (if not yet open) and writes its header.
    pub fn start() {
        RECORDER.with_borrow_mut(|r| {
            if r.file.is_none() {
                r.open()
            }
        });
    }

    /// Appends `event` to the trace.
    pub fn log(event: &Event) {
        RECORDER.with_borrow_mut(|r| {
            if r.file.is_none() {
                r.open();
            }
            encode_item(event, &mut r.buf);
            if r.buf.len() >= FLUSH_AT {
                r.flush();
            }
        });
    }

    /// Writes every buffered event to the trace file.
    pub fn flush() {
        RECORDER.with_borrow_mut(|r| r.flush());
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
    use std::collections::VecDeque;
    use std::fmt::Write;
    use wasm_rr_trace::{Call, Event, EventReader};

    /// How many events before a divergence the report shows.
    const RECENT: usize = 5;

    struct Replayer {
        data: &'static [u8],
        reader: EventReader<'static>,
        /// (index, byte offset) of the last [`RECENT`] events handed out.
        recent: VecDeque<(u64, usize)>,
    }

    thread_local! {
        static REPLAYER: RefCell<Option<Replayer>> = const { RefCell::new(None) };
    }

    /// The first bytes of a zstd frame.
    const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

    fn unusable(e: impl std::fmt::Display) -> ! {
        fatal(&format!("the embedded trace is unusable: {e}"))
    }

    fn load() -> Replayer {
        let mut blob = embedded::blob();
        if blob.starts_with(&ZSTD_MAGIC) {
            let mut decoder =
                ruzstd::decoding::StreamingDecoder::new(&blob[..]).unwrap_or_else(|e| unusable(e));
            let mut cbor = Vec::new();
            std::io::Read::read_to_end(&mut decoder, &mut cbor).unwrap_or_else(|e| unusable(e));
            blob = cbor;
        }
        let data: &'static [u8] = Vec::leak(blob);
        let (_, reader) = EventReader::new(data).unwrap_or_else(|e| unusable(e));
        Replayer {
            data,
            reader,
            recent: VecDeque::with_capacity(RECENT),
        }
    }

    impl Replayer {
        fn diverge(&self, index: u64, expected: &str, actual: &str) -> ! {
            let mut msg = format!(
                "replay diverged at event {index}\n  expected: {expected}\n  actual:   {actual}"
            );
            if self.recent.is_empty() {
                msg.push_str("\n  (no events before it)");
            } else {
                msg.push_str("\n  last events:");
                for (i, offset) in &self.recent {
                    if let Some(e) = EventReader::event_at(self.data, *offset) {
                        let _ = write!(msg, "\n    #{i} {e}");
                    }
                }
            }
            fatal(&msg)
        }
    }

    /// Loads the embedded trace.
    pub fn start() {
        REPLAYER.with_borrow_mut(|r| {
            if r.is_none() {
                *r = Some(load());
            }
        });
    }

    /// The next event, which must answer `call`; otherwise the replay stops with a divergence.
    pub fn next(call: Call) -> Event {
        REPLAYER.with_borrow_mut(|slot| {
            let r = slot.get_or_insert_with(load);
            let index = r.reader.index();
            let offset = r.reader.offset();
            match r.reader.next_event() {
                Ok(Some(event)) if event.call() == call => {
                    if r.recent.len() == RECENT {
                        r.recent.pop_front();
                    }
                    r.recent.push_back((index, offset));
                    event
                }
                Ok(Some(event)) => r.diverge(index, &event.call().to_string(), &call.to_string()),
                Ok(None) => {
                    let last = r
                        .recent
                        .back()
                        .and_then(|(_, offset)| EventReader::event_at(r.data, *offset));
                    let end = if matches!(
                        last,
                        Some(Event::RunReturned(_) | Event::Exit(_) | Event::ExitWithCode(_))
                    ) {
                        "the end of the trace"
                    } else {
                        "the end of the trace (the recorded run stopped here without exiting: it trapped or was killed, or the trace was cut)"
                    };
                    r.diverge(index, end, &call.to_string())
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
