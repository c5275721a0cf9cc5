//! `wasi:http/outgoing-handler.handle`, `http-error-code`, and `wasm-rr:http/entry`: the
//! incoming request a `wasi:http/incoming-handler` guest is handed (recording: the host's,
//! taken from the mailbox; replaying: the recorded one) and the end of its handling.

use super::body::FutureIncomingResponse;
use super::{
    IncomingRequest, OutgoingRequest, RequestOptions, ResponseOutparam, created, entries_from,
    hostc, made, take, wit,
};
use crate::Interposer;
use crate::exports::wasi::http::{outgoing_handler, types as api};
use crate::rr;
use crate::wasi::http::{outgoing_handler as host_handler, types as host};
use wasm_rr_trace::http::{self as ev, RequestHead};

/// `http-error-code` of a `wasi:io` error: the host's answer about the host's error (recording).
pub(super) fn http_error_code(err: api::IoErrorBorrow<'_>) -> Option<api::ErrorCode> {
    rr::call(ev::ErrorCodeOf {}, || {
        err.get::<crate::io::error::Error>()
            .host()
            .and_then(host::http_error_code)
            .map(hostc::error_from)
    })
    .map(wit::error_to)
}

/// Recording: the head of a host request, as the host has it.
macro_rules! head_of {
    ($r:expr) => {{
        let r = $r;
        RequestHead {
            method: hostc::method_from(r.method()),
            scheme: r.scheme().map(hostc::scheme_from),
            authority: r.authority(),
            path_with_query: r.path_with_query(),
            headers: entries_from(r.headers().entries()),
        }
    }};
}

impl outgoing_handler::Guest for Interposer {
    fn handle(
        request: api::OutgoingRequest,
        options: Option<api::RequestOptions>,
    ) -> Result<api::FutureIncomingResponse, api::ErrorCode> {
        let mut request = request.into_inner::<OutgoingRequest>();
        let mut options = options.map(|o| o.into_inner::<RequestOptions>());
        let call = ev::Handle {
            request: request.id,
            options: options.as_ref().map(|o| o.id),
        };
        let sent = rr::call(call, || {
            let req = take(&mut request.host);
            let head = head_of!(&req);
            let result = host_handler::handle(req, options.as_mut().map(|o| take(&mut o.host)));
            ev::Sent {
                head: Box::new(head),
                result: result.map(made).map_err(hostc::error_from),
            }
        });
        let id = sent.result.map_err(wit::error_to)?;
        Ok(FutureIncomingResponse::resource(id))
    }
}

impl crate::exports::wasm_rr::http::entry::Guest for Interposer {
    fn start() -> (api::IncomingRequest, api::ResponseOutparam) {
        // Recording, each request gets a trace of its own, opened before anything is recorded.
        if !rr::REPLAYING {
            rr::start_request_trace();
        }
        let incoming = rr::call(ev::Incoming {}, || {
            let (req, out) = crate::wasm_rr::http::mailbox::take();
            ev::IncomingRequest {
                head: Box::new(head_of!(&req)),
                request: made(req),
                outparam: made(out),
            }
        });
        (
            api::IncomingRequest::new(IncomingRequest {
                id: incoming.request,
                host: created(),
            }),
            api::ResponseOutparam::new(ResponseOutparam {
                id: incoming.outparam,
                host: created(),
            }),
        )
    }

    fn finish() {
        rr::call(ev::Handled {}, || ());
        rr::finish();
    }
}
