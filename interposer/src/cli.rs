//! `wasi:cli/*`: environment, exit, stdio, terminals, and `wasm-rr:rr/control`, which the run
//! wrapper calls around the guest's `wasi:cli/run`.

use crate::Interposer;
use crate::exports::wasi::cli::{
    environment, exit, stderr, stdin, stdout, terminal_input, terminal_output, terminal_stderr,
    terminal_stdin, terminal_stdout,
};
use crate::exports::wasm_rr::rr::control;
use crate::io::streams::{new_input, new_output};
use crate::wasi::cli as host;
#[cfg(feature = "replay")]
use wasm_rr_trace::Call;
use wasm_rr_trace::{Event, Status, StreamId};

/// Prefix of the environment variables that configure wasm-rr; the guest never sees them.
pub const RESERVED_ENV_PREFIX: &str = "WASM_RR_";

impl environment::Guest for Interposer {
    fn get_environment() -> Vec<(String, String)> {
        rr!(host::environment::get_environment()
                .into_iter()
                .filter(|(k, _)| !k.starts_with(RESERVED_ENV_PREFIX))
                .collect::<Vec<_>>()
            => |v| Event::GetEnvironment(v.clone());
            replay Call::GetEnvironment, Event::GetEnvironment(v) => v)
    }

    fn get_arguments() -> Vec<String> {
        rr!(host::environment::get_arguments() => |v| Event::GetArguments(v.clone());
            replay Call::GetArguments, Event::GetArguments(v) => v)
    }

    fn initial_cwd() -> Option<String> {
        rr!(host::environment::initial_cwd() => |v| Event::InitialCwd(v.clone());
            replay Call::InitialCwd, Event::InitialCwd(v) => v)
    }
}

impl exit::Guest for Interposer {
    fn exit(status: Result<(), ()>) {
        let s = Status::from(status);
        rr!(() => |v| Event::Exit(s); replay Call::Exit(s), Event::Exit(_) => ());
        crate::rr::flush();
        host::exit::exit(status);
    }

    fn exit_with_code(status_code: u8) {
        rr!(() => |v| Event::ExitWithCode(status_code);
            replay Call::ExitWithCode(status_code), Event::ExitWithCode(_) => ());
        crate::rr::flush();
        host::exit::exit_with_code(status_code);
    }
}

impl stdin::Guest for Interposer {
    fn get_stdin() -> stdin::InputStream {
        #[cfg(not(feature = "replay"))]
        return new_input(StreamId::STDIN, std::rc::Rc::new(host::stdin::get_stdin()));
        #[cfg(feature = "replay")]
        new_input(StreamId::STDIN, ())
    }
}

impl stdout::Guest for Interposer {
    fn get_stdout() -> stdout::OutputStream {
        let host = std::rc::Rc::new(host::stdout::get_stdout());
        #[cfg(feature = "replay")]
        let host = Some(host);
        new_output(StreamId::STDOUT, host)
    }
}

impl stderr::Guest for Interposer {
    fn get_stderr() -> stderr::OutputStream {
        let host = std::rc::Rc::new(host::stderr::get_stderr());
        #[cfg(feature = "replay")]
        let host = Some(host);
        new_output(StreamId::STDERR, host)
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
        let present = rr!(host::terminal_stdin::get_terminal_stdin().is_some()
            => |v| Event::TerminalStdin(v);
            replay Call::TerminalStdin, Event::TerminalStdin(v) => v);
        present.then(|| terminal_input::TerminalInput::new(TerminalInput))
    }
}

impl terminal_stdout::Guest for Interposer {
    fn get_terminal_stdout() -> Option<terminal_stdout::TerminalOutput> {
        let present = rr!(host::terminal_stdout::get_terminal_stdout().is_some()
            => |v| Event::TerminalStdout(v);
            replay Call::TerminalStdout, Event::TerminalStdout(v) => v);
        present.then(|| terminal_output::TerminalOutput::new(TerminalOutput))
    }
}

impl terminal_stderr::Guest for Interposer {
    fn get_terminal_stderr() -> Option<terminal_stderr::TerminalOutput> {
        let present = rr!(host::terminal_stderr::get_terminal_stderr().is_some()
            => |v| Event::TerminalStderr(v);
            replay Call::TerminalStderr, Event::TerminalStderr(v) => v);
        present.then(|| terminal_output::TerminalOutput::new(TerminalOutput))
    }
}

impl control::Guest for Interposer {
    fn run_starting() {
        crate::rr::start();
    }

    fn run_returned(status: Result<(), ()>) -> Result<(), ()> {
        let s = Status::from(status);
        rr!(() => |v| Event::RunReturned(s);
            replay Call::RunReturned(s), Event::RunReturned(_) => ());
        crate::rr::finish();
        status
    }
}
