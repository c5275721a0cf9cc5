//! Events of `wasi:http` (`types`, `outgoing-handler`, and the incoming request a
//! `wasi:http/incoming-handler` export is handed).
//!
//! Every `wasi:http` resource (`fields`, `incoming-request`, `outgoing-request`,
//! `request-options`, `response-outparam`, `incoming-response`, `incoming-body`,
//! `future-trailers`, `outgoing-response`, `outgoing-body`, `future-incoming-response`) gets a
//! number in the order it was created, all kinds sharing one count from 0 up. Body streams are
//! numbered like every other [`StreamId`], and their bytes are recorded like any stream's: a
//! response body as the chunks the host gave, a request body as the length and hash of each
//! write.
//!
//! Every method call is one event: the call with the arguments replay checks (header names and
//! values, methods, paths, authorities, timeouts, status codes; resources by number) and the
//! host's answer. `future-incoming-response.get` answering `none` is an event too (it costs one
//! byte when repeated). [`Handle`](crate::http::Handle)'s answer keeps the request head as the host saw it when
//! `outgoing-handler.handle` was called, for people reading the trace; replay checks the calls
//! that built that head instead.

use crate::{Bytes, StreamId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::collections::HashMap;

/// `wasi:http/types.method`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Connect,
    Options,
    Trace,
    Patch,
    Other(String),
}

/// `wasi:http/types.scheme`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Scheme {
    Http,
    Https,
    Other(String),
}

/// `wasi:http/types.DNS-error-payload`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct DnsErrorPayload {
    pub rcode: Option<String>,
    pub info_code: Option<u16>,
}

/// `wasi:http/types.TLS-alert-received-payload`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct TlsAlertReceivedPayload {
    pub alert_id: Option<u8>,
    pub alert_message: Option<String>,
}

/// `wasi:http/types.field-size-payload`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct FieldSizePayload {
    pub field_name: Option<String>,
    pub field_size: Option<u32>,
}

/// `wasi:http/types.error-code`, payloads included. The variant names are the WIT names in
/// Rust case, the same as the bindings', so that one conversion macro serves every direction.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum ErrorCode {
    DnsTimeout,
    DnsError(DnsErrorPayload),
    DestinationNotFound,
    DestinationUnavailable,
    DestinationIpProhibited,
    DestinationIpUnroutable,
    ConnectionRefused,
    ConnectionTerminated,
    ConnectionTimeout,
    ConnectionReadTimeout,
    ConnectionWriteTimeout,
    ConnectionLimitReached,
    TlsProtocolError,
    TlsCertificateError,
    TlsAlertReceived(TlsAlertReceivedPayload),
    HttpRequestDenied,
    HttpRequestLengthRequired,
    HttpRequestBodySize(Option<u64>),
    HttpRequestMethodInvalid,
    HttpRequestUriInvalid,
    HttpRequestUriTooLong,
    HttpRequestHeaderSectionSize(Option<u32>),
    HttpRequestHeaderSize(Option<FieldSizePayload>),
    HttpRequestTrailerSectionSize(Option<u32>),
    HttpRequestTrailerSize(FieldSizePayload),
    HttpResponseIncomplete,
    HttpResponseHeaderSectionSize(Option<u32>),
    HttpResponseHeaderSize(FieldSizePayload),
    HttpResponseBodySize(Option<u64>),
    HttpResponseTrailerSectionSize(Option<u32>),
    HttpResponseTrailerSize(FieldSizePayload),
    HttpResponseTransferCoding(Option<String>),
    HttpResponseContentCoding(Option<String>),
    HttpResponseTimeout,
    HttpUpgradeFailed,
    HttpProtocolError,
    LoopDetected,
    ConfigurationError,
    InternalError(Option<String>),
}

/// `wasi:http/types.header-error`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum HeaderError {
    InvalidSyntax,
    Forbidden,
    Immutable,
}

/// Header entries: names and values, in order.
pub type Entries = Vec<(String, Bytes)>;

/// Which timeout of `request-options`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Timeout {
    Connect,
    FirstByte,
    BetweenBytes,
}

/// The head of an outgoing request as the host had it when it was sent.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct RequestHead {
    pub method: Method,
    pub scheme: Option<Scheme>,
    pub authority: Option<String>,
    pub path_with_query: Option<String>,
    pub headers: Entries,
}


/// What a `response-outparam.set` with a response gave the host: the status and headers
/// (replaying a request trace, they are printed as the response's head).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code.
    pub status: u16,
    /// The header entries.
    pub headers: Entries,
}

/// `outgoing-handler.handle`'s answer: the request head the host was given, and the new
/// `future-incoming-response`'s number or the error.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// The head, for people reading the trace (not checked on replay).
    pub head: Box<RequestHead>,
    /// The future's number, or the error.
    pub result: Result<u32, ErrorCode>,
}

