//! The small components wasm-rr composes around a guest that exports
//! `wasi:http/incoming-handler` (a `wasi:http/proxy` server), one per feature:
//! - `mailbox` (world `http-mailbox`): holds the host's incoming request and response outparam
//!   from the handler wrapper until the recording interposer takes them;
//! - `wrapper` (world `handler-wrapper`): the recording component's `incoming-handler` export:
//!   leaves the host's request in the mailbox, asks the interposer for its own wrapping of it
//!   (`wasm-rr:http/entry.start`, which opens the request's trace), calls the guest's handler,
//!   and tells the interposer it returned (`finish`, which writes the trace out);
//! - `driver` (world `serve-replay`): the self-replaying component's `wasi:cli/run`: gets the
//!   recorded request from the replaying interposer, calls the guest's handler, and lets the
//!   interposer check that it returned.
//!
//! They are `no_std`, so that they import nothing but what their worlds say.

#![cfg_attr(target_arch = "wasm32", no_std)]

#[cfg(feature = "mailbox")]
mod component {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "wasm-rr:interposer/http-mailbox",
        generate_all,
    });

    use core::cell::RefCell;
    use exports::wasm_rr::http::mailbox::Guest;
    use wasi::http::types::{IncomingRequest, ResponseOutparam};

    struct Mailbox;

    struct Slot(RefCell<Option<(IncomingRequest, ResponseOutparam)>>);
    // A component instance is single-threaded.
    unsafe impl Sync for Slot {}
    static SLOT: Slot = Slot(RefCell::new(None));

    impl Guest for Mailbox {
        fn put(request: IncomingRequest, response_out: ResponseOutparam) {
            *SLOT.0.borrow_mut() = Some((request, response_out));
        }

        fn take() -> (IncomingRequest, ResponseOutparam) {
            match SLOT.0.borrow_mut().take() {
                Some(v) => v,
                None => core::arch::wasm32::unreachable(),
            }
        }
    }

    export!(Mailbox);
}

#[cfg(feature = "wrapper")]
mod component {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "wasm-rr:interposer/handler-wrapper",
        generate_all,
    });

    use exports::wasi::http::incoming_handler::Guest;
    use wasi::http::types::{IncomingRequest, ResponseOutparam};
    use wasm_rr::handler::{entry, guest_handler};
    use wasm_rr::http::mailbox;

    struct Wrapper;

    impl Guest for Wrapper {
        fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
            mailbox::put(request, response_out);
            let (request, response_out) = entry::start();
            guest_handler::handle(request, response_out);
            entry::finish();
        }
    }

    export!(Wrapper);
}

#[cfg(feature = "driver")]
mod component {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "wasm-rr:interposer/serve-replay",
        generate_all,
    });

    use exports::wasi::cli::run::Guest;
    use wasm_rr::handler::{entry, guest_handler};

    struct Driver;

    impl Guest for Driver {
        fn run() -> Result<(), ()> {
            let (request, response_out) = entry::start();
            guest_handler::handle(request, response_out);
            entry::finish();
            Ok(())
        }
    }

    export!(Driver);
}

// The no_std runtime: no allocator, trap on panic.
use wasm_rr_bare as _;
