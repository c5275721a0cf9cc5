//! `wasi:http`: `types` and `outgoing-handler` (built with feature `http`, for guests that
//! import `wasi:http`).
//!
//! Every `wasi:http` resource is the interposer's own, carrying its number in the trace (see
//! `wasm_rr_trace::http`) and, when recording, the host's resource. Every method is one event:
//! the recorder calls the host and logs the call with its answer; the replayer checks the call
//! (header names and values, method, path, authority, scheme, timeouts, status codes) and
//! returns the recorded answer, touching no network. Body streams and every `subscribe`
//! pollable are the interposer's own `wasi:io` resources, so a response body is recorded chunk
//! by chunk as the guest reads it, and a request body as the length and hash of each write.
//!
//! Resource rules hold in both modes, as in wasmtime: a body's stream and a future's pollables
//! are its children, and dropping or finishing the parent while one is alive traps.

use crate::Interposer;
use crate::exports::wasi::http::{outgoing_handler, types as api};
use crate::exports::wasi::io::poll::Pollable;
use crate::exports::wasi::io::streams::{InputStream, OutputStream};
use crate::io::poll::new_pollable;
use crate::io::streams::{mark_network, new_child_input, new_child_output};
#[cfg(not(feature = "replay"))]
use crate::wasi::http::{outgoing_handler as host_handler, types as host};
use std::any::Any;
use std::cell::Cell;
use std::rc::Rc;
#[cfg(not(feature = "replay"))]
use wasm_rr_trace::http::HttpEvent;
#[cfg(not(feature = "replay"))]
use wasm_rr_trace::http::RequestHead;
use wasm_rr_trace::http::{Entries, HttpAnswer, HttpCall, Timeout};
use wasm_rr_trace::{Bytes, Event};

/// Converts `method`, `scheme`, `header-error` and `error-code` between the trace and one set
/// of WIT bindings (the exported one, or the host's): a module with `method_from`,
/// `method_to`, `scheme_from`, `scheme_to`, `header_error_from`, `header_error_to`,
/// `error_from` and `error_to`.
macro_rules! http_conversions {
    ($module:ident, $($m:tt)*) => {
        #[allow(dead_code)]
        mod $module {
            use wasm_rr_trace::http::{self as tr, HeaderError, Method, Scheme};
            use $($m)* as n;

            pub fn method_from(m: n::Method) -> Method {
                match m {
                    n::Method::Get => Method::Get,
                    n::Method::Head => Method::Head,
                    n::Method::Post => Method::Post,
                    n::Method::Put => Method::Put,
                    n::Method::Delete => Method::Delete,
                    n::Method::Connect => Method::Connect,
                    n::Method::Options => Method::Options,
                    n::Method::Trace => Method::Trace,
                    n::Method::Patch => Method::Patch,
                    n::Method::Other(s) => Method::Other(s),
                }
            }

            pub fn method_to(m: Method) -> n::Method {
                match m {
                    Method::Get => n::Method::Get,
                    Method::Head => n::Method::Head,
                    Method::Post => n::Method::Post,
                    Method::Put => n::Method::Put,
                    Method::Delete => n::Method::Delete,
                    Method::Connect => n::Method::Connect,
                    Method::Options => n::Method::Options,
                    Method::Trace => n::Method::Trace,
                    Method::Patch => n::Method::Patch,
                    Method::Other(s) => n::Method::Other(s),
                }
            }

            pub fn scheme_from(s: n::Scheme) -> Scheme {
                match s {
                    n::Scheme::Http => Scheme::Http,
                    n::Scheme::Https => Scheme::Https,
                    n::Scheme::Other(s) => Scheme::Other(s),
                }
            }

            pub fn scheme_to(s: Scheme) -> n::Scheme {
                match s {
                    Scheme::Http => n::Scheme::Http,
                    Scheme::Https => n::Scheme::Https,
                    Scheme::Other(s) => n::Scheme::Other(s),
                }
            }

            pub fn header_error_from(e: n::HeaderError) -> HeaderError {
                match e {
                    n::HeaderError::InvalidSyntax => HeaderError::InvalidSyntax,
                    n::HeaderError::Forbidden => HeaderError::Forbidden,
                    n::HeaderError::Immutable => HeaderError::Immutable,
                }
            }

            pub fn header_error_to(e: HeaderError) -> n::HeaderError {
                match e {
                    HeaderError::InvalidSyntax => n::HeaderError::InvalidSyntax,
                    HeaderError::Forbidden => n::HeaderError::Forbidden,
                    HeaderError::Immutable => n::HeaderError::Immutable,
                }
            }

            http_conversions!(@errors error_from: n => tr);
            http_conversions!(@errors error_to: tr => n);
        }
    };
    (@errors $name:ident: $f:ident => $t:ident) => {
        pub fn $name(e: $f::ErrorCode) -> $t::ErrorCode {
            use $f as f;
            use $t as t;
            let size = |p: f::FieldSizePayload| t::FieldSizePayload {
                field_name: p.field_name,
                field_size: p.field_size,
            };
            http_conversions!(@match e, f, t, size;
                unit: DnsTimeout, DestinationNotFound, DestinationUnavailable,
                    DestinationIpProhibited, DestinationIpUnroutable, ConnectionRefused,
                    ConnectionTerminated, ConnectionTimeout, ConnectionReadTimeout,
                    ConnectionWriteTimeout, ConnectionLimitReached, TlsProtocolError,
                    TlsCertificateError, HttpRequestDenied, HttpRequestLengthRequired,
                    HttpRequestMethodInvalid, HttpRequestUriInvalid, HttpRequestUriTooLong,
                    HttpResponseIncomplete, HttpResponseTimeout, HttpUpgradeFailed,
                    HttpProtocolError, LoopDetected, ConfigurationError;
                same: HttpRequestBodySize, HttpRequestHeaderSectionSize,
                    HttpRequestTrailerSectionSize, HttpResponseHeaderSectionSize,
                    HttpResponseBodySize, HttpResponseTrailerSectionSize,
                    HttpResponseTransferCoding, HttpResponseContentCoding, InternalError;
                size: HttpRequestTrailerSize, HttpResponseHeaderSize, HttpResponseTrailerSize)
        }
    };
    (@match $e:ident, $f:ident, $t:ident, $size:ident;
        unit: $($u:ident),*; same: $($s:ident),*; size: $($z:ident),*) => {
        match $e {
            $($f::ErrorCode::$u => $t::ErrorCode::$u,)*
            $($f::ErrorCode::$s(x) => $t::ErrorCode::$s(x),)*
            $($f::ErrorCode::$z(x) => $t::ErrorCode::$z($size(x)),)*
            $f::ErrorCode::HttpRequestHeaderSize(x) => {
                $t::ErrorCode::HttpRequestHeaderSize(x.map($size))
            }
            $f::ErrorCode::DnsError(p) => $t::ErrorCode::DnsError($t::DnsErrorPayload {
                rcode: p.rcode,
                info_code: p.info_code,
            }),
            $f::ErrorCode::TlsAlertReceived(p) => {
                $t::ErrorCode::TlsAlertReceived($t::TlsAlertReceivedPayload {
                    alert_id: p.alert_id,
                    alert_message: p.alert_message,
                })
            }
        }
    };
}

