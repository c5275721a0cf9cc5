//! Replay stubs: inert exports of `wasi:cli/environment`, `stdin` and the terminal interfaces.
//!
//! The replaying interposer is a Rust `std` component, and std's runtime (wasi-libc) imports
//! these interfaces even though replay never asks them anything that matters: the environment is
//! read only for `RUST_BACKTRACE` when a panic is reported, and stdin and the terminals only when
//! libc sets up its file descriptors. `wasm-rr wrap --replay` plugs this component into those
//! imports so that the self-replaying component needs nothing from the host but `wasi:io/*` and
//! `wasi:cli/stdout`, `stderr` and `exit`.
//!
//! It is `no_std` so that it imports nothing itself but `wasi:io/streams` (for the type of
//! `get-stdin`'s result).

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

wit_bindgen::generate!({
    path: "../../wit",
    world: "wasm-rr:interposer/replay-stubs",
    generate_all,
});

use alloc::string::String;
use alloc::vec::Vec;
use exports::wasi::cli::{
    environment, stdin, terminal_input, terminal_output, terminal_stderr, terminal_stdin,
    terminal_stdout,
};

struct Stubs;

impl environment::Guest for Stubs {
    fn get_environment() -> Vec<(String, String)> {
        Vec::new()
    }

    fn get_arguments() -> Vec<String> {
        Vec::new()
    }

    fn initial_cwd() -> Option<String> {
        None
    }
}

impl stdin::Guest for Stubs {
    fn get_stdin() -> stdin::InputStream {
        // The replayer never reads its own stdin: the guest's stdin comes from the trace.
        unreachable!()
    }
}

/// A terminal that is never handed out.
pub struct NoTerminal;

impl terminal_input::Guest for Stubs {
    type TerminalInput = NoTerminal;
}
impl terminal_input::GuestTerminalInput for NoTerminal {}
impl terminal_output::Guest for Stubs {
    type TerminalOutput = NoTerminal;
}
impl terminal_output::GuestTerminalOutput for NoTerminal {}

impl terminal_stdin::Guest for Stubs {
    fn get_terminal_stdin() -> Option<terminal_stdin::TerminalInput> {
        None
    }
}

impl terminal_stdout::Guest for Stubs {
    fn get_terminal_stdout() -> Option<terminal_stdout::TerminalOutput> {
        None
    }
}

impl terminal_stderr::Guest for Stubs {
    fn get_terminal_stderr() -> Option<terminal_stderr::TerminalOutput> {
        None
    }
}

export!(Stubs);

// The no_std runtime: no allocator, trap on panic.
use wasm_rr_bare as _;