/// The incoming request handed to the guest's handler: its head, and the numbers of the
/// `incoming-request` and `response-outparam` resources.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct IncomingRequest {
    /// The request's head (its headers are read through [`GetHeaders`]).
    pub head: Box<RequestHead>,
    /// The `incoming-request`'s number.
    pub request: u32,
    /// The `response-outparam`'s number.
    pub outparam: u32,
}

/// A `get` of `future-trailers` or `future-incoming-response`: `None` while not ready,
/// `Some(Err(()))` once already taken, else the outcome: the value or the `error-code`.
pub type FutureAnswer<T> = Option<Result<Result<T, ErrorCode>, ()>>;

crate::event::interface! {
    Http = 256;
    /// `fields.constructor`: the new fields' number.
    NewFields {} -> u32;
    /// `fields.from-list(entries)`: the new fields' number.
    FieldsFromList { entries: Entries } -> Result<u32, HeaderError>;
    /// `fields.get(name)`.
    FieldsGet { fields: u32, name: String } -> Vec<Bytes>;
    /// `fields.has(name)`.
    FieldsHas { fields: u32, name: String } -> bool;
    /// `fields.set(name, values)`.
    FieldsSet { fields: u32, name: String, values: Vec<Bytes> } -> Result<(), HeaderError>;
    /// `fields.delete(name)`.
    FieldsDelete { fields: u32, name: String } -> Result<(), HeaderError>;
    /// `fields.append(name, value)`.
    FieldsAppend { fields: u32, name: String, value: Bytes } -> Result<(), HeaderError>;
    /// `fields.entries`.
    FieldsEntries { fields: u32 } -> Entries;
    /// `fields.clone`: the new fields' number.
    FieldsClone { fields: u32 } -> u32;
    /// `method` of an incoming or outgoing request.
    GetMethod { request: u32 } -> Method;
    /// `path-with-query` of an incoming or outgoing request.
    GetPathWithQuery { request: u32 } -> Option<String>;
    /// `scheme` of an incoming or outgoing request.
    GetScheme { request: u32 } -> Option<Scheme>;
    /// `authority` of an incoming or outgoing request.
    GetAuthority { request: u32 } -> Option<String>;
    /// `headers` of a request or response: the fields' number.
    GetHeaders { of: u32 } -> u32;
    /// `consume` of an incoming request or response: the body's number.
    Consume { of: u32 } -> Result<u32, ()>;
    /// `body` of an outgoing request or response: the body's number.
    Body { of: u32 } -> Result<u32, ()>;
    /// `outgoing-request.constructor(headers)`: the new request's number.
    NewRequest { headers: u32 } -> u32;
    /// `outgoing-request.set-method`.
    SetMethod { request: u32, method: Method } -> Result<(), ()>;
    /// `outgoing-request.set-path-with-query`.
    SetPathWithQuery { request: u32, path: Option<String> } -> Result<(), ()>;
    /// `outgoing-request.set-scheme`.
    SetScheme { request: u32, scheme: Option<Scheme> } -> Result<(), ()>;
    /// `outgoing-request.set-authority`.
    SetAuthority { request: u32, authority: Option<String> } -> Result<(), ()>;
    /// `request-options.constructor`: the new options' number.
    NewOptions {} -> u32;
    /// `request-options.connect-timeout`, `first-byte-timeout` or `between-bytes-timeout`, in ns.
    GetTimeout { options: u32, which: Timeout } -> Option<u64>;
    /// `request-options.set-…-timeout(duration)`, in ns.
    SetTimeout { options: u32, which: Timeout, duration: Option<u64> } -> Result<(), ()>;
    /// `incoming-response.status` or `outgoing-response.status-code`.
    GetStatus { response: u32 } -> u16;
    /// `outgoing-response.constructor(headers)`: the new response's number.
    NewResponse { headers: u32 } -> u32;
    /// `outgoing-response.set-status-code`.
    SetStatus { response: u32, status: u16 } -> Result<(), ()>;
    /// `response-outparam.set`: the response (or the error the guest answered with); with a
    /// response, what the host was given.
    SetResponse { outparam: u32, response: Result<u32, ErrorCode> } -> Option<ResponseHead>;
    /// `incoming-body.stream`: the new stream.
    IncomingStream { body: u32 } -> Result<StreamId, ()>;
    /// `incoming-body.finish`: the `future-trailers`' number.
    FinishIncoming { body: u32 } -> u32;
    /// `future-trailers.get`: the trailers' number (`None` for a body without trailers).
    TrailersGet { trailers: u32 } -> FutureAnswer<Option<u32>>;
    /// `outgoing-body.write`: the new stream.
    OutgoingStream { body: u32 } -> Result<StreamId, ()>;
    /// `outgoing-body.finish(this, trailers)`.
    FinishOutgoing { body: u32, trailers: Option<u32> } -> Result<(), ErrorCode>;
    /// `future-incoming-response.get`: the response's number.
    ResponseGet { future: u32 } -> FutureAnswer<u32>;
    /// `http-error-code` of the `wasi:io` error the guest holds.
    ErrorCodeOf {} -> Option<ErrorCode>;
    /// `outgoing-handler.handle(request, options)`.
    Handle { request: u32, options: Option<u32> } -> Sent;
    /// The incoming request and its `response-outparam`, handed to the guest's
    /// `wasi:http/incoming-handler.handle`.
    Incoming {} -> IncomingRequest;
    /// The guest's `wasi:http/incoming-handler.handle` returned.
    Handled {} -> ();
}