http_conversions!(wit, crate::exports::wasi::http::types);
#[cfg(not(feature = "replay"))]
http_conversions!(hostc, crate::wasi::http::types);

/// Logs (recording) one call and its answer, and returns the answer.
#[cfg(not(feature = "replay"))]
fn logged(call: HttpCall, answer: HttpAnswer) -> HttpAnswer {
    let event = Event::Http(HttpEvent { call, answer });
    crate::rr::log(&event);
    match event {
        Event::Http(e) => e.answer,
        other => crate::rr::bad_event(other),
    }
}

/// The recorded answer to `call`.
#[cfg(feature = "replay")]
fn replayed(call: HttpCall) -> HttpAnswer {
    match crate::rr::next(wasm_rr_trace::Call::Http(call)) {
        Event::Http(e) => e.answer,
        other => crate::rr::bad_event(other),
    }
}

/// Records or replays one call: `$live` (recording only) calls the host and gives the answer.
macro_rules! http {
    ($call:expr, $live:expr) => {{
        let call: HttpCall = $call;
        #[cfg(not(feature = "replay"))]
        let answer = logged(call, $live);
        #[cfg(feature = "replay")]
        let answer = replayed(call);
        answer
    }};
}

/// The recorded answer has another shape than the call's (a damaged trace).
fn wrong(answer: HttpAnswer) -> ! {
    crate::rr::fatal(&format!(
        "the trace answers an HTTP call with `{answer}`, which does not fit it: the trace is damaged"
    ))
}

/// Recording: the number of the next `wasi:http` resource.
#[cfg(not(feature = "replay"))]
fn next_id() -> u32 {
    thread_local! {
        static NEXT: Cell<u32> = const { Cell::new(0) };
    }
    NEXT.with(|n| {
        let v = n.get();
        n.set(v + 1);
        v
    })
}

/// Recording: keeps a new host resource for [`created`] and gives its number.
#[cfg(not(feature = "replay"))]
fn made<T: 'static>(host: T) -> u32 {
    crate::stash::put(Rc::new(host));
    next_id()
}

/// The host resource the call just answered made (recording), or nothing (replaying).
fn created<T: 'static>() -> Host<T> {
    #[cfg(not(feature = "replay"))]
    return Some(crate::stash::take());
    #[cfg(feature = "replay")]
    None
}

/// What a resource wraps: the host's when recording (taken out when the resource is moved
/// into a host call), nothing when replaying.
#[cfg(not(feature = "replay"))]
type Host<T> = Option<Rc<T>>;
/// What a resource wraps: the host's when recording, nothing when replaying.
#[cfg(feature = "replay")]
type Host<T> = Option<std::marker::PhantomData<T>>;

