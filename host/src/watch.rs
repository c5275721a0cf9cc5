//! Watching a replay on the embedded wasmtime: `wasm-rr replay --calls`, `--until N` and
//! `wasm-rr debug --event N`.
//!
//! The replayer calls the host's `wasm-rr:rr/embedded.watched(N)` when it takes a watched
//! event N from the trace, before it answers the app's call; the app's frames are on the
//! stack then. The host reads the same event from its own reader of the trace, captures the
//! stack (wasmtime's backtrace, with file and line from the app's DWARF), and prints the event
//! with the app's frame that made the call, stops the replay, or calls
//! [`wasm_rr_event_breakpoint`] for a debugger to stop at.

use crate::files::TraceInput;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use wasm_rr_trace::timeline::names_event;
use wasm_rr_trace::{Reader, Source};
use wasmtime::{AsContext, FrameInfo, WasmBacktrace};

/// What to watch in a replay.
#[derive(Debug, Default, Clone)]
pub struct Watch {
    /// `--calls[=IFACE,…]`: print every event (or those whose call is of an interface named by
    /// one of these prefixes, e.g. `wasi:random`) on stderr with the app's frame that made it.
    pub calls: Option<Vec<String>>,
    /// `--frames all`: print every frame of the app's stack, not just the innermost one of the
    /// app's own code.
    pub all_frames: bool,
    /// `--until N`: stop the replay after event N (the `#N` of `wasm-rr show`).
    pub until: Option<u64>,
    /// `wasm-rr debug --event N`: call [`wasm_rr_event_breakpoint`] when event N is replayed.
    pub breakpoint: Option<u64>,
}

impl Watch {
    /// Whether anything is watched (otherwise the replay runs with no hook at all).
    pub fn any(&self) -> bool {
        self.calls.is_some() || self.until.is_some() || self.breakpoint.is_some()
    }

    /// The first event to watch; `u64::MAX` for none (`wasm-rr:rr/embedded.first-watched`).
    pub fn first(&self) -> u64 {
        self.after(None)
    }

    /// The next watched event after `event` (or the first, for `None`); `u64::MAX` for none.
    fn after(&self, event: Option<u64>) -> u64 {
        let next = event.map_or(0, |e| e.saturating_add(1));
        if self.calls.is_some() {
            return next;
        }
        [self.until, self.breakpoint]
            .into_iter()
            .flatten()
            .filter(|&n| n >= next)
            .min()
            .unwrap_or(u64::MAX)
    }
}

/// The replay stopped where `--until` asked (not an error: `wasm-rr replay` exits 0).
#[derive(Debug)]
pub struct Stopped(pub u64);

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the replay stopped after event {}", self.0)
    }
}

impl std::error::Error for Stopped {}

/// A debugger's breakpoint: `wasm-rr debug --event N` has the debugger stop here while event N
/// is replayed, with the app's frames below this one, and select the frame of the app's
/// function named in [`WASM_RR_APP_FUNCTION`]. `event` is N.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn wasm_rr_event_breakpoint(event: u64) -> u64 {
    std::hint::black_box(event)
}

/// While [`wasm_rr_event_breakpoint`] runs: the name of the app's function that made the call
/// (as the debuggers name it, without a Rust hash), NUL-terminated, at most 1023 bytes; empty
/// when the event is wasm-rr's own. A debugger reads it by its symbol (atomics have the
/// layout of bytes).
#[unsafe(no_mangle)]
pub static WASM_RR_APP_FUNCTION: [AtomicU8; 1024] = [const { AtomicU8::new(0) }; 1024];

/// Sets [`WASM_RR_APP_FUNCTION`].
fn set_app_function(name: &str) {
    let mut bytes = name.as_bytes();
    bytes = &bytes[..bytes.len().min(WASM_RR_APP_FUNCTION.len() - 1)];
    for (slot, b) in WASM_RR_APP_FUNCTION
        .iter()
        .zip(bytes.iter().copied().chain(std::iter::once(0)))
    {
        slot.store(b, Ordering::Relaxed);
    }
}

/// The trace shared with the replay (which reads it through `wasm-rr:rr/embedded.read`).
struct Shared(Arc<TraceInput>);

impl Source for Shared {
    fn size(&self) -> u64 {
        (&*self.0).size()
    }

    fn read(&mut self, offset: u64, len: u64, out: &mut Vec<u8>) {
        (&*self.0).read(offset, len, out)
    }
}

/// The host side of `wasm-rr:rr/embedded.watched`: follows the replay through the trace.
pub struct Watcher {
    watch: Watch,
    reader: Reader<Shared>,
    /// The current directory, which frames' source files are shown relative to.
    cwd: Option<PathBuf>,
    /// `--calls`: where the app started each subtask (its frame, as printed), by task, so
    /// that a completion, which comes with no frame of the app's, names it.
    started_at: std::collections::HashMap<u32, String>,
    /// `--calls=IFACE`: the subtasks whose start the filters named, whose completions (which
    /// name no interface: `task N: read …`) they name too.
    named_tasks: std::collections::HashSet<u32>,
}

