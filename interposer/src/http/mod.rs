//! `wasi:http`: `types` and `outgoing-handler` (built with feature `http`, for guests that
//! import `wasi:http`), and `wasm-rr:http/entry`, through which incoming requests reach a
//! handler.
//!
//! Every `wasi:http` resource is the interposer's own, carrying its number in the trace (see
//! `wasm_rr_trace::http`) and, recording, the host's resource. Every method is one event:
//! recording, the interposer calls the host and records the call with its answer; replaying,
//! it checks the call (header names and values, method, path, authority, scheme, timeouts,
//! status codes) and returns the recorded answer, touching no network. Body streams and every
//! `subscribe` pollable are the interposer's own `wasi:io` resources, so a response body is
//! recorded chunk by chunk as the guest reads it, and a request body as the length and hash of
//! each write.
//!
//! - this module: the resources' common plumbing, `fields`, requests, responses and options;
//! - [`body`]: bodies, their streams and trailers, and `future-incoming-response`;
//! - [`handler`]: `outgoing-handler.handle`, the incoming request, `http-error-code`;
//! - [`children`]: the resource rules wasmtime enforces on bodies and futures;
//! - [`convert`]: conversions between the trace's types and the bindings'.

pub mod body;
pub mod children;
pub mod convert;
pub mod handler;

use crate::Interposer;
use crate::exports::wasi::http::types as api;
use crate::rr::created::{self, Counter};
use crate::rr::{self, Live};
use crate::wasi::http::types as host;
use body::{FutureIncomingResponse, FutureTrailers, IncomingBody, OutgoingBody};
use convert::{hostc, wit};
use std::any::Any;
use std::rc::Rc;
use wasm_rr_trace::Bytes;
use wasm_rr_trace::http::{self as ev, Entries, Timeout};

thread_local! {
    /// Numbers for every `wasi:http` resource, in one count (recording).
    static RESOURCES: Counter = const { Counter::new(0) };
}

/// What a resource wraps: recording, the host's (taken out when the resource is moved into a
/// host call that consumes it); replaying, nothing.
type Host<T> = Live<Option<Rc<T>>>;

/// Recording: keeps a new host resource (for [`created`]) and gives its number.
fn made<T: 'static>(host: T) -> u32 {
    created::put(Rc::new(host), &RESOURCES)
}

/// The host resource the call just recorded made (recording), or nothing (replaying).
fn created<T: 'static>() -> Host<T> {
    Live::new(|| Some(created::take()))
}

/// The host resource to call (recording only).
fn live<T>(host: &Host<T>) -> &T {
    host.get().as_deref().expect("the host resource is here")
}

/// Recording: the host resource, moved out of the interposer's (for a host call that takes
/// it). Traps if something still holds it, which [`children::Children`] rules out.
fn take<T>(host: &mut Host<T>) -> T {
    let rc = host
        .get_mut()
        .take()
        .expect("a host resource is moved once");
    Rc::try_unwrap(rc)
        .unwrap_or_else(|_| rr::guest_error("a wasi:http resource still has children"))
}

/// The host resource as the parent of a child (recording), or nothing (replaying).
fn as_parent<T: 'static>(host: &Host<T>) -> Option<Rc<dyn Any>> {
    rr::live(|| host.get().clone().map(|h| h as Rc<dyn Any>)).flatten()
}

fn entries_from(v: Vec<(String, Vec<u8>)>) -> Entries {
    v.into_iter().map(|(n, v)| (n, Bytes(v))).collect()
}

fn entries_to(v: Entries) -> Vec<(String, Vec<u8>)> {
    v.into_iter().map(|(n, v)| (n, v.0)).collect()
}

/// Recording: a host `result<_, header-error>` as recorded.
fn header_result(r: Result<(), host::HeaderError>) -> Result<(), ev::HeaderError> {
    r.map_err(hostc::header_error_from)
}

/// Recording: the number of a new host resource, or the host's refusal.
fn made_or_refused<T: 'static>(r: Result<T, ()>) -> Result<u32, ()> {
    r.map(made)
}

/// The exported `fields` resource (`headers` and `trailers` too).
pub struct Fields {
    id: u32,
    host: Host<host::Fields>,
}

impl Fields {
    /// The exported `fields` numbered `id`, made by the call just recorded.
    fn resource(id: u32) -> api::Fields {
        api::Fields::new(Fields {
            id,
            host: created(),
        })
    }
}

