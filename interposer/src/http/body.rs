//! Bodies (`incoming-body`, `outgoing-body`), their streams and trailers (`future-trailers`),
//! and `future-incoming-response`. A body's stream is the interposer's own `wasi:io` stream,
//! numbered like every stream and a child of the body; a future's pollables are its children.

use super::children::Children;
use super::{Fields, Host, IncomingResponse, as_parent, created, hostc, live, made, take, wit};
use crate::exports::wasi::http::types as api;
use crate::exports::wasi::io::poll::Pollable;
use crate::exports::wasi::io::streams::{InputStream, OutputStream};
use crate::io::poll::new_pollable;
use crate::io::streams::{keep_stream, mark_network, new_child_input, new_child_output};
use crate::rr::{self, Live};
use crate::wasi::http::types as host;
use std::rc::Rc;
use wasm_rr_trace::StreamId;
use wasm_rr_trace::http::{self as ev, FutureAnswer};

/// The guard that makes a body's stream `id` a child of the body (`children`, whose host
/// resource is `host`); marks the stream as a network stream (flushed around like stdio).
fn body_child<T: 'static>(
    id: StreamId,
    host: &Host<T>,
    children: &Children,
) -> Option<Rc<dyn std::any::Any>> {
    mark_network(id);
    children.child(as_parent(host))
}

/// The exported `incoming-body` resource.
pub struct IncomingBody {
    /// First, so that it checks before anything else is dropped.
    children: Children,
    id: u32,
    host: Host<host::IncomingBody>,
}

impl IncomingBody {
    /// The body numbered `id`, made by the call just recorded.
    pub(super) fn resource(id: u32) -> api::IncomingBody {
        api::IncomingBody::new(IncomingBody {
            children: Children::of("an incoming-body"),
            id,
            host: created(),
        })
    }
}

impl api::GuestIncomingBody for IncomingBody {
    fn stream(&self) -> Result<InputStream, ()> {
        let id = rr::call(ev::IncomingStream { body: self.id }, || {
            live(&self.host).stream().map(keep_stream)
        })?;
        let stream = Live::created().into_option();
        Ok(new_child_input(
            id,
            stream,
            body_child(id, &self.host, &self.children),
        ))
    }

    fn finish(this: api::IncomingBody) -> api::FutureTrailers {
        let mut body = this.into_inner::<IncomingBody>();
        body.children.check();
        let id = rr::call(ev::FinishIncoming { body: body.id }, || {
            made(host::IncomingBody::finish(take(&mut body.host)))
        });
        api::FutureTrailers::new(FutureTrailers {
            children: Children::of("a future-trailers"),
            id,
            host: created(),
        })
    }
}

/// A pollable that is a child of `children`'s resource, whose host resource is `host`:
/// `subscribe` makes the host's pollable (recording).
fn child_pollable<T: 'static>(
    host: &Host<T>,
    children: &Children,
    subscribe: impl FnOnce(&T) -> crate::wasi::io::poll::Pollable,
) -> Pollable {
    new_pollable(
        rr::live(|| subscribe(live(host))),
        children.child(as_parent(host)),
    )
}

/// Recording: a host future's `get` as recorded; `made` numbers the value.
fn future_answer<T, U>(
    r: Option<Result<Result<T, host::ErrorCode>, ()>>,
    made: impl FnOnce(T) -> U,
) -> FutureAnswer<U> {
    r.map(|r| r.map(|r| r.map(made).map_err(hostc::error_from)))
}

/// A future's recorded `get` answer for the guest: `wrap` makes the value's resource.
fn future_result<T, U>(
    answer: FutureAnswer<T>,
    wrap: impl FnOnce(T) -> U,
) -> Option<Result<Result<U, api::ErrorCode>, ()>> {
    answer.map(|r| r.map(|r| r.map(wrap).map_err(wit::error_to)))
}

/// The exported `future-trailers` resource.
pub struct FutureTrailers {
    /// First, so that it checks before anything else is dropped.
    children: Children,
    id: u32,
    host: Host<host::FutureTrailers>,
}

impl api::GuestFutureTrailers for FutureTrailers {
    fn subscribe(&self) -> Pollable {
        child_pollable(&self.host, &self.children, |h| h.subscribe())
    }

    fn get(&self) -> Option<Result<Result<Option<api::Fields>, api::ErrorCode>, ()>> {
        let answer = rr::call(ev::TrailersGet { trailers: self.id }, || {
            future_answer(live(&self.host).get(), |t| t.map(made))
        });
        future_result(answer, |t| t.map(Fields::resource))
    }
}

/// The exported `outgoing-body` resource.
pub struct OutgoingBody {
    /// First, so that it checks before anything else is dropped.
    children: Children,
    id: u32,
    host: Host<host::OutgoingBody>,
    /// A response's body (not a request's): replaying, its bytes go to stdout.
    response: bool,
}

impl OutgoingBody {
    /// The body numbered `id`, made by the call just recorded; `response`: a response's.
    pub(super) fn resource(id: u32, response: bool) -> api::OutgoingBody {
        api::OutgoingBody::new(OutgoingBody {
            children: Children::of("an outgoing-body"),
            id,
            host: created(),
            response,
        })
    }
}

impl api::GuestOutgoingBody for OutgoingBody {
    fn write(&self) -> Result<OutputStream, ()> {
        let id = rr::call(ev::OutgoingStream { body: self.id }, || {
            live(&self.host).write().map(keep_stream)
        })?;
        // Replaying, a response's body goes to stdout (see `ResponseOutparam::set`).
        let stream = if rr::REPLAYING {
            self.response
                .then(|| Rc::new(crate::wasi::cli::stdout::get_stdout()))
        } else {
            Live::created().into_option()
        };
        Ok(new_child_output(
            id,
            stream,
            body_child(id, &self.host, &self.children),
        ))
    }

    fn finish(
        this: api::OutgoingBody,
        trailers: Option<api::Fields>,
    ) -> Result<(), api::ErrorCode> {
        let mut body = this.into_inner::<OutgoingBody>();
        body.children.check();
        let mut trailers = trailers.map(|t| t.into_inner::<Fields>());
        let call = ev::FinishOutgoing {
            body: body.id,
            trailers: trailers.as_ref().map(|t| t.id),
        };
        rr::call(call, || {
            host::OutgoingBody::finish(
                take(&mut body.host),
                trailers.as_mut().map(|t| take(&mut t.host)),
            )
            .map_err(hostc::error_from)
        })
        .map_err(wit::error_to)
    }
}

/// The exported `future-incoming-response` resource.
pub struct FutureIncomingResponse {
    /// First, so that it checks before anything else is dropped.
    children: Children,
    id: u32,
    host: Host<host::FutureIncomingResponse>,
}

impl FutureIncomingResponse {
    /// The future numbered `id`, made by the call just recorded.
    pub(super) fn resource(id: u32) -> api::FutureIncomingResponse {
        api::FutureIncomingResponse::new(FutureIncomingResponse {
            children: Children::of("a future-incoming-response"),
            id,
            host: created(),
        })
    }
}

impl api::GuestFutureIncomingResponse for FutureIncomingResponse {
    fn subscribe(&self) -> Pollable {
        child_pollable(&self.host, &self.children, |h| h.subscribe())
    }

    fn get(&self) -> Option<Result<Result<api::IncomingResponse, api::ErrorCode>, ()>> {
        let answer = rr::call(ev::ResponseGet { future: self.id }, || {
            future_answer(live(&self.host).get(), made)
        });
        future_result(answer, |id| {
            api::IncomingResponse::new(IncomingResponse {
                id,
                host: created(),
            })
        })
    }
}
