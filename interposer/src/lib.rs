//! The wasm-rr interposer: a component that imports real WASI 0.2.12 from the host and exports
//! the same interfaces to the guest, with its own resources wrapping the host's.
//!
//! One source, built in two modes (see `host/build.rs`), each with and without feature `http`:
//! - the **recorder** forwards every call to the host and logs what came back into the trace,
//!   which it writes to the preopen at guest path `/wasm-rr`;
//! - the **replayer** (feature `replay`) answers every call from the trace that `wasm-rr wrap`
//!   embedded (import `wasm-rr:rr/embedded`), and checks that the guest makes the same calls, in
//!   the same order, with the same arguments. It calls nothing on the host but `wasi:io/*` and
//!   `wasi:cli/stdout`, `stderr` and `exit`.
//!
//! Every WASI method is written once and goes through [`rr::call`], the one record/replay
//! mechanism; `rr` decides the mode. Exported interfaces, one module per WASI subsystem:
//! - [`io`]: `wasi:io/error`, `wasi:io/poll`, `wasi:io/streams`;
//! - [`cli`]: `wasi:cli/environment`, `exit`, `stdin`, `stdout`, `stderr`, the terminals, and
//!   `wasm-rr:rr/control` (called around the guest's `wasi:cli/run`);
//! - [`clocks`]: `wasi:clocks/wall-clock`, `wasi:clocks/monotonic-clock`;
//! - [`random`]: `wasi:random/random`, `insecure`, `insecure-seed`;
//! - [`fs`]: `wasi:filesystem/types`, `wasi:filesystem/preopens`;
//! - [`sockets`]: `wasi:sockets/network`, `instance-network`, `ip-name-lookup`, `tcp`,
//!   `tcp-create-socket`, `udp`, `udp-create-socket`;
//! - [`generic`]: `wasm-rr:rr/generic`, through which the forwarder made at wrap time hands
//!   over the calls of every other interface (recorded from its WIT alone);
//! - `http` (feature `http`, the builds for guests that import `wasi:http`): `wasi:http/types`,
//!   `wasi:http/outgoing-handler`, and `wasm-rr:http/entry` for incoming requests.
//!
//! Each module's events are declared in the module of the same name in `wasm_rr_trace`.

#[cfg(not(feature = "http"))]
wit_bindgen::generate!({
    path: "../wit",
    world: "wasm-rr:interposer/interposer",
    generate_all,
});

#[cfg(feature = "http")]
wit_bindgen::generate!({
    path: "../wit",
    world: "wasm-rr:interposer/interposer-http",
    generate_all,
});

/// Defines `$name`, a conversion between two enums (the trace's and a WIT binding's) whose
/// variants have the same names and no payloads.
macro_rules! enum_conversion {
    ($name:ident: $from:ty => $to:ty; { $($v:ident),* $(,)? }) => {
        #[allow(dead_code)]
        fn $name(x: $from) -> $to {
            type From = $from;
            type To = $to;
            match x { $(From::$v => To::$v,)* }
        }
    };
}

pub mod cli;
pub mod clocks;
pub mod fs;
pub mod generic;
#[cfg(feature = "http")]
pub mod http;
pub mod io;
pub mod random;
pub mod rr;
pub mod sockets;

/// The type that implements every exported interface.
pub struct Interposer;

export!(Interposer);