impl api::GuestFields for Fields {
    fn new() -> Fields {
        let id = rr::call(ev::NewFields {}, || made(host::Fields::new()));
        Fields {
            id,
            host: created(),
        }
    }

    fn from_list(entries: Vec<(String, Vec<u8>)>) -> Result<api::Fields, api::HeaderError> {
        let entries = entries_from(entries);
        let call = ev::FieldsFromList {
            entries: entries.clone(),
        };
        rr::call(call, || {
            host::Fields::from_list(&entries_to(entries))
                .map(made)
                .map_err(hostc::header_error_from)
        })
        .map(Fields::resource)
        .map_err(wit::header_error_to)
    }

    fn get(&self, name: String) -> Vec<Vec<u8>> {
        let call = ev::FieldsGet {
            fields: self.id,
            name: name.clone(),
        };
        rr::call(call, || {
            live(&self.host).get(&name).into_iter().map(Bytes).collect()
        })
        .into_iter()
        .map(|b| b.0)
        .collect()
    }

    fn has(&self, name: String) -> bool {
        let call = ev::FieldsHas {
            fields: self.id,
            name: name.clone(),
        };
        rr::call(call, || live(&self.host).has(&name))
    }

    fn set(&self, name: String, value: Vec<Vec<u8>>) -> Result<(), api::HeaderError> {
        let values: Vec<Bytes> = value.into_iter().map(Bytes).collect();
        let call = ev::FieldsSet {
            fields: self.id,
            name: name.clone(),
            values: values.clone(),
        };
        rr::call(call, || {
            let values: Vec<Vec<u8>> = values.into_iter().map(|b| b.0).collect();
            header_result(live(&self.host).set(&name, &values))
        })
        .map_err(wit::header_error_to)
    }

    fn delete(&self, name: String) -> Result<(), api::HeaderError> {
        let call = ev::FieldsDelete {
            fields: self.id,
            name: name.clone(),
        };
        rr::call(call, || header_result(live(&self.host).delete(&name)))
            .map_err(wit::header_error_to)
    }

    fn append(&self, name: String, value: Vec<u8>) -> Result<(), api::HeaderError> {
        let value = Bytes(value);
        let call = ev::FieldsAppend {
            fields: self.id,
            name: name.clone(),
            value: value.clone(),
        };
        rr::call(call, || {
            header_result(live(&self.host).append(&name, &value.0))
        })
        .map_err(wit::header_error_to)
    }

    fn entries(&self) -> Vec<(String, Vec<u8>)> {
        entries_to(rr::call(ev::FieldsEntries { fields: self.id }, || {
            entries_from(live(&self.host).entries())
        }))
    }

    fn clone(&self) -> api::Fields {
        Fields::resource(rr::call(ev::FieldsClone { fields: self.id }, || {
            made(live(&self.host).clone())
        }))
    }
}

/// `headers`, of requests and responses.
macro_rules! headers_getter {
    () => {
        fn headers(&self) -> api::Fields {
            Fields::resource(rr::call(ev::GetHeaders { of: self.id }, || {
                made(live(&self.host).headers())
            }))
        }
    };
}

/// `consume`, of `incoming-request` and `incoming-response`.
macro_rules! consume_method {
    () => {
        fn consume(&self) -> Result<api::IncomingBody, ()> {
            let id = rr::call(ev::Consume { of: self.id }, || {
                made_or_refused(live(&self.host).consume())
            })?;
            Ok(IncomingBody::resource(id))
        }
    };
}

/// `body`, of `outgoing-request` and (`$response`) `outgoing-response`.
macro_rules! body_method {
    ($response:expr) => {
        fn body(&self) -> Result<api::OutgoingBody, ()> {
            let id = rr::call(ev::Body { of: self.id }, || {
                made_or_refused(live(&self.host).body())
            })?;
            Ok(OutgoingBody::resource(id, $response))
        }
    };
}

/// The methods both request resources have: `method`, `path-with-query`, `scheme`,
/// `authority` and `headers`.
macro_rules! request_getters {
    () => {
        fn method(&self) -> api::Method {
            wit::method_to(rr::call(ev::GetMethod { request: self.id }, || {
                hostc::method_from(live(&self.host).method())
            }))
        }

        fn path_with_query(&self) -> Option<String> {
            rr::call(ev::GetPathWithQuery { request: self.id }, || {
                live(&self.host).path_with_query()
            })
        }

        fn scheme(&self) -> Option<api::Scheme> {
            rr::call(ev::GetScheme { request: self.id }, || {
                live(&self.host).scheme().map(hostc::scheme_from)
            })
            .map(wit::scheme_to)
        }

        fn authority(&self) -> Option<String> {
            rr::call(ev::GetAuthority { request: self.id }, || {
                live(&self.host).authority()
            })
        }

        headers_getter!();
    };
}