impl Call {
    /// Where `self` (the recorded call) and `actual` differ, in words, when they are the same
    /// kind of call: `header x-request-id: expected "a1", actual "b7"`.
    pub fn difference(&self, actual: &Call) -> Option<String> {
        let q = |b: &[u8]| format!("{:?}", String::from_utf8_lossy(b));
        match (self, actual) {
            (Call::FieldsAppend(a), Call::FieldsAppend(b))
                if a.name == b.name && a.value != b.value =>
            {
                Some(format!(
                    "header {}: expected {}, actual {}",
                    a.name,
                    q(&a.value.0),
                    q(&b.value.0)
                ))
            }
            (Call::FieldsSet(a), Call::FieldsSet(b)) if a.name == b.name && a.values != b.values => {
                let list = |v: &[Bytes]| v.iter().map(|b| q(&b.0)).collect::<Vec<_>>().join(", ");
                Some(format!(
                    "header {}: expected {}, actual {}",
                    a.name,
                    list(&a.values),
                    list(&b.values)
                ))
            }
            (Call::FieldsFromList(a), Call::FieldsFromList(b)) => {
                let (a, b) = (&a.entries, &b.entries);
                match a.iter().zip(b).position(|(x, y)| x != y) {
                    Some(i) if a[i].0 == b[i].0 => Some(format!(
                        "header {}: expected {}, actual {}",
                        a[i].0,
                        q(&a[i].1.0),
                        q(&b[i].1.0)
                    )),
                    Some(i) => Some(format!(
                        "header {}: expected {:?}, actual {:?}",
                        i, a[i].0, b[i].0
                    )),
                    None => Some(format!("expected {} headers, actual {}", a.len(), b.len())),
                }
            }
            (Call::SetMethod(a), Call::SetMethod(b)) => Some(format!(
                "method: expected {}, actual {}",
                method_name(&a.method),
                method_name(&b.method)
            )),
            (Call::SetPathWithQuery(a), Call::SetPathWithQuery(b)) => Some(format!(
                "path-with-query: expected {:?}, actual {:?}",
                a.path, b.path
            )),
            (Call::SetAuthority(a), Call::SetAuthority(b)) => Some(format!(
                "authority: expected {:?}, actual {:?}",
                a.authority, b.authority
            )),
            (Call::SetStatus(a), Call::SetStatus(b)) => Some(format!(
                "status: expected {}, actual {}",
                a.status, b.status
            )),
            _ => None,
        }
    }
}

/// A method as on the wire: `GET`.
pub fn method_name(m: &Method) -> String {
    match m {
        Method::Other(s) => s.clone(),
        other => crate::wit_name(other).to_uppercase(),
    }
}

fn scheme_name(s: &Option<Scheme>) -> String {
    match s {
        None => "-".into(),
        Some(Scheme::Other(s)) => s.clone(),
        Some(other) => crate::wit_name(other),
    }
}

impl RequestHead {
    /// `GET http://127.0.0.1:8080/x`.
    pub fn line(&self) -> String {
        format!(
            "{} {}://{}{}",
            method_name(&self.method),
            scheme_name(&self.scheme),
            self.authority.as_deref().unwrap_or(""),
            self.path_with_query.as_deref().unwrap_or("")
        )
    }
}

fn text(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => f.write_str(&s),
            Ok(serde_json::Value::Object(m)) => match m.into_iter().next() {
                Some((k, v)) => write!(f, "{k}({v})"),
                None => f.write_str("?"),
            },
            _ => f.write_str("?"),
        }
    }
}


impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::NewFields(_) => f.write_str("http new fields"),
            Call::FieldsFromList(c) => {
                f.write_str("http fields from-list [")?;
                for (i, (n, v)) in c.entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}: {}", text(&v.0))?;
                }
                f.write_str("]")
            }
            Call::FieldsGet(c) => write!(f, "http fields {} get {:?}", c.fields, c.name),
            Call::FieldsHas(c) => write!(f, "http fields {} has {:?}", c.fields, c.name),
            Call::FieldsSet(c) => {
                let v: Vec<String> = c.values.iter().map(|b| text(&b.0)).collect();
                write!(f, "http fields {} set {}: {}", c.fields, c.name, v.join(", "))
            }
            Call::FieldsDelete(c) => write!(f, "http fields {} delete {:?}", c.fields, c.name),
            Call::FieldsAppend(c) => write!(
                f,
                "http fields {} append {}: {}",
                c.fields,
                c.name,
                text(&c.value.0)
            ),
            Call::FieldsEntries(c) => write!(f, "http fields {} entries", c.fields),
            Call::FieldsClone(c) => write!(f, "http fields {} clone", c.fields),
            Call::GetMethod(c) => write!(f, "http request {} method", c.request),
            Call::GetPathWithQuery(c) => write!(f, "http request {} path-with-query", c.request),
            Call::GetScheme(c) => write!(f, "http request {} scheme", c.request),
            Call::GetAuthority(c) => write!(f, "http request {} authority", c.request),
            Call::GetHeaders(c) => write!(f, "http {} headers", c.of),
            Call::Consume(c) => write!(f, "http {} consume", c.of),
            Call::Body(c) => write!(f, "http {} body", c.of),
            Call::NewRequest(c) => {
                write!(f, "http new outgoing-request (headers {})", c.headers)
            }
            Call::SetMethod(c) => write!(
                f,
                "http request {} set-method {}",
                c.request,
                method_name(&c.method)
            ),
            Call::SetPathWithQuery(c) => write!(
                f,
                "http request {} set-path-with-query {:?}",
                c.request, c.path
            ),
            Call::SetScheme(c) => write!(
                f,
                "http request {} set-scheme {}",
                c.request,
                scheme_name(&c.scheme)
            ),
            Call::SetAuthority(c) => write!(
                f,
                "http request {} set-authority {:?}",
                c.request, c.authority
            ),
            Call::NewOptions(_) => f.write_str("http new request-options"),
            Call::GetTimeout(c) => write!(
                f,
                "http options {} {}-timeout",
                c.options,
                crate::wit_name(&c.which)
            ),
            Call::SetTimeout(c) => write!(
                f,
                "http options {} set-{}-timeout {:?}",
                c.options,
                crate::wit_name(&c.which),
                c.duration
            ),
            Call::GetStatus(c) => write!(f, "http response {} status", c.response),
            Call::NewResponse(c) => {
                write!(f, "http new outgoing-response (headers {})", c.headers)
            }
            Call::SetStatus(c) => write!(
                f,
                "http response {} set-status-code {}",
                c.response, c.status
            ),
            Call::SetResponse(c) => match &c.response {
                Ok(r) => write!(f, "http response-outparam {} set response {r}", c.outparam),
                Err(e) => write!(f, "http response-outparam {} set error {e}", c.outparam),
            },
            Call::IncomingStream(c) => write!(f, "http incoming-body {} stream", c.body),
            Call::FinishIncoming(c) => write!(f, "http incoming-body {} finish", c.body),
            Call::TrailersGet(c) => write!(f, "http future-trailers {} get", c.trailers),
            Call::OutgoingStream(c) => write!(f, "http outgoing-body {} write", c.body),
            Call::FinishOutgoing(c) => match c.trailers {
                Some(t) => write!(f, "http outgoing-body {} finish (trailers {t})", c.body),
                None => write!(f, "http outgoing-body {} finish", c.body),
            },
            Call::ResponseGet(c) => write!(f, "http future-incoming-response {} get", c.future),
            Call::ErrorCodeOf(_) => f.write_str("http http-error-code"),
            Call::Handle(c) => match c.options {
                Some(o) => write!(f, "http handle request {} (options {o})", c.request),
                None => write!(f, "http handle request {}", c.request),
            },
            Call::Incoming(_) => f.write_str("http incoming request"),
            Call::Handled(_) => f.write_str("http incoming-handler.handle returned"),
        }
    }
}