#[cfg(feature = "replay")]
mod h {
    pub struct Fields;
    pub struct IncomingRequest;
    pub struct OutgoingRequest;
    pub struct RequestOptions;
    pub struct ResponseOutparam;
    pub struct IncomingResponse;
    pub struct IncomingBody;
    pub struct FutureTrailers;
    pub struct OutgoingResponse;
    pub struct OutgoingBody;
    pub struct FutureIncomingResponse;
}
#[cfg(not(feature = "replay"))]
use host as h;

/// Recording: the host resource, moved out of the interposer's (for a host call that takes
/// it). Traps if something still holds it, which [`Children`] rules out.
#[cfg(not(feature = "replay"))]
fn take<T>(host: &mut Host<T>) -> T {
    let rc = host.take().expect("a host resource is moved once");
    Rc::try_unwrap(rc)
        .unwrap_or_else(|_| crate::rr::guest_error("a wasi:http resource still has children"))
}

/// The host resource to call (recording).
#[cfg(not(feature = "replay"))]
fn live<T>(host: &Host<T>) -> &T {
    host.as_deref().expect("the host resource is here")
}

/// The host resource as the parent of a child (recording), or nothing (replaying).
#[allow(unused_variables)]
fn as_parent<T: 'static>(host: &Host<T>) -> Option<Rc<dyn Any>> {
    #[cfg(not(feature = "replay"))]
    return host.clone().map(|h| h as Rc<dyn Any>);
    #[cfg(feature = "replay")]
    None
}

/// The live children (streams, pollables) of a resource. wasmtime traps when a resource is
/// dropped or finished while one is alive ("resource has children"); the interposer traps
/// alike, recording and replaying, before the host would: when the resource is finished
/// ([`Children::check`]) or dropped (the `Drop` of this, the resource's first field).
struct Children {
    live: Rc<Cell<u32>>,
    /// The resource, as the trap's message names it: `an incoming-body`.
    what: &'static str,
}

/// Held by a child: keeps the host parent alive and counts the child in its parent's
/// [`Children`].
struct ChildGuard {
    live: Rc<Cell<u32>>,
    _host: Option<Rc<dyn Any>>,
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.live.set(self.live.get() - 1);
    }
}

impl Children {
    /// No children yet, of the resource `what`.
    fn of(what: &'static str) -> Children {
        Children {
            live: Rc::default(),
            what,
        }
    }

    /// A guard for a new child of the resource whose host resource is `host`.
    fn child(&self, host: Option<Rc<dyn Any>>) -> Option<Rc<dyn Any>> {
        self.live.set(self.live.get() + 1);
        Some(Rc::new(ChildGuard {
            live: self.live.clone(),
            _host: host,
        }))
    }

    /// Traps when a child is alive.
    fn check(&self) {
        if self.live.get() > 0 {
            crate::rr::guest_error(&format!(
                "{} was dropped or finished while its stream or a pollable of it is alive (resource has children)",
                self.what
            ));
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.check();
    }
}

fn entries_from(v: Vec<(String, Vec<u8>)>) -> Entries {
    v.into_iter().map(|(n, v)| (n, Bytes(v))).collect()
}

fn entries_to(v: Entries) -> Vec<(String, Vec<u8>)> {
    v.into_iter().map(|(n, v)| (n, v.0)).collect()
}

/// An answer that is a new resource's number, or `Refused`.
fn resource(answer: HttpAnswer) -> Result<u32, ()> {
    match answer {
        HttpAnswer::Resource(id) => Ok(id),
        HttpAnswer::Refused => Err(()),
        other => wrong(other),
    }
}

/// An answer that is `Done` or `Refused`.
fn done(answer: HttpAnswer) -> Result<(), ()> {
    match answer {
        HttpAnswer::Done => Ok(()),
        HttpAnswer::Refused => Err(()),
        other => wrong(other),
    }
}

/// An answer that is `Done` or a `header-error`.
fn header_result(answer: HttpAnswer) -> Result<(), api::HeaderError> {
    match answer {
        HttpAnswer::Done => Ok(()),
        HttpAnswer::HeaderError(e) => Err(wit::header_error_to(e)),
        other => wrong(other),
    }
}

/// Recording: a host `result<_, header-error>` as an answer.
#[cfg(not(feature = "replay"))]
fn header_answer(r: Result<(), host::HeaderError>) -> HttpAnswer {
    match r {
        Ok(()) => HttpAnswer::Done,
        Err(e) => HttpAnswer::HeaderError(hostc::header_error_from(e)),
    }
}

/// Recording: a host `result` without values as an answer.
#[cfg(not(feature = "replay"))]
fn unit_answer(r: Result<(), ()>) -> HttpAnswer {
    match r {
        Ok(()) => HttpAnswer::Done,
        Err(()) => HttpAnswer::Refused,
    }
}

/// Recording: a new host resource as an answer.
#[cfg(not(feature = "replay"))]
fn made_answer<T: 'static>(r: Result<T, ()>) -> HttpAnswer {
    match r {
        Ok(v) => HttpAnswer::Resource(made(v)),
        Err(()) => HttpAnswer::Refused,
    }
}

/// The number and host resource of the resource an answer says was created.
fn created_resource<T: 'static>(answer: HttpAnswer) -> (u32, Host<T>) {
    match answer {
        HttpAnswer::Resource(id) => (id, created()),
        other => wrong(other),
    }
}