impl Watcher {
    /// A watcher of the replay of `trace` (checked already: it reads).
    pub fn new(watch: Watch, trace: Arc<TraceInput>) -> anyhow::Result<Watcher> {
        let (_, reader) = Reader::new(Shared(trace))?;
        Ok(Watcher {
            watch,
            reader,
            cwd: std::env::current_dir().ok(),
            started_at: Default::default(),
            named_tasks: Default::default(),
        })
    }

    /// The first event to watch.
    pub fn first(&self) -> u64 {
        self.watch.first()
    }

    /// The replayer took `event` from the trace, with the app's call on `store`'s stack.
    /// Returns the next event to watch, or [`Stopped`] to end the replay.
    pub fn watched(&mut self, store: impl AsContext, event: u64) -> Result<u64, Stopped> {
        let calls = self.watch.calls.as_deref();
        let (text, mut named, subtask) =
            event_text(&mut self.reader, event, calls.unwrap_or_default());
        match subtask {
            Some((task, true)) if named => {
                self.named_tasks.insert(task);
            }
            Some((task, false)) => named |= self.named_tasks.contains(&task),
            _ => {}
        }
        let print_call = calls.is_some() && named;
        let breakpoint = self.watch.breakpoint == Some(event);
        let until = self.watch.until == Some(event);
        if !(print_call || breakpoint || until) {
            return Ok(self.watch.after(Some(event)));
        }
        // One backtrace serves whatever this event is watched for.
        let trace = WasmBacktrace::force_capture(&store);
        let frames = app_frames(&trace);
        let cwd = self.cwd.as_deref();
        let mut err = std::io::stderr().lock();
        if print_call {
            let _ = if self.watch.all_frames {
                writeln!(err, "{text}").and_then(|()| write_frames(&mut err, &frames, cwd))
            } else {
                match (innermost(&frames), subtask) {
                    (Some(f), subtask) => {
                        let at = frame_text(f, cwd);
                        if let Some((task, true)) = subtask {
                            self.started_at.insert(task, at.clone());
                        }
                        writeln!(err, "{text}  at {at}")
                    }
                    // A completion: the host's (the trace's) doing, not a call of the app's.
                    (None, Some((task, false))) => match self.started_at.get(&task) {
                        Some(at) => writeln!(err, "{text}  (task {task}, started at {at})"),
                        None => writeln!(err, "{text}  (task {task}: no frame of the app's)"),
                    },
                    (None, _) => writeln!(err, "{text}  (no frame of the app's)"),
                }
            };
        }
        if breakpoint {
            let app = innermost(&frames);
            set_app_function(&app.map(frame_name).unwrap_or_default());
            let made = app.map_or("wasm-rr's own event: no frame of the app's".into(), |f| {
                format!("the app made this call in {}", frame_text(f, cwd))
            });
            let _ = writeln!(err, "wasm-rr: replaying {text}\nwasm-rr: {made}");
            wasm_rr_event_breakpoint(event);
        }
        if until {
            let _ = writeln!(
                err,
                "wasm-rr: stopped after event {event}, replayed to the app's call:\n  {text}"
            );
            if frames.is_empty() {
                let _ = writeln!(err, "  (no frame of the app's: wasm-rr's own event)");
            } else {
                let _ = writeln!(err, "the app's stack, innermost first:");
                let _ = write_frames(&mut err, &frames, cwd);
            }
            return Err(Stopped(event));
        }
        Ok(self.watch.after(Some(event)))
    }
}

/// `#N call -> answer` of event `event`, as `wasm-rr show` prints it, read on from `reader`
/// (which follows the replay), whether `filters` (`--calls=`; empty: all) name the event, and
/// the subtask it belongs to (see [`wasm_rr_trace::generic::Call::subtask`]).
fn event_text(
    reader: &mut Reader<Shared>,
    event: u64,
    filters: &[String],
) -> (String, bool, Option<(u32, bool)>) {
    while reader.index() < event {
        if !matches!(reader.next_event(), Ok(Some(_))) {
            break;
        }
    }
    match reader.next_event() {
        Ok(Some(e)) if reader.index() == event + 1 => {
            let call = e.to_string();
            let named = filters.is_empty() || filters.iter().any(|f| names_event(f, &e, &call));
            let subtask = match &e.call {
                wasm_rr_trace::Call::Generic(g) => g.subtask(),
                _ => None,
            };
            (format!("#{event} {call}"), named, subtask)
        }
        _ => (format!("#{event}"), filters.is_empty(), None),
    }
}