/// How a future's `get` answer reads: `not ready`, `already taken`, the error, or the value.
fn future<T>(
    f: &mut fmt::Formatter<'_>,
    answer: &FutureAnswer<T>,
    value: impl FnOnce(&T) -> String,
) -> fmt::Result {
    match answer {
        None => f.write_str("not ready"),
        Some(Err(())) => f.write_str("already taken"),
        Some(Ok(Err(e))) => write!(f, "{e}"),
        Some(Ok(Ok(v))) => f.write_str(&value(v)),
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = |r: &Result<(), ()>| if r.is_ok() { "ok" } else { "err" };
        let header = |r: &Result<(), HeaderError>| match r {
            Ok(()) => "ok".to_string(),
            Err(e) => crate::wit_name(e),
        };
        match self {
            Answer::NewFields(n)
            | Answer::FieldsClone(n)
            | Answer::GetHeaders(n)
            | Answer::NewRequest(n)
            | Answer::NewOptions(n)
            | Answer::NewResponse(n)
            | Answer::FinishIncoming(n) => write!(f, "http resource {n}"),
            Answer::FieldsFromList(r) => match r {
                Ok(n) => write!(f, "http resource {n}"),
                Err(e) => f.write_str(&crate::wit_name(e)),
            },
            Answer::FieldsGet(v) => {
                let v: Vec<String> = v.iter().map(|b| text(&b.0)).collect();
                write!(f, "[{}]", v.join(", "))
            }
            Answer::FieldsHas(b) => write!(f, "{b}"),
            Answer::FieldsSet(r) | Answer::FieldsDelete(r) | Answer::FieldsAppend(r) => {
                f.write_str(&header(r))
            }
            Answer::FieldsEntries(e) => write!(f, "{} entries", e.len()),
            Answer::GetMethod(m) => f.write_str(&method_name(m)),
            Answer::GetPathWithQuery(t) | Answer::GetAuthority(t) => write!(f, "{t:?}"),
            Answer::GetScheme(s) => f.write_str(&scheme_name(s)),
            Answer::Consume(r) | Answer::Body(r) => match r {
                Ok(n) => write!(f, "http resource {n}"),
                Err(()) => f.write_str("err"),
            },
            Answer::SetMethod(r)
            | Answer::SetPathWithQuery(r)
            | Answer::SetScheme(r)
            | Answer::SetAuthority(r)
            | Answer::SetTimeout(r)
            | Answer::SetStatus(r) => f.write_str(unit(r)),
            Answer::GetTimeout(d) => match d {
                Some(ns) => write!(f, "{ns} ns"),
                None => f.write_str("none"),
            },
            Answer::GetStatus(s) => write!(f, "{s}"),
            Answer::SetResponse(None) => f.write_str("ok"),
            Answer::SetResponse(Some(head)) => {
                write!(f, "{}, {} headers", head.status, head.headers.len())
            }
            Answer::IncomingStream(r) | Answer::OutgoingStream(r) => match r {
                Ok(s) => write!(f, "{s}"),
                Err(()) => f.write_str("err"),
            },
            Answer::TrailersGet(a) => future(f, a, |t| match t {
                Some(n) => format!("http resource {n}"),
                None => "no trailers".into(),
            }),
            Answer::FinishOutgoing(r) => match r {
                Ok(()) => f.write_str("ok"),
                Err(e) => write!(f, "{e}"),
            },
            Answer::ResponseGet(a) => future(f, a, |n| format!("http resource {n}")),
            Answer::ErrorCodeOf(e) => match e {
                Some(e) => write!(f, "{e}"),
                None => f.write_str("none"),
            },
            Answer::Handle(sent) => match &sent.result {
                Ok(n) => write!(f, "{} sent, future {n}", sent.head.line()),
                Err(e) => write!(f, "{} not sent: {e}", sent.head.line()),
            },
            Answer::Incoming(i) => write!(
                f,
                "{} (request {}, outparam {})",
                i.head.line(),
                i.request,
                i.outparam
            ),
            Answer::Handled(()) => f.write_str("ok"),
        }
    }
}

/// One HTTP exchange of a trace, as `wasm-rr show` lists it: an outgoing request the guest
/// sent, or the incoming request it handled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// `true` for the incoming request handed to the guest's handler.
    pub incoming: bool,
    /// The request head.
    pub head: RequestHead,
    /// The status (when the guest read or set it), or the `error-code`; `None` while no answer
    /// is recorded.
    pub outcome: Option<Result<Option<u16>, ErrorCode>>,
    /// Response body bytes (received, or for an incoming request, sent).
    pub body_bytes: u64,
    /// Non-empty reads (or writes) of the response body.
    pub chunks: u64,
    /// The event that started it (`outgoing-handler.handle`, or the incoming request).
    pub started_at: u64,
    /// The app's last monotonic clock reading before it started, in ns.
    pub started_ns: Option<u64>,
    /// The event that gave the response (the future's `get`, or `response-outparam.set`),
    /// and the app's last monotonic clock reading before it, in ns.
    pub answered_at: Option<(u64, Option<u64>)>,
    /// The response's headers as the app read them (`fields.entries`, `fields.get`), or as
    /// a handler set them.
    pub response_headers: Entries,
    /// The first bytes of the response body: those the app read of a response it received,
    /// or, for a handler's response, those it wrote as far as the trace keeps them (format 7,
    /// see [`crate::streams::Wrote`]); at most the limit given to
    /// [`Exchanges::with_body_limit`].
    pub body: Vec<u8>,
    /// The first bytes of the request body, likewise: those the app read of the incoming
    /// request, or those it wrote to a request it sent (as far as the trace keeps them).
    pub request_body: Vec<u8>,
    /// Request body bytes the app read (incoming) or wrote (outgoing), kept or not.
    pub request_body_bytes: u64,
}

