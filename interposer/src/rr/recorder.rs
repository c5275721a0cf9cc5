//! The recorder: whether this run is recorded (the [`RecordPolicy`] `wasm-rr wrap` embedded),
//! the trace file, its blocks, and when they are written out (see the flush policy in
//! `rr/mod.rs`).

use super::{FLUSH_AT, fatal, warn};
use crate::wasi::cli::environment;
use crate::wasi::filesystem::{preopens, types as fs};
use std::cell::RefCell;
use std::collections::BTreeMap;
use wasm_rr_trace::protocol::{DEFAULT_TRACE_FILE, TRACE_DIR, TRACE_ENV};
use wasm_rr_trace::streams::Wrote;
use wasm_rr_trace::{BlockWriter, RecordConfig, RecordPolicy, Request, WhenFull, encode_header};
use wasm_rr_trace::{Bytes, StreamId};

struct Recorder {
    /// Events of the block being filled.
    events: BlockWriter,
    /// The most bytes of each output stream to keep ([`RecordPolicy::output_bytes`]), and
    /// how many each has kept.
    output_bytes: u64,
    kept: BTreeMap<StreamId, u64>,
    /// Framed bytes not yet written to the file (the header, then whole blocks).
    out: Vec<u8>,
    file: Option<(fs::Descriptor, u64)>,
}

/// Whether this run is recorded: decided when its first event comes (or the run starts).
#[allow(clippy::large_enum_variant)] // one per instance, never moved
enum State {
    Undecided,
    On(Recorder),
    /// Sampled out, or the trace directory is full: the run passes through unrecorded.
    Off,
}

thread_local! {
    static RECORDER: RefCell<State> = const { RefCell::new(State::Undecided) };
}

/// A file in the trace directory that says its being full was reported (by a warning on the
/// host's stderr), so that the warning comes once, not once per run or request. Removed when
/// the directory has room again.
const FULL_MARKER: &str = ".wasm-rr-full";

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

