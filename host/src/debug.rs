//! `wasm-rr debug APP TRACE`: a source debugger (lldb or gdb) on the replay.
//!
//! The debugger runs `wasm-rr replay APP TRACE` itself, with wasmtime compiling the app
//! unoptimised and registering its DWARF through the GDB JIT interface, so breakpoints in the
//! app's source are hit in the recorded run. The debugger is told to pass wasmtime's signals
//! (SIGSEGV, SIGILL, SIGFPE, SIGBUS: how wasmtime catches out-of-bounds accesses and traps)
//! to it without stopping. `--event N` sets a breakpoint on
//! [`crate::watch::wasm_rr_event_breakpoint`], which the replay calls while event N is
//! replayed, with the app's call on the stack below it.

use anyhow::{Result, bail};
use std::path::Path;
use std::process::Command;

/// The source debuggers `wasm-rr debug` starts, by preference: lldb shows Rust locals, gdb 13
/// does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Debugger {
    /// LLDB (`lldb-19`, else `lldb`).
    Lldb,
    /// GDB (`gdb`).
    Gdb,
}

impl Debugger {
    /// The commands each debugger may be found as on PATH.
    fn commands(self) -> &'static [&'static str] {
        match self {
            Debugger::Lldb => &["lldb-19", "lldb"],
            Debugger::Gdb => &["gdb"],
        }
    }

    /// The first of [`Debugger::commands`] that runs (`--version`).
    fn find(self) -> Option<&'static str> {
        self.commands().iter().copied().find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    }
}

/// What `wasm-rr debug` was asked.
pub struct DebugRequest<'a> {
    /// The app, as given.
    pub app: &'a Path,
    /// The trace, as given.
    pub trace: &'a Path,
    /// `--debugger`: this one, or the first found of lldb and gdb.
    pub debugger: Option<Debugger>,
    /// `--event N`: stop while event N is replayed.
    pub event: Option<u64>,
    /// Arguments for the debugger (after `--`), placed after wasm-rr's own commands.
    pub args: &'a [String],
}

/// The debugger to use, and the command found for it.
fn choose(wanted: Option<Debugger>) -> Result<(Debugger, &'static str)> {
    let candidates = match wanted {
        Some(d) => vec![d],
        None => vec![Debugger::Lldb, Debugger::Gdb],
    };
    for d in &candidates {
        if let Some(cmd) = d.find() {
            return Ok((*d, cmd));
        }
    }
    match wanted {
        Some(Debugger::Lldb) => bail!(
            "--debugger lldb: neither lldb-19 nor lldb is on PATH (Debian: apt install lldb-19)"
        ),
        Some(Debugger::Gdb) => {
            bail!("--debugger gdb: gdb is not on PATH (Debian: apt install gdb)")
        }
        None => bail!(
            "no source debugger on PATH: wasm-rr debug starts lldb-19, lldb or gdb (Debian: apt install lldb-19)"
        ),
    }
}

/// lldb: pass wasmtime's signals to it without stopping or printing.
const LLDB_SIGNALS: &str = "process handle -p true -s false -n false SIGSEGV SIGILL SIGFPE SIGBUS";

/// lldb: when `wasm_rr_event_breakpoint` is hit, select the frame of the app's function named
/// in `WASM_RR_APP_FUNCTION` (the innermost frame of that name; lldb names Rust functions with
/// their hash, `::h…`).
const LLDB_SELECT_APP_FRAME: &str = concat!(
    "breakpoint command add -s python -o \"",
    "t = frame.GetThread(); p = t.GetProcess(); tg = p.GetTarget(); ",
    "a = tg.FindSymbols('WASM_RR_APP_FUNCTION')[0].GetSymbol().GetStartAddress().GetLoadAddress(tg); ",
    "n = p.ReadCStringFromMemory(a, 1024, lldb.SBError()); ",
    "g = [f.GetFrameID() for f in t if n and ((f.GetFunctionName() or '') == n or (f.GetFunctionName() or '').startswith(n + '::h'))]; ",
    "g and t.SetSelectedFrame(g[0])",
    "\""
);

/// gdb: pass wasmtime's signals to it without stopping or printing; let breakpoints in the
/// app's source wait for its code to be compiled. (With `--event`, gdb stops in
/// `wasm_rr_event_breakpoint`: gdb 13 cannot unwind from there through wasmtime's host-call
/// trampoline into the app's frames, as lldb can; the replay prints the app's function and
/// line on stderr.)
const GDB_SETUP: &[&str] = &[
    "handle SIGSEGV SIGILL SIGFPE SIGBUS nostop noprint pass",
    "set breakpoint pending on",
];

/// The debugger's command line: wasm-rr's commands, then `req.args`, then this program's
/// `replay` as the process to debug.
fn command(debugger: Debugger, program: &str, req: &DebugRequest) -> Result<Command> {
    let exe = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot tell where wasm-rr is: {e}"))?;
    let mut replay: Vec<std::ffi::OsString> = vec![
        exe.into(),
        "replay".into(),
        req.app.into(),
        req.trace.into(),
        "--debug-info".into(),
    ];
    if let Some(n) = req.event {
        replay.extend(["--break-at".into(), n.to_string().into()]);
    }
    // Run to the event at once when the user gave no commands of their own.
    let run_now = req.event.is_some() && req.args.is_empty();
    let mut cmd = Command::new(program);
    match debugger {
        Debugger::Lldb => {
            cmd.args(["-O", "settings set plugin.jit-loader.gdb.enable on"]);
            cmd.args(["-o", LLDB_SIGNALS]);
            if req.event.is_some() {
                cmd.args(["-o", "breakpoint set -n wasm_rr_event_breakpoint"]);
                cmd.args(["-o", LLDB_SELECT_APP_FRAME]);
            }
            if run_now {
                cmd.args(["-o", "run"]);
            }
            cmd.args(req.args).arg("--").args(replay);
        }
        Debugger::Gdb => {
            cmd.arg("-q");
            for line in GDB_SETUP {
                cmd.args(["-ex", line]);
            }
            if req.event.is_some() {
                cmd.args(["-ex", "break wasm_rr_event_breakpoint"]);
            }
            if run_now {
                cmd.args(["-ex", "run"]);
            }
            cmd.args(req.args).arg("--args").args(replay);
        }
    }
    Ok(cmd)
}

/// Starts the debugger on the replay (after checking the replay can start: `prepare` composes
/// it, so the debugged process finds it in the cache) and returns the debugger's exit status.
///
/// Errors: no debugger found, or the debugger cannot be started.
pub fn debug(req: &DebugRequest, prepare: impl FnOnce() -> Result<()>) -> Result<i32> {
    let (debugger, program) = choose(req.debugger)?;
    prepare()?;
    let mut cmd = command(debugger, program, req)?;
    let stop = match (req.event, debugger) {
        (Some(n), Debugger::Lldb) => format!("it stops in the app's call that made event #{n}"),
        (Some(n), Debugger::Gdb) => format!(
            "it stops in wasm_rr_event_breakpoint while event #{n} is replayed; gdb cannot unwind from there into the app's frames, lldb can"
        ),
        (None, _) => "set breakpoints in the app's source, then run".into(),
    };
    eprintln!(
        "wasm-rr: starting {program} on the replay of {} ({stop})",
        req.trace.display()
    );
    // Ctrl-C is the debugger's (it interrupts the replay); this process waits for it.
    let _ = ctrlc::set_handler(|| {});
    let status = cmd
        .status()
        .map_err(|e| anyhow::anyhow!("cannot start {program}: {e}"))?;
    Ok(status.code().unwrap_or(1))
}