impl Exchange {
    /// The exchange in full, for `wasm-rr show --http`: its line, when it started and was
    /// answered (event numbers and the app's monotonic clock), the request's and response's
    /// headers, and the body (as text when it is UTF-8, else as hex).
    pub fn details(&self) -> String {
        use std::fmt::Write;
        let mut out = format!("#{} {self}\n", self.started_at);
        let ms = |ns: u64| format!("{:.3} ms", ns as f64 / 1e6);
        match (self.started_ns, self.answered_at) {
            (_, None) => out.push_str("  not answered\n"),
            (Some(a), Some((at, Some(b)))) => {
                let _ = writeln!(
                    out,
                    "  answered at event #{at}, {} later by the app's monotonic clock",
                    ms(b.saturating_sub(a))
                );
            }
            (_, Some((at, _))) => {
                let _ = writeln!(out, "  answered at event #{at}");
            }
        }
        for (title, entries) in [
            ("request headers", &self.head.headers),
            ("response headers", &self.response_headers),
        ] {
            if entries.is_empty() {
                continue;
            }
            let _ = writeln!(out, "  {title}:");
            for (name, value) in entries {
                let _ = writeln!(out, "    {name}: {}", String::from_utf8_lossy(&value.0));
            }
        }
        for (title, body, len) in [
            ("request body", &self.request_body, self.request_body_bytes),
            ("body", &self.body, self.body_bytes),
        ] {
            if body.is_empty() {
                continue;
            }
            let more = if (body.len() as u64) < len {
                format!(" (the first {} of {len} B)", body.len())
            } else {
                String::new()
            };
            match std::str::from_utf8(body) {
                Ok(text) => {
                    let _ = writeln!(out, "  {title}{more}: {text:?}");
                }
                Err(_) => {
                    let _ = writeln!(out, "  {title}{more}, hex: {}", hex::encode(body));
                }
            }
        }
        out
    }
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.incoming {
            f.write_str("incoming ")?;
        }
        write!(f, "{} -> ", self.head.line())?;
        match &self.outcome {
            None => f.write_str("no response"),
            Some(Err(e)) => write!(f, "{e}"),
            Some(Ok(status)) => {
                match status {
                    Some(s) => write!(f, "{s}")?,
                    None => f.write_str("response")?,
                }
                let s = if self.chunks == 1 { "" } else { "s" };
                write!(f, ", {} B body, {} chunk{s}", self.body_bytes, self.chunks)
            }
        }
    }
}

/// The HTTP exchanges in `events`, in the order they started (see [`Exchange`] and
/// [`Exchanges`]).
pub fn exchanges(events: &[crate::Event]) -> Vec<Exchange> {
    let mut x = Exchanges::default();
    events.iter().for_each(|e| x.push(e));
    x.finish()
}

/// How many exchanges, and resources and streams of each kind, [`Exchanges`] keeps track of at
/// most: a trace may hold any number, and it is read in bounded memory.
pub const MAX_TRACKED: usize = 100_000;

/// The HTTP exchanges of a trace, gathered one event at a time, in bounded memory: the first
/// [`MAX_TRACKED`] exchanges are listed; [`Exchanges::untracked`] counts the others.
#[derive(Default)]
pub struct Exchanges {
    out: Vec<Exchange>,
    /// Which exchange a future or outparam starts, and each resource's parent (a response's
    /// future or outparam, a body's response), found in any order.
    root: HashMap<u32, usize>,
    parent: HashMap<u32, u32>,
    stream_of: HashMap<StreamId, u32>,
    /// Non-empty reads and writes, per stream: (bytes, chunks).
    reads: HashMap<StreamId, (u64, u64)>,
    writes: HashMap<StreamId, (u64, u64)>,
    statuses: Vec<(u32, u16)>,
    untracked: u64,
    /// Events seen, and the app's last monotonic clock reading.
    index: u64,
    now_ns: Option<u64>,
    /// Which resource each response-headers `fields` belongs to, and what the app read of them.
    fields_owner: HashMap<u32, u32>,
    fields_read: HashMap<u32, Entries>,
    /// The first bytes read from each body stream, up to `body_limit` per stream and
    /// [`MAX_BODY_BYTES`] in all.
    bodies: HashMap<StreamId, Vec<u8>>,
    /// The first bytes written to each body stream that the trace keeps, likewise.
    sent: HashMap<StreamId, Vec<u8>>,
    body_limit: usize,
    body_total: usize,
}

/// The most bytes of bodies [`Exchanges`] keeps, over all exchanges.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The most header entries [`Exchanges`] keeps per `fields`.
const MAX_ENTRIES: usize = 256;