/// The constructor of `outgoing-request` or `outgoing-response` (`Self`), which takes the
/// `headers`: `$call` is the call's `HttpCall` variant, `$host_new` the host's constructor.
macro_rules! new_with_headers {
    ($headers:ident, $call:ident, $host_new:path) => {{
        #[allow(unused_mut)]
        let mut headers = $headers.into_inner::<Fields>();
        let (id, host) = created_resource(http!(
            HttpCall::$call {
                headers: headers.id
            },
            HttpAnswer::Resource(made($host_new(take(&mut headers.host))))
        ));
        Self { id, host }
    }};
}

/// The exported `fields` resource (`headers` and `trailers` too).
pub struct Fields {
    id: u32,
    #[cfg_attr(feature = "replay", allow(dead_code))]
    host: Host<h::Fields>,
}

impl Fields {
    fn resource(id: u32) -> api::Fields {
        api::Fields::new(Fields {
            id,
            host: created(),
        })
    }
}

/// A new `fields` for an answer that is its number.
fn fields(answer: HttpAnswer) -> api::Fields {
    match answer {
        HttpAnswer::Resource(id) => Fields::resource(id),
        other => wrong(other),
    }
}

impl api::GuestFields for Fields {
    fn new() -> Fields {
        let (id, host) = created_resource(http!(
            HttpCall::NewFields,
            HttpAnswer::Resource(made(host::Fields::new()))
        ));
        Fields { id, host }
    }

    fn from_list(entries: Vec<(String, Vec<u8>)>) -> Result<api::Fields, api::HeaderError> {
        let entries = entries_from(entries);
        let answer = http!(
            HttpCall::FieldsFromList(entries.clone()),
            match host::Fields::from_list(&entries_to(entries)) {
                Ok(f) => HttpAnswer::Resource(made(f)),
                Err(e) => HttpAnswer::HeaderError(hostc::header_error_from(e)),
            }
        );
        match answer {
            HttpAnswer::Resource(id) => Ok(Fields::resource(id)),
            HttpAnswer::HeaderError(e) => Err(wit::header_error_to(e)),
            other => wrong(other),
        }
    }

    fn get(&self, name: String) -> Vec<Vec<u8>> {
        let answer = http!(
            HttpCall::FieldsGet {
                fields: self.id,
                name: name.clone()
            },
            HttpAnswer::Values(live(&self.host).get(&name).into_iter().map(Bytes).collect())
        );
        match answer {
            HttpAnswer::Values(v) => v.into_iter().map(|b| b.0).collect(),
            other => wrong(other),
        }
    }

    fn has(&self, name: String) -> bool {
        let answer = http!(
            HttpCall::FieldsHas {
                fields: self.id,
                name: name.clone()
            },
            HttpAnswer::Bool(live(&self.host).has(&name))
        );
        match answer {
            HttpAnswer::Bool(b) => b,
            other => wrong(other),
        }
    }

    fn set(&self, name: String, value: Vec<Vec<u8>>) -> Result<(), api::HeaderError> {
        let values: Vec<Bytes> = value.into_iter().map(Bytes).collect();
        header_result(http!(
            HttpCall::FieldsSet {
                fields: self.id,
                name: name.clone(),
                values: values.clone()
            },
            header_answer(
                live(&self.host).set(&name, &values.into_iter().map(|b| b.0).collect::<Vec<_>>())
            )
        ))
    }

    fn delete(&self, name: String) -> Result<(), api::HeaderError> {
        header_result(http!(
            HttpCall::FieldsDelete {
                fields: self.id,
                name: name.clone()
            },
            header_answer(live(&self.host).delete(&name))
        ))
    }

    fn append(&self, name: String, value: Vec<u8>) -> Result<(), api::HeaderError> {
        let value = Bytes(value);
        header_result(http!(
            HttpCall::FieldsAppend {
                fields: self.id,
                name: name.clone(),
                value: value.clone()
            },
            header_answer(live(&self.host).append(&name, &value.0))
        ))
    }

    fn entries(&self) -> Vec<(String, Vec<u8>)> {
        let answer = http!(
            HttpCall::FieldsEntries(self.id),
            HttpAnswer::Entries(entries_from(live(&self.host).entries()))
        );
        match answer {
            HttpAnswer::Entries(e) => entries_to(e),
            other => wrong(other),
        }
    }

    fn clone(&self) -> api::Fields {
        fields(http!(
            HttpCall::FieldsClone(self.id),
            HttpAnswer::Resource(made(live(&self.host).clone()))
        ))
    }
}

/// The exported `incoming-request` resource.
pub struct IncomingRequest {
    id: u32,
    #[cfg_attr(feature = "replay", allow(dead_code))]
    host: Host<h::IncomingRequest>,
}

impl IncomingRequest {
    /// The incoming request numbered `id` (recording: wrapping `host`).
    pub(crate) fn resource(id: u32, host: Host<h::IncomingRequest>) -> api::IncomingRequest {
        api::IncomingRequest::new(IncomingRequest { id, host })
    }
}

