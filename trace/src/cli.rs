//! Events of `wasi:cli`: `environment`, `exit`, the terminals, and the guest's `run` returning.
//!
//! stdin, stdout and stderr are streams: their reads and writes are `wasi:io/streams` events
//! (`streams.rs`), on streams 0, 1 and 2.

use serde::{Deserialize, Serialize};
use std::fmt;

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

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "ok",
            Status::Err => "err",
        })
    }
}

crate::event::interface! {
    Cli = 16;
    /// `environment.get-environment`: the variables, without `WASM_RR_*` ones.
    GetEnvironment {} -> Vec<(String, String)>;
    /// `environment.get-arguments`.
    GetArguments {} -> Vec<String>;
    /// `environment.initial-cwd`.
    InitialCwd {} -> Option<String>;
    /// `exit.exit(status)`.
    Exit {
        /// The status.
        status: Status,
    } -> ();
    /// `exit.exit-with-code(status-code)`.
    ExitWithCode {
        /// The code.
        code: u8,
    } -> ();
    /// The guest's `wasi:cli/run.run` returned this status.
    RunReturned {
        /// What `run` returned.
        status: Status,
    } -> ();
    /// `terminal-stdin.get-terminal-stdin`: whether a terminal was returned.
    GetTerminalStdin {} -> bool;
    /// `terminal-stdout.get-terminal-stdout`: whether a terminal was returned.
    GetTerminalStdout {} -> bool;
    /// `terminal-stderr.get-terminal-stderr`: whether a terminal was returned.
    GetTerminalStderr {} -> bool;
}

impl Call {
    /// Whether the call ends the run (`exit`, `exit-with-code`, `run` returning).
    pub fn ends_run(&self) -> bool {
        matches!(
            self,
            Call::Exit(_) | Call::ExitWithCode(_) | Call::RunReturned(_)
        )
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::GetEnvironment(_) => f.write_str("wasi:cli/environment.get-environment()"),
            Call::GetArguments(_) => f.write_str("wasi:cli/environment.get-arguments()"),
            Call::InitialCwd(_) => f.write_str("wasi:cli/environment.initial-cwd()"),
            Call::Exit(c) => write!(f, "wasi:cli/exit.exit({})", c.status),
            Call::ExitWithCode(c) => write!(f, "wasi:cli/exit.exit-with-code({})", c.code),
            Call::RunReturned(c) => write!(f, "wasi:cli/run.run returned {}", c.status),
            Call::GetTerminalStdin(_) => {
                f.write_str("wasi:cli/terminal-stdin.get-terminal-stdin()")
            }
            Call::GetTerminalStdout(_) => {
                f.write_str("wasi:cli/terminal-stdout.get-terminal-stdout()")
            }
            Call::GetTerminalStderr(_) => {
                f.write_str("wasi:cli/terminal-stderr.get-terminal-stderr()")
            }
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::GetEnvironment(v) => write!(f, "{} variables", v.len()),
            Answer::GetArguments(v) => write!(f, "{v:?}"),
            Answer::InitialCwd(v) => write!(f, "{v:?}"),
            Answer::Exit(()) | Answer::ExitWithCode(()) | Answer::RunReturned(()) => {
                f.write_str("()")
            }
            Answer::GetTerminalStdin(b)
            | Answer::GetTerminalStdout(b)
            | Answer::GetTerminalStderr(b) => f.write_str(if *b { "terminal" } else { "none" }),
        }
    }
}