/// Opens the trace of a WASI 0.3 HTTP service's instance at its first request, named
/// `inst-<wall-clock ns>-<random>.cbor` (as [`start_request_trace`] names a request's): every
/// request `wasmtime serve` gives the instance goes into it, in the order its events came.
pub fn start_instance_trace() {
    if NAME.with_borrow(|n| n.is_some()) {
        return;
    }
    use crate::wasi::clocks::wall_clock;
    let now = wall_clock::now();
    let ns = u128::from(now.seconds) * 1_000_000_000 + u128::from(now.nanoseconds);
    let tag = crate::wasi::random::random::get_random_u64() as u32;
    NAME.with_borrow_mut(|n| *n = Some(format!("inst-{ns:020}-{tag:08x}.cbor")));
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

/// Decides whether this run is recorded, by the embedded [`RecordPolicy`], and if so opens its
/// trace.
fn decide() -> State {
    let config = RecordConfig::from_cbor(&super::embedded_blob()).unwrap_or_else(|e| {
        fatal(&format!(
            "this recording component is damaged (its configuration does not decode: {e}); wrap the app again"
        ))
    });
    crate::generic::set_functions(&config.generic);
    let policy = &config.policy;
    if policy.sample > 1
        && !crate::wasi::random::random::get_random_u64().is_multiple_of(u64::from(policy.sample))
    {
        return State::Off;
    }
    let Some((dir, _)) = preopens::get_directories()
        .into_iter()
        .find(|(_, path)| path == TRACE_DIR)
    else {
        fatal(&format!(
            "no directory is preopened at {TRACE_DIR} for the trace; add `--dir <host-dir>::{TRACE_DIR}` to `wasmtime run`"
        ));
    };
    let name = trace_file_name();
    if policy.capped() && !make_room(&dir, &name, policy) {
        return State::Off;
    }
    State::On(Recorder::open(&config, &dir, name))
}

/// Applies the caps on the trace directory before a trace named `name` is created there:
/// whether it may be (with [`WhenFull::Rotate`], after removing the oldest traces).
fn make_room(dir: &fs::Descriptor, name: &str, policy: &RecordPolicy) -> bool {
    // The trace files (`*.cbor`, but the one about to be truncated), oldest first by name.
    let mut traces: Vec<(String, u64)> = Vec::new();
    let mut marked = false;
    if let Ok(entries) = dir.read_directory() {
        while let Ok(Some(entry)) = entries.read_directory_entry() {
            if entry.name == FULL_MARKER {
                marked = true;
            } else if entry.type_ == fs::DescriptorType::RegularFile
                && entry.name.ends_with(".cbor")
                && entry.name != name
            {
                let size = match policy.max_trace_bytes {
                    Some(_) => dir
                        .stat_at(fs::PathFlags::empty(), &entry.name)
                        .map_or(0, |s| s.size),
                    None => 0,
                };
                traces.push((entry.name, size));
            }
        }
    }
    traces.sort_unstable();
    // What the directory holds, as traces are taken away.
    let (mut count, mut bytes) = (traces.len() as u64, traces.iter().map(|(_, s)| s).sum());
    let full = |count: u64, bytes: u64| {
        policy.max_traces.is_some_and(|m| count >= m)
            || policy.max_trace_bytes.is_some_and(|m| bytes >= m)
    };
    if !full(count, bytes) {
        if marked {
            let _ = dir.unlink_file_at(FULL_MARKER);
        }
        return true;
    }
    match policy.when_full {
        WhenFull::Pause => {
            // Said once: by the run that creates the marker.
            if !marked
                && dir
                    .open_at(
                        fs::PathFlags::empty(),
                        FULL_MARKER,
                        fs::OpenFlags::CREATE | fs::OpenFlags::EXCLUSIVE,
                        fs::DescriptorFlags::WRITE,
                    )
                    .is_ok()
            {
                let plural = if count == 1 { "" } else { "s" };
                let mut held = format!("{count} trace{plural}");
                if policy.max_trace_bytes.is_some() {
                    held += &format!(", {bytes} bytes");
                }
                let caps = [
                    policy.max_traces.map(|m| format!("--max-traces {m}")),
                    policy
                        .max_trace_bytes
                        .map(|m| format!("--max-trace-bytes {m}")),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
                warn(&format!(
                    "the trace directory {TRACE_DIR} is full ({held}; {caps}): new runs and requests pass through unrecorded until traces are taken away (said once until then)"
                ));
            }
            false
        }
        WhenFull::Rotate => {
            for (oldest, size) in &traces {
                if !full(count, bytes) {
                    break;
                }
                // Another instance may have removed it already.
                let _ = dir.unlink_file_at(oldest);
                count -= 1;
                bytes -= size;
            }
            !full(count, bytes)
        }
    }
}

impl Recorder {
    fn open(config: &RecordConfig, dir: &fs::Descriptor, name: String) -> Recorder {
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
            output_bytes: config.policy.output_bytes,
            kept: BTreeMap::new(),
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

/// Runs `f` on the recorder, when this run is recorded (deciding so first, if undecided).
fn with(f: impl FnOnce(&mut Recorder)) {
    RECORDER.with_borrow_mut(|state| {
        if let State::Undecided = state {
            *state = decide();
        }
        if let State::On(r) = state {
            f(r)
        }
    })
}

/// Decides whether this run is recorded, and if so opens the trace and writes its header.
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
    RECORDER.with_borrow_mut(|state| {
        if let State::On(r) = state {
            r.flush()
        }
    });
}

/// The app wrote `data` to `stream`, and the host took it: keeps as much of it as the
/// stream's share of [`RecordPolicy::output_bytes`] has room for, as a [`Wrote`] event after
/// the write's.
pub fn keep_output(stream: StreamId, data: &[u8]) {
    let keep = RECORDER.with_borrow_mut(|state| match state {
        State::On(r) => {
            let used = r.kept.entry(stream).or_default();
            let n = r.output_bytes.saturating_sub(*used).min(data.len() as u64);
            *used += n;
            n as usize
        }
        _ => 0,
    });
    if keep > 0 {
        record(
            Wrote {
                stream,
                data: Bytes(data[..keep].to_vec()),
            },
            (),
        );
    }
}