fn method_answer(answer: HttpAnswer) -> api::Method {
    match answer {
        HttpAnswer::Method(m) => wit::method_to(m),
        other => wrong(other),
    }
}

fn text_answer(answer: HttpAnswer) -> Option<String> {
    match answer {
        HttpAnswer::Text(t) => t,
        other => wrong(other),
    }
}

fn scheme_answer(answer: HttpAnswer) -> Option<api::Scheme> {
    match answer {
        HttpAnswer::Scheme(s) => s.map(wit::scheme_to),
        other => wrong(other),
    }
}

/// `headers`, of requests and responses.
macro_rules! headers_getter {
    () => {
        fn headers(&self) -> api::Fields {
            fields(http!(
                HttpCall::Headers(self.id),
                HttpAnswer::Resource(made(live(&self.host).headers()))
            ))
        }
    };
}

/// `consume`, of `incoming-request` and `incoming-response`.
macro_rules! consume_method {
    () => {
        fn consume(&self) -> Result<api::IncomingBody, ()> {
            let id = resource(http!(
                HttpCall::Consume(self.id),
                made_answer(live(&self.host).consume())
            ))?;
            Ok(IncomingBody::resource(id))
        }
    };
}

/// `body`, of `outgoing-request` and (`$response`) `outgoing-response`.
macro_rules! body_method {
    ($response:expr) => {
        fn body(&self) -> Result<api::OutgoingBody, ()> {
            let id = resource(http!(
                HttpCall::Body(self.id),
                made_answer(live(&self.host).body())
            ))?;
            Ok(OutgoingBody::resource(id, $response))
        }
    };
}

/// The methods both request resources have: `method`, `path-with-query`, `scheme`,
/// `authority` and `headers`.
macro_rules! request_getters {
    () => {
        fn method(&self) -> api::Method {
            method_answer(http!(
                HttpCall::Method(self.id),
                HttpAnswer::Method(hostc::method_from(live(&self.host).method()))
            ))
        }

        fn path_with_query(&self) -> Option<String> {
            text_answer(http!(
                HttpCall::PathWithQuery(self.id),
                HttpAnswer::Text(live(&self.host).path_with_query())
            ))
        }

        fn scheme(&self) -> Option<api::Scheme> {
            scheme_answer(http!(
                HttpCall::Scheme(self.id),
                HttpAnswer::Scheme(live(&self.host).scheme().map(hostc::scheme_from))
            ))
        }

        fn authority(&self) -> Option<String> {
            text_answer(http!(
                HttpCall::Authority(self.id),
                HttpAnswer::Text(live(&self.host).authority())
            ))
        }

        headers_getter!();
    };
}

impl api::GuestIncomingRequest for IncomingRequest {
    request_getters!();

    consume_method!();
}

/// The exported `outgoing-request` resource.
pub struct OutgoingRequest {
    id: u32,
    #[cfg_attr(feature = "replay", allow(dead_code))]
    host: Host<h::OutgoingRequest>,
}

impl api::GuestOutgoingRequest for OutgoingRequest {
    request_getters!();

    fn new(headers: api::Fields) -> OutgoingRequest {
        new_with_headers!(headers, NewRequest, host::OutgoingRequest::new)
    }

    body_method!(false);

    fn set_method(&self, method: api::Method) -> Result<(), ()> {
        let method = wit::method_from(method);
        done(http!(
            HttpCall::SetMethod {
                request: self.id,
                method: method.clone()
            },
            unit_answer(live(&self.host).set_method(&hostc::method_to(method)))
        ))
    }

    fn set_path_with_query(&self, path: Option<String>) -> Result<(), ()> {
        done(http!(
            HttpCall::SetPathWithQuery {
                request: self.id,
                path: path.clone()
            },
            unit_answer(live(&self.host).set_path_with_query(path.as_deref()))
        ))
    }

    fn set_scheme(&self, scheme: Option<api::Scheme>) -> Result<(), ()> {
        let scheme = scheme.map(wit::scheme_from);
        done(http!(
            HttpCall::SetScheme {
                request: self.id,
                scheme: scheme.clone()
            },
            unit_answer(live(&self.host).set_scheme(scheme.map(hostc::scheme_to).as_ref()))
        ))
    }

    fn set_authority(&self, authority: Option<String>) -> Result<(), ()> {
        done(http!(
            HttpCall::SetAuthority {
                request: self.id,
                authority: authority.clone()
            },
            unit_answer(live(&self.host).set_authority(authority.as_deref()))
        ))
    }
}

/// The exported `request-options` resource.
pub struct RequestOptions {
    id: u32,
    #[cfg_attr(feature = "replay", allow(dead_code))]
    host: Host<h::RequestOptions>,
}

impl RequestOptions {
    fn timeout(&self, which: Timeout) -> Option<u64> {
        let answer = http!(
            HttpCall::Timeout {
                options: self.id,
                which
            },
            {
                let h = live(&self.host);
                HttpAnswer::Duration(match which {
                    Timeout::Connect => h.connect_timeout(),
                    Timeout::FirstByte => h.first_byte_timeout(),
                    Timeout::BetweenBytes => h.between_bytes_timeout(),
                })
            }
        );
        match answer {
            HttpAnswer::Duration(d) => d,
            other => wrong(other),
        }
    }