/// The exported `incoming-request` resource.
pub struct IncomingRequest {
    id: u32,
    host: Host<host::IncomingRequest>,
}

impl api::GuestIncomingRequest for IncomingRequest {
    request_getters!();

    consume_method!();
}

/// The exported `outgoing-request` resource.
pub struct OutgoingRequest {
    id: u32,
    host: Host<host::OutgoingRequest>,
}

impl api::GuestOutgoingRequest for OutgoingRequest {
    request_getters!();

    fn new(headers: api::Fields) -> OutgoingRequest {
        let mut headers = headers.into_inner::<Fields>();
        let id = rr::call(
            ev::NewRequest {
                headers: headers.id,
            },
            || made(host::OutgoingRequest::new(take(&mut headers.host))),
        );
        OutgoingRequest {
            id,
            host: created(),
        }
    }

    body_method!(false);

    fn set_method(&self, method: api::Method) -> Result<(), ()> {
        let method = wit::method_from(method);
        let call = ev::SetMethod {
            request: self.id,
            method: method.clone(),
        };
        rr::call(call, || {
            live(&self.host).set_method(&hostc::method_to(method))
        })
    }

    fn set_path_with_query(&self, path: Option<String>) -> Result<(), ()> {
        let call = ev::SetPathWithQuery {
            request: self.id,
            path: path.clone(),
        };
        rr::call(call, || {
            live(&self.host).set_path_with_query(path.as_deref())
        })
    }

    fn set_scheme(&self, scheme: Option<api::Scheme>) -> Result<(), ()> {
        let scheme = scheme.map(wit::scheme_from);
        let call = ev::SetScheme {
            request: self.id,
            scheme: scheme.clone(),
        };
        rr::call(call, || {
            live(&self.host).set_scheme(scheme.map(hostc::scheme_to).as_ref())
        })
    }

    fn set_authority(&self, authority: Option<String>) -> Result<(), ()> {
        let call = ev::SetAuthority {
            request: self.id,
            authority: authority.clone(),
        };
        rr::call(call, || {
            live(&self.host).set_authority(authority.as_deref())
        })
    }
}

/// The exported `request-options` resource.
pub struct RequestOptions {
    id: u32,
    host: Host<host::RequestOptions>,
}

impl RequestOptions {
    fn timeout(&self, which: Timeout) -> Option<u64> {
        let call = ev::GetTimeout {
            options: self.id,
            which,
        };
        rr::call(call, || {
            let h = live(&self.host);
            match which {
                Timeout::Connect => h.connect_timeout(),
                Timeout::FirstByte => h.first_byte_timeout(),
                Timeout::BetweenBytes => h.between_bytes_timeout(),
            }
        })
    }

    fn set_timeout(&self, which: Timeout, duration: Option<u64>) -> Result<(), ()> {
        let call = ev::SetTimeout {
            options: self.id,
            which,
            duration,
        };
        rr::call(call, || {
            let h = live(&self.host);
            match which {
                Timeout::Connect => h.set_connect_timeout(duration),
                Timeout::FirstByte => h.set_first_byte_timeout(duration),
                Timeout::BetweenBytes => h.set_between_bytes_timeout(duration),
            }
        })
    }
}

impl api::GuestRequestOptions for RequestOptions {
    fn new() -> RequestOptions {
        let id = rr::call(ev::NewOptions {}, || made(host::RequestOptions::new()));
        RequestOptions {
            id,
            host: created(),
        }
    }

    fn connect_timeout(&self) -> Option<u64> {
        self.timeout(Timeout::Connect)
    }

    fn set_connect_timeout(&self, duration: Option<u64>) -> Result<(), ()> {
        self.set_timeout(Timeout::Connect, duration)
    }

    fn first_byte_timeout(&self) -> Option<u64> {
        self.timeout(Timeout::FirstByte)
    }

    fn set_first_byte_timeout(&self, duration: Option<u64>) -> Result<(), ()> {
        self.set_timeout(Timeout::FirstByte, duration)
    }