/// Inserts into a map that holds fewer than [`MAX_TRACKED`] entries.
fn track<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, k: K, v: V) {
    if map.len() < MAX_TRACKED || map.contains_key(&k) {
        map.insert(k, v);
    }
}

impl Exchanges {
    /// Exchanges that keep the first `limit` bytes of each response body the app read (at most
    /// [`MAX_BODY_BYTES`] in all); [`Exchanges::default`] keeps none.
    pub fn with_body_limit(limit: usize) -> Exchanges {
        Exchanges {
            body_limit: limit,
            ..Exchanges::default()
        }
    }

    /// Exchanges started after the first [`MAX_TRACKED`] (not listed).
    pub fn untracked(&self) -> u64 {
        self.untracked
    }

    fn new_exchange(&mut self, head: &RequestHead, incoming: bool) -> Option<usize> {
        if self.out.len() >= MAX_TRACKED {
            self.untracked += 1;
            return None;
        }
        self.out.push(Exchange {
            incoming,
            head: head.clone(),
            outcome: None,
            body_bytes: 0,
            chunks: 0,
            started_at: self.index,
            started_ns: self.now_ns,
            answered_at: None,
            response_headers: Vec::new(),
            body: Vec::new(),
            request_body: Vec::new(),
            request_body_bytes: 0,
        });
        Some(self.out.len() - 1)
    }

    /// Takes the next event of the trace into account.
    pub fn push(&mut self, e: &crate::Event) {
        self.push_event(e);
        self.index += 1;
    }

    fn push_event(&mut self, e: &crate::Event) {
        use crate::http as h;
        use crate::streams;
        let answered = Some((self.index, self.now_ns));
        if let Some((_, ns)) = e.get::<crate::clocks::MonotonicClockNow>() {
            self.now_ns = Some(*ns);
        }
        match (&e.call, &e.answer) {
            (crate::Call::Http(call), crate::Answer::Http(answer)) => match (call, answer) {
                (Call::Handle(c), Answer::Handle(sent)) => {
                    if let Some(i) = self.new_exchange(&sent.head, false) {
                        // The request's body belongs to the exchange too.
                        track(&mut self.root, c.request, i);
                        match &sent.result {
                            Ok(future) => track(&mut self.root, *future, i),
                            Err(e) => self.out[i].outcome = Some(Err(e.clone())),
                        }
                    }
                }
                (_, Answer::Incoming(incoming)) => {
                    if let Some(i) = self.new_exchange(&incoming.head, true) {
                        track(&mut self.root, incoming.outparam, i);
                        track(&mut self.root, incoming.request, i);
                    }
                }
                (Call::ResponseGet(c), Answer::ResponseGet(Some(Ok(r)))) => {
                    if let Some(&i) = self.root.get(&c.future) {
                        match r {
                            Ok(resp) => {
                                track(&mut self.parent, *resp, c.future);
                                self.out[i].outcome = Some(Ok(None));
                            }
                            Err(e) => self.out[i].outcome = Some(Err(e.clone())),
                        }
                        self.out[i].answered_at = answered;
                    }
                }
                (Call::SetResponse(c), Answer::SetResponse(head)) => {
                    if let Some(&i) = self.root.get(&c.outparam) {
                        match &c.response {
                            Ok(r) => {
                                track(&mut self.parent, *r, c.outparam);
                                self.out[i].outcome = Some(Ok(head.as_ref().map(|h| h.status)));
                                if let Some(head) = head {
                                    self.out[i].response_headers = head.headers.clone();
                                }
                            }
                            Err(e) => self.out[i].outcome = Some(Err(e.clone())),
                        }
                        self.out[i].answered_at = answered;
                    }
                }
                (Call::GetHeaders(c), Answer::GetHeaders(fields)) => {
                    track(&mut self.fields_owner, *fields, c.of);
                }
                (Call::FieldsEntries(c), Answer::FieldsEntries(entries))
                    if self.fields_owner.contains_key(&c.fields) =>
                {
                    let mut entries = entries.clone();
                    entries.truncate(MAX_ENTRIES);
                    track(&mut self.fields_read, c.fields, entries);
                }
                (Call::FieldsGet(c), Answer::FieldsGet(values))
                    if self.fields_owner.contains_key(&c.fields) =>
                {
                    if let Some(read) = self.fields_read.get_mut(&c.fields) {
                        if !read.iter().any(|(n, _)| n.eq_ignore_ascii_case(&c.name)) {
                            for v in values.iter().take(MAX_ENTRIES.saturating_sub(read.len())) {
                                read.push((c.name.clone(), v.clone()));
                            }
                        }
                    } else {
                        let entries = values
                            .iter()
                            .take(MAX_ENTRIES)
                            .map(|v| (c.name.clone(), v.clone()))
                            .collect();
                        track(&mut self.fields_read, c.fields, entries);
                    }
                }
                (Call::GetStatus(c), Answer::GetStatus(s))
                    if self.statuses.len() < MAX_TRACKED =>
                {
                    self.statuses.push((c.response, *s));
                }
                (Call::Consume(h::Consume { of }), Answer::Consume(Ok(b)))
                | (Call::Body(h::Body { of }), Answer::Body(Ok(b))) => {
                    track(&mut self.parent, *b, *of);
                }
                (Call::IncomingStream(h::IncomingStream { body }), Answer::IncomingStream(Ok(s)))
                | (Call::OutgoingStream(h::OutgoingStream { body }), Answer::OutgoingStream(Ok(s))) => {
                    track(&mut self.stream_of, *s, *body);
                }
                _ => {}
            },
            (
                crate::Call::Streams(streams::Call::Read(c)),
                crate::Answer::Streams(streams::Answer::Read(Ok(data))),
            ) if !data.0.is_empty() && self.stream_of.contains_key(&c.stream) => {
                let r = self.reads.entry(c.stream).or_default();
                r.0 += data.0.len() as u64;
                r.1 += 1;
                self.keep_body(c.stream, &data.0, false);
            }
            (
                crate::Call::Streams(streams::Call::Wrote(c)),
                crate::Answer::Streams(streams::Answer::Wrote(())),
            ) if self.stream_of.contains_key(&c.stream) => {
                self.keep_body(c.stream, &c.data.0, true);
            }
            (
                crate::Call::Streams(streams::Call::Write(c)),
                crate::Answer::Streams(streams::Answer::Write(Ok(()))),
            ) if c.len > 0 && self.stream_of.contains_key(&c.stream) => {
                let w = self.writes.entry(c.stream).or_default();
                w.0 += c.len;
                w.1 += 1;
            }
            _ => {}
        }
    }