    fn set_timeout(&self, which: Timeout, duration: Option<u64>) -> Result<(), ()> {
        done(http!(
            HttpCall::SetTimeout {
                options: self.id,
                which,
                duration
            },
            {
                let h = live(&self.host);
                unit_answer(match which {
                    Timeout::Connect => h.set_connect_timeout(duration),
                    Timeout::FirstByte => h.set_first_byte_timeout(duration),
                    Timeout::BetweenBytes => h.set_between_bytes_timeout(duration),
                })
            }
        ))
    }
}

impl api::GuestRequestOptions for RequestOptions {
    fn new() -> RequestOptions {
        let (id, host) = created_resource(http!(
            HttpCall::NewOptions,
            HttpAnswer::Resource(made(host::RequestOptions::new()))
        ));
        RequestOptions { id, host }
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
    #[cfg_attr(feature = "replay", allow(dead_code))]
    host: Host<h::ResponseOutparam>,
}

impl ResponseOutparam {
    /// The outparam numbered `id` (recording: wrapping `host`).
    pub(crate) fn resource(id: u32, host: Host<h::ResponseOutparam>) -> api::ResponseOutparam {
        api::ResponseOutparam::new(ResponseOutparam { id, host })
    }
}

impl api::GuestResponseOutparam for ResponseOutparam {
    #[allow(unused_mut)]
    fn set(param: api::ResponseOutparam, response: Result<api::OutgoingResponse, api::ErrorCode>) {
        let mut param = param.into_inner::<ResponseOutparam>();
        let mut response = response
            .map(|r| r.into_inner::<OutgoingResponse>())
            .map_err(wit::error_from);
        let call = HttpCall::SetResponse {
            outparam: param.id,
            response: response.as_ref().map(|r| r.id).map_err(Clone::clone),
        };
        let answer = http!(call, {
            let (r, answer) = match &mut response {
                Ok(r) => {
                    let host = take(&mut r.host);
                    let answer = HttpAnswer::Responded {
                        status: host.status_code(),
                        headers: entries_from(host.headers().entries()),
                    };
                    (Ok(host), answer)
                }
                Err(e) => (Err(hostc::error_to(e.clone())), HttpAnswer::Done),
            };
            host::ResponseOutparam::set(take(&mut param.host), r);
            answer
        });
        match answer {
            HttpAnswer::Done => {}
            #[allow(unused_variables)]
            HttpAnswer::Responded { status, headers } => {
                // Replaying a request trace, the response goes to stdout: the head here, the
                // body as the guest writes it (see `OutgoingBody::write`).
                #[cfg(feature = "replay")]
                print_head(status, &headers);
            }
            other => wrong(other),
        }
    }
}

/// Replaying: prints a response's head to the host's stdout, as HTTP/1.1 would show it.
#[cfg(feature = "replay")]
fn print_head(status: u16, headers: &Entries) {
    let mut text = format!("HTTP/1.1 {status}\n").into_bytes();
    for (n, v) in headers {
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
    #[cfg_attr(feature = "replay", allow(dead_code))]
    host: Host<h::IncomingResponse>,
}

fn status_answer(answer: HttpAnswer) -> u16 {
    match answer {
        HttpAnswer::Status(s) => s,
        other => wrong(other),
    }
}

impl api::GuestIncomingResponse for IncomingResponse {
    fn status(&self) -> u16 {
        status_answer(http!(
            HttpCall::Status(self.id),
            HttpAnswer::Status(live(&self.host).status())
        ))
    }

    headers_getter!();

    consume_method!();
}

/// `incoming-body.stream` or `outgoing-body.write` on `$body`: `$method` is the host's method
/// (recording), `$replay_host` what the stream wraps when replaying, and `$new` makes the
/// exported stream, numbered like every stream and a child of the body.
macro_rules! body_stream {
    ($body:ident, $call:expr, $method:ident, $replay_host:expr, $new:path) => {{
        let answer = http!(
            $call,
            match live(&$body.host).$method() {
                Ok(s) => {
                    crate::stash::put(Rc::new(s));
                    HttpAnswer::Stream(crate::io::streams::next_stream_id())
                }
                Err(()) => HttpAnswer::Refused,
            }
        );
        match answer {
            HttpAnswer::Stream(id) => {
                mark_network(id);
                #[cfg(not(feature = "replay"))]
                let host = crate::stash::take();
                #[cfg(feature = "replay")]
                let host = $replay_host;
                let guard = $body.children.child(as_parent(&$body.host));
                Ok($new(id, host, guard))
            }
            HttpAnswer::Refused => Err(()),
            other => wrong(other),
        }
    }};
}

/// The exported `incoming-body` resource.
pub struct IncomingBody {
    /// First, so that it checks before anything else is dropped.
    children: Children,
    id: u32,
    host: Host<h::IncomingBody>,
}

impl IncomingBody {
    fn resource(id: u32) -> api::IncomingBody {
        api::IncomingBody::new(IncomingBody {
            children: Children::of("an incoming-body"),
            id,
            host: created(),
        })
    }
}

impl api::GuestIncomingBody for IncomingBody {
    fn stream(&self) -> Result<InputStream, ()> {
        body_stream!(
            self,
            HttpCall::IncomingStream(self.id),
            stream,
            (),
            new_child_input
        )
    }

    #[allow(unused_mut)]
    fn finish(this: api::IncomingBody) -> api::FutureTrailers {
        let mut body = this.into_inner::<IncomingBody>();
        body.children.check();
        match http!(
            HttpCall::FinishIncoming(body.id),
            HttpAnswer::Resource(made(host::IncomingBody::finish(take(&mut body.host))))
        ) {
            HttpAnswer::Resource(id) => api::FutureTrailers::new(FutureTrailers {
                children: Children::of("a future-trailers"),
                id,
                host: created(),
            }),
            other => wrong(other),
        }
    }
}

/// The exported `future-trailers` resource.
pub struct FutureTrailers {
    /// First, so that it checks before anything else is dropped.
    children: Children,
    id: u32,
    host: Host<h::FutureTrailers>,
}

/// A pollable that is a child of `children`'s resource, whose host resource is `host`.
#[allow(unused_variables)]
fn child_pollable<T: 'static>(
    host: &Host<T>,
    children: &Children,
    #[cfg(not(feature = "replay"))] subscribe: impl FnOnce(&T) -> crate::wasi::io::poll::Pollable,
) -> Pollable {
    #[cfg(not(feature = "replay"))]
    let p = subscribe(live(host));
    #[cfg(feature = "replay")]
    let p = ();
    new_pollable(p, children.child(as_parent(host)))
}

/// Recording: a host future's `get` as an answer: `$made` numbers the value.
#[cfg(not(feature = "replay"))]
fn future_answer<T>(
    r: Option<Result<Result<T, host::ErrorCode>, ()>>,
    made: impl FnOnce(T) -> Option<u32>,
) -> HttpAnswer {
    HttpAnswer::Future(r.map(|r| r.map(|r| r.map(made).map_err(hostc::error_from))))
}

/// A future's recorded `get` answer for the guest: `$wrap` makes the value's resource.
fn future_result<T>(
    answer: HttpAnswer,
    wrap: impl FnOnce(Option<u32>) -> T,
) -> Option<Result<Result<T, api::ErrorCode>, ()>> {
    match answer {
        HttpAnswer::Future(f) => f.map(|r| r.map(|r| r.map(wrap).map_err(wit::error_to))),
        other => wrong(other),
    }
}

impl api::GuestFutureTrailers for FutureTrailers {
    fn subscribe(&self) -> Pollable {
        child_pollable(
            &self.host,
            &self.children,
            #[cfg(not(feature = "replay"))]
            |h| h.subscribe(),
        )
    }

