//! `wasi:cli/*`: environment, exit, stdio, terminals, and `wasm-rr:rr/control`, which the run
//! wrapper calls around the guest's `wasi:cli/run`.
//!
//! stdin, stdout and stderr are streams 0, 1 and 2 (see [`crate::io::streams`]). Replayed
//! output still reaches the host's stdout and stderr; stdin is never read while replaying.

use crate::exports::wasi::cli::{
    environment, exit, stderr, stdin, stdout, terminal_input, terminal_output, terminal_stderr,
    terminal_stdin, terminal_stdout,
};
use crate::exports::wasm_rr::rr::control;
use crate::io::streams::{new_input, new_output};
use crate::wasi::cli as host;
use crate::{Interposer, rr};
use std::rc::Rc;
use wasm_rr_trace::cli as ev;
use wasm_rr_trace::protocol::RESERVED_ENV_PREFIX;
use wasm_rr_trace::{Status, StreamId};

impl environment::Guest for Interposer {
    fn get_environment() -> Vec<(String, String)> {
        rr::call(ev::GetEnvironment {}, || {
            host::environment::get_environment()
                .into_iter()
                .filter(|(k, _)| !k.starts_with(RESERVED_ENV_PREFIX))
                .collect()
        })
    }

    fn get_arguments() -> Vec<String> {
        rr::call(ev::GetArguments {}, host::environment::get_arguments)
    }

    fn initial_cwd() -> Option<String> {
        rr::call(ev::InitialCwd {}, host::environment::initial_cwd)
    }
}

impl exit::Guest for Interposer {
    fn exit(status: Result<(), ()>) {
        rr::call(
            ev::Exit {
                status: Status::from(status),
            },
            || (),
        );
        rr::flush();
        host::exit::exit(status);
    }

    fn exit_with_code(status_code: u8) {
        rr::call(ev::ExitWithCode { code: status_code }, || ());
        rr::flush();
        host::exit::exit_with_code(status_code);
    }
}

impl stdin::Guest for Interposer {
    fn get_stdin() -> stdin::InputStream {
        new_input(
            StreamId::STDIN,
            rr::live(|| Rc::new(host::stdin::get_stdin())),
        )
    }
}

impl stdout::Guest for Interposer {
    fn get_stdout() -> stdout::OutputStream {
        new_output(StreamId::STDOUT, Some(Rc::new(host::stdout::get_stdout())))
    }
}

impl stderr::Guest for Interposer {
    fn get_stderr() -> stderr::OutputStream {
        new_output(StreamId::STDERR, Some(Rc::new(host::stderr::get_stderr())))
    }
}

/// The exported `terminal-input` resource (it has no methods).
pub struct TerminalInput;
/// The exported `terminal-output` resource (it has no methods).
pub struct TerminalOutput;

impl terminal_input::Guest for Interposer {
    type TerminalInput = TerminalInput;
}
impl terminal_input::GuestTerminalInput for TerminalInput {}
impl terminal_output::Guest for Interposer {
    type TerminalOutput = TerminalOutput;
}
impl terminal_output::GuestTerminalOutput for TerminalOutput {}

impl terminal_stdin::Guest for Interposer {
    fn get_terminal_stdin() -> Option<terminal_stdin::TerminalInput> {
        rr::call(ev::GetTerminalStdin {}, || {
            host::terminal_stdin::get_terminal_stdin().is_some()
        })
        .then(|| terminal_input::TerminalInput::new(TerminalInput))
    }
}

impl terminal_stdout::Guest for Interposer {
    fn get_terminal_stdout() -> Option<terminal_stdout::TerminalOutput> {
        rr::call(ev::GetTerminalStdout {}, || {
            host::terminal_stdout::get_terminal_stdout().is_some()
        })
        .then(|| terminal_output::TerminalOutput::new(TerminalOutput))
    }
}

impl terminal_stderr::Guest for Interposer {
    fn get_terminal_stderr() -> Option<terminal_stderr::TerminalOutput> {
        rr::call(ev::GetTerminalStderr {}, || {
            host::terminal_stderr::get_terminal_stderr().is_some()
        })
        .then(|| terminal_output::TerminalOutput::new(TerminalOutput))
    }
}

impl control::Guest for Interposer {
    fn run_starting() {
        rr::start();
    }

    fn run_returned(status: Result<(), ()>) -> Result<(), ()> {
        rr::call(
            ev::RunReturned {
                status: Status::from(status),
            },
            || (),
        );
        rr::finish();
        status
    }

    fn serve_starting() {
        rr::start_instance();
    }

    fn serve_returned() {
        rr::flush();
    }
}
