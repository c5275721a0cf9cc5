//! `wasi:io/poll`. Recording, the interposer's pollables wrap the host's and `poll` records
//! which of them the host reported ready; replaying, pollables wrap nothing and every answer
//! comes from the trace, so replayed waits take no time.

use crate::exports::wasi::io::poll as api;
use crate::wasi::io::poll as host;
use crate::{Interposer, rr};
use std::any::Any;
use std::rc::Rc;
use wasm_rr_trace::poll as ev;

/// The exported `pollable` resource.
pub struct Pollable {
    /// The host's pollable (recording).
    host: Option<host::Pollable>,
    /// The host resource this pollable was subscribed from, kept alive until the pollable is
    /// dropped (fields drop in order: the host pollable first). wasmtime traps when a stream is
    /// dropped before its pollables; with this, a guest that does so behaves the same whether
    /// recording or replaying.
    _parent: Option<Rc<dyn Any>>,
}

/// Wraps a host pollable (recording; `None` replaying) in an exported `pollable`; `parent` is
/// the host resource it was subscribed from, if any.
pub fn new_pollable(host: Option<host::Pollable>, parent: Option<Rc<dyn Any>>) -> api::Pollable {
    api::Pollable::new(Pollable {
        host,
        _parent: parent,
    })
}

impl Pollable {
    /// The host's pollable (recording only).
    fn host(&self) -> &host::Pollable {
        self.host
            .as_ref()
            .expect("a recorded pollable wraps the host's")
    }
}

impl api::Guest for Interposer {
    type Pollable = Pollable;

    fn poll(in_: Vec<api::PollableBorrow<'_>>) -> Vec<u32> {
        let pollables = in_.len() as u32;
        if pollables == 0 {
            // wasmtime traps on this; trap the same way when replaying.
            rr::guest_error("poll was called with an empty list");
        }
        rr::call(ev::Poll { pollables }, || {
            // The host may wait for long: the trace must hold everything before.
            rr::flush();
            let hosts: Vec<&host::Pollable> =
                in_.iter().map(|p| p.get::<Pollable>().host()).collect();
            host::poll(&hosts)
        })
    }
}

impl api::GuestPollable for Pollable {
    fn ready(&self) -> bool {
        rr::call(ev::PollableReady {}, || self.host().ready())
    }

    fn block(&self) {
        rr::call(ev::PollableBlock {}, || {
            rr::flush();
            self.host().block()
        })
    }
}