    fn get(&self) -> Option<Result<Result<Option<api::Fields>, api::ErrorCode>, ()>> {
        let answer = http!(
            HttpCall::TrailersGet(self.id),
            future_answer(live(&self.host).get(), |t| t.map(made))
        );
        future_result(answer, |t| t.map(Fields::resource))
    }
}

/// The exported `outgoing-response` resource.
pub struct OutgoingResponse {
    id: u32,
    #[cfg_attr(feature = "replay", allow(dead_code))]
    host: Host<h::OutgoingResponse>,
}

impl api::GuestOutgoingResponse for OutgoingResponse {
    fn new(headers: api::Fields) -> OutgoingResponse {
        new_with_headers!(headers, NewResponse, host::OutgoingResponse::new)
    }

    fn status_code(&self) -> u16 {
        status_answer(http!(
            HttpCall::Status(self.id),
            HttpAnswer::Status(live(&self.host).status_code())
        ))
    }

    fn set_status_code(&self, status: u16) -> Result<(), ()> {
        done(http!(
            HttpCall::SetStatus {
                response: self.id,
                status
            },
            unit_answer(live(&self.host).set_status_code(status))
        ))
    }

    headers_getter!();

    body_method!(true);
}

/// The exported `outgoing-body` resource.
pub struct OutgoingBody {
    /// First, so that it checks before anything else is dropped.
    children: Children,
    id: u32,
    host: Host<h::OutgoingBody>,
    /// A response's body (not a request's): replaying, its bytes go to stdout.
    #[cfg_attr(not(feature = "replay"), allow(dead_code))]
    response: bool,
}

impl OutgoingBody {
    fn resource(id: u32, response: bool) -> api::OutgoingBody {
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
        // Replaying, a response's body goes to stdout (see `ResponseOutparam::set`).
        body_stream!(
            self,
            HttpCall::OutgoingStream(self.id),
            write,
            self.response
                .then(|| Rc::new(crate::wasi::cli::stdout::get_stdout())),
            new_child_output
        )
    }