/// The frames of a backtrace that are the app's, innermost first: not those of wasm-rr's own
/// modules (the interposer's code has no names, its build being stripped; the others are
/// named `wasm_rr_…`).
fn app_frames(trace: &WasmBacktrace) -> Vec<&FrameInfo> {
    trace
        .frames()
        .iter()
        .filter(|f| f.func_name().is_some() || !f.symbols().is_empty())
        .filter(|f| !f.module().name().is_some_and(|m| m.starts_with("wasm_rr_")))
        .collect()
}

/// Code of the language's runtime or of the WASI bindings: not where the app made a call.
fn is_glue(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "std::",
        "core::",
        "alloc::",
        "wasi::",
        "wasip1::",
        "wasip2::",
        "wasip3::",
        "wit_bindgen",
        "getrandom::",
        "wstd::",
        "waki::",
        "async_task::",
        "wasi:",
        "__",
        "_start",
        "cabi_",
        "wasi_snapshot_preview1",
        "rust_",
    ];
    let name = name.trim_start_matches('<');
    PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The frame's function name, demangled (DWARF's, else the name section's), without hashes.
fn frame_name(f: &FrameInfo) -> String {
    let raw = f
        .symbols()
        .first()
        .and_then(|s| s.name())
        .or(f.func_name())
        .unwrap_or("?");
    if raw == "__main_argc_argv" {
        // wasi-libc's name for a C program's `main(argc, argv)`.
        return "main".into();
    }
    // The alternate form leaves out Rust symbols' hashes and crates' disambiguators.
    format!("{:#}", rustc_demangle::demangle(raw))
}

/// Whether the frame's source is the Rust toolchain's (std and its dependencies), a crate
/// from a registry (such as the WASI bindings) or wasi-libc's.
fn in_toolchain(f: &FrameInfo) -> bool {
    f.symbols()
        .first()
        .and_then(|s| s.file())
        .is_some_and(|file| {
            file.starts_with("/rustc/")
                || file.starts_with("/rust/deps/")
                || file.contains("/library/std/")
                || file.contains("/library/core/")
                || file.contains("wasi-libc")
                || file.contains("libc-bottom-half/")
                || file.contains("libc-top-half/")
                || file.contains("/.cargo/registry/")
        })
}

/// Whether the frame is the preview1 adapter's (a `wasi_snapshot_preview1` function, with no
/// source location).
fn in_adapter(f: &FrameInfo) -> bool {
    const PREVIEW1: &[&str] = &[
        "args_",
        "environ_",
        "clock_",
        "fd_",
        "path_",
        "poll_oneoff",
        "proc_",
        "random_get",
        "sched_yield",
        "sock_",
    ];
    let name = f.func_name().unwrap_or_default();
    f.symbols().iter().all(|s| s.file().is_none()) && PREVIEW1.iter().any(|p| name.starts_with(p))
}

/// The innermost frame of the app's own code: outside its language runtime and WASI glue,
/// preferring one with a source location (file:line from DWARF); else the innermost frame of
/// the app's (an async executor's, when inlining left no other).
fn innermost<'a>(frames: &[&'a FrameInfo]) -> Option<&'a FrameInfo> {
    let own = |f: &&&FrameInfo| !is_glue(&frame_name(f)) && !in_toolchain(f) && !in_adapter(f);
    frames
        .iter()
        .filter(own)
        .find(|f| f.symbols().first().and_then(|s| s.file()).is_some())
        .or_else(|| frames.iter().find(own))
        .or(frames.first())
        .copied()
}

/// `function (file:line)`, or `function (module+0xOFFSET)` without DWARF; the file relative
/// to `cwd` when under it.
fn frame_text(f: &FrameInfo, cwd: Option<&Path>) -> String {
    let name = frame_name(f);
    let location = f.symbols().first().and_then(|s| {
        let file = s.file()?;
        let file = cwd
            .and_then(|d| Path::new(file).strip_prefix(d).ok())
            .map_or(file.to_string(), |p| p.display().to_string());
        Some(match s.line() {
            Some(line) => format!("{file}:{line}"),
            None => file,
        })
    });
    match location {
        Some(l) => format!("{name} ({l})"),
        None => format!(
            "{name} ({}+{:#x})",
            f.module().name().unwrap_or("module"),
            f.module_offset().unwrap_or(0)
        ),
    }
}

/// One line per frame, innermost first, marking the app's own code.
fn write_frames(
    out: &mut impl Write,
    frames: &[&FrameInfo],
    cwd: Option<&Path>,
) -> std::io::Result<()> {
    let mine = innermost(frames);
    for (i, f) in frames.iter().enumerate() {
        let mark = if mine.is_some_and(|m| std::ptr::eq(m, *f)) {
            "  <- the app's call"
        } else {
            ""
        };
        writeln!(out, "  {i:>3}: {}{mark}", frame_text(f, cwd))?;
    }
    Ok(())
}
