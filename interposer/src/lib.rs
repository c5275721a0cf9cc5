//! The wasm-rr interposer: a component that imports real WASI 0.2.12 from the host and exports
//! the same interfaces to the guest, with its own resources wrapping the host's.
//!
//! It is built four times (see `host/build.rs`), with and without feature `http`:
//! - the **recorder** (default features) forwards every call to the host and logs what came
//!   back into the trace, which it writes to the preopen at guest path `/wasm-rr`;
//! - the **replayer** (feature `replay`) answers every call from the trace that `wasm-rr wrap`
//!   embedded (import `wasm-rr:rr/embedded`), and checks that the guest makes the same calls, in
//!   the same order, with the same arguments. It imports only `wasi:io/*` and
//!   `wasi:cli/stdout`, `stderr` and `exit` from the host.
//!
//! Exported interfaces, one module per WASI subsystem:
//! - [`io`]: `wasi:io/error`, `wasi:io/poll`, `wasi:io/streams`;
//! - [`cli`]: `wasi:cli/environment`, `exit`, `stdin`, `stdout`, `stderr`, `terminal-input`,
//!   `terminal-output`, `terminal-stdin`, `terminal-stdout`, `terminal-stderr`, and
//!   `wasm-rr:rr/control` (called around the guest's `wasi:cli/run`);
//! - [`clocks`]: `wasi:clocks/wall-clock`, `wasi:clocks/monotonic-clock`;
//! - [`random`]: `wasi:random/random`, `insecure`, `insecure-seed`;
//! - [`fs`]: `wasi:filesystem/types`, `wasi:filesystem/preopens`;
//! - [`sockets`]: `wasi:sockets/network`, `instance-network`, `ip-name-lookup`, `tcp`,
//!   `tcp-create-socket`, `udp`, `udp-create-socket`;
//! - `http` (feature `http`, the builds for guests that import `wasi:http`): `wasi:http/types`,
//!   `wasi:http/outgoing-handler`.
//!
//! [`rr`] holds the trace: the recorder's buffer and file, the replayer's cursor.

// Replaying, a pollable wraps `()`, and `rr!` hands that unit value on.
#![cfg_attr(feature = "replay", allow(clippy::unit_arg))]

#[cfg(all(not(feature = "replay"), not(feature = "http")))]
wit_bindgen::generate!({
    path: "../wit",
    world: "wasm-rr:interposer/interposer",
    generate_all,
});

#[cfg(all(not(feature = "replay"), feature = "http"))]
wit_bindgen::generate!({
    path: "../wit",
    world: "wasm-rr:interposer/interposer-http",
    generate_all,
});

#[cfg(all(feature = "replay", not(feature = "http")))]
wit_bindgen::generate!({
    path: "../wit",
    world: "wasm-rr:interposer/replayer",
    generate_all,
});

#[cfg(all(feature = "replay", feature = "http"))]
wit_bindgen::generate!({
    path: "../wit",
    world: "wasm-rr:interposer/replayer-http",
    generate_all,
});

/// Logs a live call in the recorder, or answers it from the trace in the replayer.
///
/// `rr!(live => |v| EVENT_FROM_v; replay CALL, PATTERN => VALUE)`
macro_rules! rr {
    ($live:expr => |$v:ident| $event:expr; replay $call:expr, $pat:pat => $out:expr) => {{
        #[cfg(not(feature = "replay"))]
        {
            let $v = $live;
            $crate::rr::log(&$event);
            $v
        }
        #[cfg(feature = "replay")]
        {
            match $crate::rr::next($call) {
                $pat => $out,
                other => $crate::rr::bad_event(other),
            }
        }
    }};
}

pub mod cli;
pub mod clocks;
pub mod fs;
#[cfg(feature = "http")]
pub mod http;
pub mod io;
pub mod random;
pub mod rr;
pub mod sockets;
#[cfg(not(feature = "replay"))]
mod stash;

/// The type that implements every exported interface.
pub struct Interposer;

export!(Interposer);