    #[allow(unused_mut)]
    fn finish(
        this: api::OutgoingBody,
        trailers: Option<api::Fields>,
    ) -> Result<(), api::ErrorCode> {
        let mut body = this.into_inner::<OutgoingBody>();
        body.children.check();
        let mut trailers = trailers.map(|t| t.into_inner::<Fields>());
        let answer = http!(
            HttpCall::FinishOutgoing {
                body: body.id,
                trailers: trailers.as_ref().map(|t| t.id)
            },
            match host::OutgoingBody::finish(
                take(&mut body.host),
                trailers.as_mut().map(|t| take(&mut t.host))
            ) {
                Ok(()) => HttpAnswer::Done,
                Err(e) => HttpAnswer::Error(hostc::error_from(e)),
            }
        );
        match answer {
            HttpAnswer::Done => Ok(()),
            HttpAnswer::Error(e) => Err(wit::error_to(e)),
            other => wrong(other),
        }
    }
}

/// The exported `future-incoming-response` resource.
pub struct FutureIncomingResponse {
    /// First, so that it checks before anything else is dropped.
    children: Children,
    id: u32,
    host: Host<h::FutureIncomingResponse>,
}

impl api::GuestFutureIncomingResponse for FutureIncomingResponse {
    fn subscribe(&self) -> Pollable {
        child_pollable(
            &self.host,
            &self.children,
            #[cfg(not(feature = "replay"))]
            |h| h.subscribe(),
        )
    }

    fn get(&self) -> Option<Result<Result<api::IncomingResponse, api::ErrorCode>, ()>> {
        let answer = http!(
            HttpCall::ResponseGet(self.id),
            future_answer(live(&self.host).get(), |r| Some(made(r)))
        );
        future_result(answer, |id| match id {
            Some(id) => api::IncomingResponse::new(IncomingResponse {
                id,
                host: created(),
            }),
            None => wrong(HttpAnswer::Future(None)),
        })
    }
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
        #[cfg(not(feature = "replay"))]
        let host_err = err.get::<crate::io::error::Error>().host();
        #[cfg(feature = "replay")]
        let _ = err;
        let answer = http!(
            HttpCall::ErrorCodeOf,
            HttpAnswer::ErrorCode(
                host_err
                    .and_then(host::http_error_code)
                    .map(hostc::error_from)
            )
        );
        match answer {
            HttpAnswer::ErrorCode(e) => e.map(wit::error_to),
            other => wrong(other),
        }
    }
}

/// Recording: the head of a host request, as the host has it.
#[cfg(not(feature = "replay"))]
fn head_of(r: &host::OutgoingRequest) -> RequestHead {
    RequestHead {
        method: hostc::method_from(r.method()),
        scheme: r.scheme().map(hostc::scheme_from),
        authority: r.authority(),
        path_with_query: r.path_with_query(),
        headers: entries_from(r.headers().entries()),
    }
}

impl outgoing_handler::Guest for Interposer {
    #[allow(unused_mut)]
    fn handle(
        request: api::OutgoingRequest,
        options: Option<api::RequestOptions>,
    ) -> Result<api::FutureIncomingResponse, api::ErrorCode> {
        let mut request = request.into_inner::<OutgoingRequest>();
        let mut options = options.map(|o| o.into_inner::<RequestOptions>());
        let answer = http!(
            HttpCall::Handle {
                request: request.id,
                options: options.as_ref().map(|o| o.id)
            },
            {
                let req = take(&mut request.host);
                let head = head_of(&req);
                let result = host_handler::handle(req, options.as_mut().map(|o| take(&mut o.host)));
                HttpAnswer::Sent {
                    head: Box::new(head),
                    result: result.map(made).map_err(hostc::error_from),
                }
            }
        );
        match answer {
            HttpAnswer::Sent { result, .. } => {
                let id = result.map_err(wit::error_to)?;
                Ok(api::FutureIncomingResponse::new(FutureIncomingResponse {
                    children: Children::of("a future-incoming-response"),
                    id,
                    host: created(),
                }))
            }
            other => wrong(other),
        }
    }
}

impl crate::exports::wasm_rr::http::entry::Guest for Interposer {
    fn start() -> (api::IncomingRequest, api::ResponseOutparam) {
        #[cfg(not(feature = "replay"))]
        let answer = {
            let (req, out) = crate::wasm_rr::http::mailbox::take();
            crate::rr::start_request_trace();
            let head = RequestHead {
                method: hostc::method_from(req.method()),
                scheme: req.scheme().map(hostc::scheme_from),
                authority: req.authority(),
                path_with_query: req.path_with_query(),
                headers: entries_from(req.headers().entries()),
            };
            let (request, outparam) = (made(req), made(out));
            logged(
                HttpCall::Incoming,
                HttpAnswer::Incoming {
                    head: Box::new(head),
                    request,
                    outparam,
                },
            )
        };
        #[cfg(feature = "replay")]
        let answer = replayed(HttpCall::Incoming);
        match answer {
            HttpAnswer::Incoming {
                request, outparam, ..
            } => (
                IncomingRequest::resource(request, created()),
                ResponseOutparam::resource(outparam, created()),
            ),
            other => wrong(other),
        }
    }

    fn finish() {
        let answer = http!(HttpCall::Handled, HttpAnswer::Done);
        if answer != HttpAnswer::Done {
            wrong(answer)
        }
        crate::rr::finish();
    }
}