    /// Keeps the first bytes of `data`, read from (or, `sent`, written to) the body stream
    /// `stream`, within `body_limit` per stream and [`MAX_BODY_BYTES`] in all.
    fn keep_body(&mut self, stream: StreamId, data: &[u8], sent: bool) {
        let room = self
            .body_limit
            .min(MAX_BODY_BYTES.saturating_sub(self.body_total));
        if room == 0 {
            return;
        }
        let map = if sent { &mut self.sent } else { &mut self.bodies };
        let kept = map.entry(stream).or_default();
        let take = data
            .len()
            .min(self.body_limit.saturating_sub(kept.len()))
            .min(room);
        kept.extend_from_slice(&data[..take]);
        self.body_total += take;
    }

    /// The exchanges, in the order they started.
    pub fn finish(self) -> Vec<Exchange> {
        let Exchanges {
            mut out,
            root,
            parent,
            stream_of,
            reads,
            writes,
            statuses,
            fields_owner,
            mut fields_read,
            mut bodies,
            mut sent,
            ..
        } = self;
        // The exchange a resource belongs to: up its parents to a future or an outparam.
        let exchange_of = |mut id: u32| {
            for _ in 0..4 {
                if let Some(&i) = root.get(&id) {
                    return Some(i);
                }
                id = *parent.get(&id)?;
            }
            None
        };
        for (r, s) in statuses {
            if let Some(i) = exchange_of(r).filter(|&i| !out[i].incoming) {
                out[i].outcome = Some(Ok(Some(s)));
            }
        }
        for (stream, body) in stream_of {
            let Some(i) = exchange_of(body) else { continue };
            // A response body: read from an outgoing request's, written to an incoming one's.
            let counted = if out[i].incoming {
                writes.get(&stream)
            } else {
                reads.get(&stream)
            };
            // Only the response's body counts, not the request's (whose body's parent is the
            // request, not the future or outparam).
            let is_response_body = parent
                .get(&body)
                .is_some_and(|resp| parent.contains_key(resp));
            // What the app wrote, or read, of the stream.
            let incoming = out[i].incoming;
            let written = sent.remove(&stream).unwrap_or_default();
            let read = bodies.remove(&stream).unwrap_or_default();
            if is_response_body {
                if let Some((bytes, chunks)) = counted {
                    out[i].body_bytes += bytes;
                    out[i].chunks += chunks;
                }
                out[i].body.extend(if incoming { written } else { read });
            } else {
                let (bytes, kept) = if incoming {
                    (reads.get(&stream), read)
                } else {
                    (writes.get(&stream), written)
                };
                out[i].request_body_bytes += bytes.map_or(0, |b| b.0);
                out[i].request_body.extend(kept);
            }
        }
        // The headers the app read of a response it received (not of a request: a request's
        // parent is no future).
        for (fields, owner) in fields_owner {
            let Some(i) = exchange_of(owner).filter(|&i| !out[i].incoming) else {
                continue;
            };
            if let Some(entries) = fields_read.remove(&fields) {
                out[i].response_headers.extend(entries);
            }
        }
        out
    }
}