    fn between_bytes_timeout(&self) -> Option<u64> {
        self.timeout(Timeout::BetweenBytes)
    }

    fn set_between_bytes_timeout(&self, duration: Option<u64>) -> Result<(), ()> {
        self.set_timeout(Timeout::BetweenBytes, duration)
    }
}

/// The exported `response-outparam` resource.
pub struct ResponseOutparam {
    id: u32,
    host: Host<host::ResponseOutparam>,
}

impl api::GuestResponseOutparam for ResponseOutparam {
    fn set(param: api::ResponseOutparam, response: Result<api::OutgoingResponse, api::ErrorCode>) {
        let mut param = param.into_inner::<ResponseOutparam>();
        let mut response = response
            .map(|r| r.into_inner::<OutgoingResponse>())
            .map_err(wit::error_from);
        let call = ev::SetResponse {
            outparam: param.id,
            response: response.as_ref().map(|r| r.id).map_err(Clone::clone),
        };
        let head = rr::call(call, || {
            let (r, head) = match &mut response {
                Ok(r) => {
                    let host = take(&mut r.host);
                    let head = ev::ResponseHead {
                        status: host.status_code(),
                        headers: entries_from(host.headers().entries()),
                    };
                    (Ok(host), Some(head))
                }
                Err(e) => (Err(hostc::error_to(e.clone())), None),
            };
            host::ResponseOutparam::set(take(&mut param.host), r);
            head
        });
        // Replaying a request trace, the response goes to stdout: the head here, the body as
        // the guest writes it (see `OutgoingBody::write`).
        if let (true, Some(head)) = (rr::REPLAYING, head) {
            print_head(&head);
        }
    }
}

/// Replaying: prints a response's head to the host's stdout, as HTTP/1.1 would show it.
fn print_head(head: &ev::ResponseHead) {
    let mut text = format!("HTTP/1.1 {}\n", head.status).into_bytes();
    for (n, v) in &head.headers {
        text.extend_from_slice(n.as_bytes());
        text.extend_from_slice(b": ");
        text.extend_from_slice(&v.0);
        text.push(b'\n');
    }
    text.push(b'\n');
    let out = crate::wasi::cli::stdout::get_stdout();
    for chunk in text.chunks(4096) {
        let _ = out.blocking_write_and_flush(chunk);
    }
}

/// The exported `incoming-response` resource.
pub struct IncomingResponse {
    id: u32,
    host: Host<host::IncomingResponse>,
}

impl api::GuestIncomingResponse for IncomingResponse {
    fn status(&self) -> u16 {
        rr::call(ev::GetStatus { response: self.id }, || {
            live(&self.host).status()
        })
    }

    headers_getter!();

    consume_method!();
}

/// The exported `outgoing-response` resource.
pub struct OutgoingResponse {
    id: u32,
    host: Host<host::OutgoingResponse>,
}

impl api::GuestOutgoingResponse for OutgoingResponse {
    fn new(headers: api::Fields) -> OutgoingResponse {
        let mut headers = headers.into_inner::<Fields>();
        let id = rr::call(
            ev::NewResponse {
                headers: headers.id,
            },
            || made(host::OutgoingResponse::new(take(&mut headers.host))),
        );
        OutgoingResponse {
            id,
            host: created(),
        }
    }

    fn status_code(&self) -> u16 {
        rr::call(ev::GetStatus { response: self.id }, || {
            live(&self.host).status_code()
        })
    }

    fn set_status_code(&self, status: u16) -> Result<(), ()> {
        let call = ev::SetStatus {
            response: self.id,
            status,
        };
        rr::call(call, || live(&self.host).set_status_code(status))
    }

    headers_getter!();

    body_method!(true);
}

impl api::Guest for Interposer {
    type Fields = Fields;
    type IncomingRequest = IncomingRequest;
    type OutgoingRequest = OutgoingRequest;
    type RequestOptions = RequestOptions;
    type ResponseOutparam = ResponseOutparam;
    type IncomingResponse = IncomingResponse;
    type IncomingBody = IncomingBody;
    type FutureTrailers = FutureTrailers;
    type OutgoingResponse = OutgoingResponse;
    type OutgoingBody = OutgoingBody;
    type FutureIncomingResponse = FutureIncomingResponse;

    fn http_error_code(err: api::IoErrorBorrow<'_>) -> Option<api::ErrorCode> {
        handler::http_error_code(err)
    }
}
