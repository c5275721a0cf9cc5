//! `wasi:io/poll`. The recorder's pollables wrap the host's and log which ones `poll` reported
//! ready; the replayer's pollables are virtual and every answer comes from the trace, so replayed
//! waits take no time.

use crate::Interposer;
use crate::exports::wasi::io::poll as api;
#[cfg(not(feature = "replay"))]
use crate::wasi::io::poll as host;
use std::any::Any;
use std::rc::Rc;
#[cfg(feature = "replay")]
use wasm_rr_trace::Call;
use wasm_rr_trace::Event;

/// What a pollable wraps: the host's pollable when recording, nothing when replaying.
#[cfg(not(feature = "replay"))]
pub type HostPollable = host::Pollable;
/// What a pollable wraps: the host's pollable when recording, nothing when replaying.
#[cfg(feature = "replay")]
pub type HostPollable = ();

/// The exported `pollable` resource.
pub struct Pollable {
    #[cfg_attr(feature = "replay", allow(dead_code))]
    host: HostPollable,
    /// The host stream this pollable was subscribed from, kept alive until the pollable is
    /// dropped (fields drop in order: the host pollable first). wasmtime traps when a stream is
    /// dropped before its pollables; with this, a guest that does so behaves the same whether
    /// recording or replaying.
    _parent: Option<Rc<dyn Any>>,
}

/// Wraps a host pollable (or, replaying, nothing) in an exported `pollable`; `parent` is the
/// host resource it was subscribed from, if any.
pub fn new_pollable(host: HostPollable, parent: Option<Rc<dyn Any>>) -> api::Pollable {
    api::Pollable::new(Pollable {
        host,
        _parent: parent,
    })
}

impl api::Guest for Interposer {
    type Pollable = Pollable;

    fn poll(in_: Vec<api::PollableBorrow<'_>>) -> Vec<u32> {
        let pollables = in_.len() as u32;
        if pollables == 0 {
            // wasmtime traps on this; trap the same way when replaying.
            crate::rr::guest_error("poll was called with an empty list");
        }
        #[cfg(not(feature = "replay"))]
        let hosts: Vec<&host::Pollable> = in_.iter().map(|p| &p.get::<Pollable>().host).collect();
        rr!({ crate::rr::flush(); host::poll(&hosts) } => |ready| Event::Poll { pollables, ready: ready.clone() };
            replay Call::Poll { pollables }, Event::Poll { ready, .. } => ready)
    }
}

impl api::GuestPollable for Pollable {
    fn ready(&self) -> bool {
        rr!(self.host.ready() => |v| Event::PollableReady(v);
            replay Call::PollableReady, Event::PollableReady(v) => v)
    }

    fn block(&self) {
        rr!({ crate::rr::flush(); self.host.block() } => |v| Event::PollableBlock;
            replay Call::PollableBlock, Event::PollableBlock => ())
    }
}
