//! The run wrapper: a tiny component placed between the guest's `wasi:cli/run` export and the
//! host. It tells the interposer (`wasm-rr:rr/control`) when the run starts and when it returns,
//! so that the recorder opens the trace before the guest runs and flushes it when the guest
//! returns without calling `exit`.
//!
//! It is `no_std` so that it imports nothing but those two interfaces.

#![cfg_attr(target_arch = "wasm32", no_std)]

wit_bindgen::generate!({
    path: "../../wit",
    world: "wasm-rr:interposer/run-wrapper",
    generate_all,
});

use wasm_rr::rr::control;

struct Wrapper;

impl exports::wasi::cli::run::Guest for Wrapper {
    fn run() -> Result<(), ()> {
        control::run_starting();
        let status = wasi::cli::run::run();
        control::run_returned(status)
    }
}

export!(Wrapper);

// The no_std runtime: no allocator, trap on panic.
use wasm_rr_bare as _;
