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
//! Every method call is one [`HttpEvent`]: the [`HttpCall`] with the arguments replay checks
//! (header names and values, methods, paths, authorities, timeouts, status codes) and the
//! host's [`HttpAnswer`]. `future-incoming-response.get` answering `none` is an event too (it
//! costs one byte when repeated). [`HttpAnswer::Sent`] keeps the request head as the host saw
//! it when `outgoing-handler.handle` was called, for people reading the trace; replay checks the
//! calls that built that head instead.

use crate::{Bytes, StreamId};
use serde::{Deserialize, Serialize};
use std::fmt;

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

/// A `wasi:http` call the guest made, with the arguments replay checks. `u32`s are resource
/// numbers (see the module documentation); durations are ns.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum HttpCall {
    /// `fields.constructor`.
    NewFields,
    /// `fields.from-list`.
    FieldsFromList(Entries),
    /// `fields.get`.
    FieldsGet { fields: u32, name: String },
    /// `fields.has`.
    FieldsHas { fields: u32, name: String },
    /// `fields.set`.
    FieldsSet {
        fields: u32,
        name: String,
        values: Vec<Bytes>,
    },
    /// `fields.delete`.
    FieldsDelete { fields: u32, name: String },
    /// `fields.append`.
    FieldsAppend {
        fields: u32,
        name: String,
        value: Bytes,
    },
    /// `fields.entries`.
    FieldsEntries(u32),
    /// `fields.clone`.
    FieldsClone(u32),
    /// `method` of an incoming or outgoing request.
    Method(u32),
    /// `path-with-query` of an incoming or outgoing request.
    PathWithQuery(u32),
    /// `scheme` of an incoming or outgoing request.
    Scheme(u32),
    /// `authority` of an incoming or outgoing request.
    Authority(u32),
    /// `headers` of a request or response.
    Headers(u32),
    /// `consume` of an incoming request or response.
    Consume(u32),
    /// `body` of an outgoing request or response.
    Body(u32),
    /// `outgoing-request.constructor(headers)`.
    NewRequest { headers: u32 },
    /// `outgoing-request.set-method`.
    SetMethod { request: u32, method: Method },
    /// `outgoing-request.set-path-with-query`.
    SetPathWithQuery { request: u32, path: Option<String> },
    /// `outgoing-request.set-scheme`.
    SetScheme {
        request: u32,
        scheme: Option<Scheme>,
    },
    /// `outgoing-request.set-authority`.
    SetAuthority {
        request: u32,
        authority: Option<String>,
    },
    /// `request-options.constructor`.
    NewOptions,
    /// `request-options.connect-timeout`, `first-byte-timeout` or `between-bytes-timeout`.
    Timeout { options: u32, which: Timeout },
    /// `request-options.set-…-timeout`.
    SetTimeout {
        options: u32,
        which: Timeout,
        duration: Option<u64>,
    },
    /// `incoming-response.status` or `outgoing-response.status-code`.
    Status(u32),
    /// `outgoing-response.constructor(headers)`.
    NewResponse { headers: u32 },
    /// `outgoing-response.set-status-code`.
    SetStatus { response: u32, status: u16 },
    /// `response-outparam.set`: the response, or the error the guest answered with.
    SetResponse {
        outparam: u32,
        response: Result<u32, ErrorCode>,
    },
    /// `incoming-body.stream`.
    IncomingStream(u32),
    /// `incoming-body.finish`.
    FinishIncoming(u32),
    /// `future-trailers.get`.
    TrailersGet(u32),
    /// `outgoing-body.write`.
    OutgoingStream(u32),
    /// `outgoing-body.finish(this, trailers)`.
    FinishOutgoing { body: u32, trailers: Option<u32> },
    /// `future-incoming-response.get`.
    ResponseGet(u32),
    /// `http-error-code` of the `wasi:io` error the guest holds.
    ErrorCodeOf,
    /// `outgoing-handler.handle(request, options)`.
    Handle { request: u32, options: Option<u32> },
    /// The incoming request and its `response-outparam`, handed to the guest's
    /// `wasi:http/incoming-handler.handle`.
    Incoming,
    /// The guest's `wasi:http/incoming-handler.handle` returned.
    Handled,
}

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

/// What the host answered a `wasi:http` call.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum HttpAnswer {
    /// `()`, or `result`'s ok without a value.
    Done,
    /// `result`'s error without a value (`body` called twice, a refused `set-method`).
    Refused,
    /// A new resource's number.
    Resource(u32),
    /// A new stream.
    Stream(StreamId),
    /// A `header-error`.
    HeaderError(HeaderError),
    /// `fields.has`.
    Bool(bool),
    /// `fields.get`.
    Values(Vec<Bytes>),
    /// `fields.entries`.
    Entries(Entries),
    /// A request's `method`.
    Method(Method),
    /// `path-with-query` or `authority`.
    Text(Option<String>),
    /// `scheme`.
    Scheme(Option<Scheme>),
    /// A status code.
    Status(u16),
    /// A timeout (ns).
    Duration(Option<u64>),
    /// An `error-code` (`handle`, `outgoing-body.finish`).
    Error(ErrorCode),
    /// `http-error-code`.
    ErrorCode(Option<ErrorCode>),
    /// `future-incoming-response.get` or `future-trailers.get`: `none` (not ready yet),
    /// `some(err)` (already taken), or the outcome: a response's or the trailers' number
    /// (`none` for a body without trailers), or the `error-code`.
    Future(Option<Result<Result<Option<u32>, ErrorCode>, ()>>),
    /// `outgoing-handler.handle`: the request head the host was given, and the new
    /// `future-incoming-response`'s number or the error.
    Sent {
        /// The head, for people reading the trace (not checked on replay).
        head: Box<RequestHead>,
        /// The future's number, or the error.
        result: Result<u32, ErrorCode>,
    },
    /// `response-outparam.set` with a response: the status and headers the host was given
    /// (replaying, they are printed as the response's head).
    Responded {
        /// The status code.
        status: u16,
        /// The header entries.
        headers: Entries,
    },
    /// The incoming request handed to the handler: its head, and the numbers of the
    /// `incoming-request` and `response-outparam` resources.
    Incoming {
        /// The request's head (its headers are read through [`HttpCall::Headers`]).
        head: Box<RequestHead>,
        /// The `incoming-request`'s number.
        request: u32,
        /// The `response-outparam`'s number.
        outparam: u32,
    },
}

/// One `wasi:http` call and the host's answer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HttpEvent {
    /// The call.
    pub call: HttpCall,
    /// The answer.
    pub answer: HttpAnswer,
}

impl HttpCall {
    /// Where `self` (the recorded call) and `actual` differ, in words, when they are the same
    /// kind of call: `header x-request-id: expected "a1", actual "b7"`.
    pub fn difference(&self, actual: &HttpCall) -> Option<String> {
        use HttpCall as C;
        let q = |b: &[u8]| format!("{:?}", String::from_utf8_lossy(b));
        match (self, actual) {
            (
                C::FieldsAppend { name, value: a, .. },
                C::FieldsAppend {
                    name: n2, value: b, ..
                },
            ) if name == n2 && a != b => Some(format!(
                "header {name}: expected {}, actual {}",
                q(&a.0),
                q(&b.0)
            )),
            (
                C::FieldsSet {
                    name, values: a, ..
                },
                C::FieldsSet {
                    name: n2,
                    values: b,
                    ..
                },
            ) if name == n2 && a != b => {
                let list = |v: &[Bytes]| v.iter().map(|b| q(&b.0)).collect::<Vec<_>>().join(", ");
                Some(format!(
                    "header {name}: expected {}, actual {}",
                    list(a),
                    list(b)
                ))
            }
            (C::FieldsFromList(a), C::FieldsFromList(b)) => {
                let pos = a.iter().zip(b).position(|(x, y)| x != y);
                match pos {
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
            (C::SetMethod { method: a, .. }, C::SetMethod { method: b, .. }) => Some(format!(
                "method: expected {}, actual {}",
                method_name(a),
                method_name(b)
            )),
            (C::SetPathWithQuery { path: a, .. }, C::SetPathWithQuery { path: b, .. }) => {
                Some(format!("path-with-query: expected {a:?}, actual {b:?}"))
            }
            (C::SetAuthority { authority: a, .. }, C::SetAuthority { authority: b, .. }) => {
                Some(format!("authority: expected {a:?}, actual {b:?}"))
            }
            (C::SetStatus { status: a, .. }, C::SetStatus { status: b, .. }) => {
                Some(format!("status: expected {a}, actual {b}"))
            }
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

impl HttpEvent {
    /// What the host answered, shortly: `fields 4`, `200`, `connection-refused`.
    pub fn answer(&self) -> String {
        self.answer.to_string()
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

impl fmt::Display for HttpAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpAnswer::Done => f.write_str("ok"),
            HttpAnswer::Refused => f.write_str("err"),
            HttpAnswer::Resource(n) => write!(f, "http resource {n}"),
            HttpAnswer::Stream(s) => write!(f, "{s}"),
            HttpAnswer::HeaderError(e) => f.write_str(&crate::wit_name(e)),
            HttpAnswer::Bool(b) => write!(f, "{b}"),
            HttpAnswer::Values(v) => {
                let v: Vec<String> = v.iter().map(|b| text(&b.0)).collect();
                write!(f, "[{}]", v.join(", "))
            }
            HttpAnswer::Entries(e) => write!(f, "{} entries", e.len()),
            HttpAnswer::Method(m) => f.write_str(&method_name(m)),
            HttpAnswer::Text(t) => write!(f, "{t:?}"),
            HttpAnswer::Scheme(s) => f.write_str(&scheme_name(s)),
            HttpAnswer::Status(s) => write!(f, "{s}"),
            HttpAnswer::Duration(d) => match d {
                Some(ns) => write!(f, "{ns} ns"),
                None => f.write_str("none"),
            },
            HttpAnswer::Error(e) => write!(f, "{e}"),
            HttpAnswer::ErrorCode(e) => match e {
                Some(e) => write!(f, "{e}"),
                None => f.write_str("none"),
            },
            HttpAnswer::Future(None) => f.write_str("not ready"),
            HttpAnswer::Future(Some(Err(()))) => f.write_str("already taken"),
            HttpAnswer::Future(Some(Ok(Err(e)))) => write!(f, "{e}"),
            HttpAnswer::Future(Some(Ok(Ok(Some(n))))) => write!(f, "http resource {n}"),
            HttpAnswer::Future(Some(Ok(Ok(None)))) => f.write_str("no trailers"),
            HttpAnswer::Sent { head, result } => match result {
                Ok(n) => write!(f, "{} sent, future {n}", head.line()),
                Err(e) => write!(f, "{} not sent: {e}", head.line()),
            },
            HttpAnswer::Responded { status, headers } => {
                write!(f, "{status}, {} headers", headers.len())
            }
            HttpAnswer::Incoming {
                head,
                request,
                outparam,
            } => write!(
                f,
                "{} (request {request}, outparam {outparam})",
                head.line()
            ),
        }
    }
}

impl fmt::Display for HttpCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use HttpCall as C;
        match self {
            C::NewFields => f.write_str("http new fields"),
            C::FieldsFromList(e) => {
                f.write_str("http fields from-list [")?;
                for (i, (n, v)) in e.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}: {}", text(&v.0))?;
                }
                f.write_str("]")
            }
            C::FieldsGet { fields, name } => write!(f, "http fields {fields} get {name:?}"),
            C::FieldsHas { fields, name } => write!(f, "http fields {fields} has {name:?}"),
            C::FieldsSet {
                fields,
                name,
                values,
            } => {
                let v: Vec<String> = values.iter().map(|b| text(&b.0)).collect();
                write!(f, "http fields {fields} set {name}: {}", v.join(", "))
            }
            C::FieldsDelete { fields, name } => write!(f, "http fields {fields} delete {name:?}"),
            C::FieldsAppend {
                fields,
                name,
                value,
            } => write!(f, "http fields {fields} append {name}: {}", text(&value.0)),
            C::FieldsEntries(n) => write!(f, "http fields {n} entries"),
            C::FieldsClone(n) => write!(f, "http fields {n} clone"),
            C::Method(n) => write!(f, "http request {n} method"),
            C::PathWithQuery(n) => write!(f, "http request {n} path-with-query"),
            C::Scheme(n) => write!(f, "http request {n} scheme"),
            C::Authority(n) => write!(f, "http request {n} authority"),
            C::Headers(n) => write!(f, "http {n} headers"),
            C::Consume(n) => write!(f, "http {n} consume"),
            C::Body(n) => write!(f, "http {n} body"),
            C::NewRequest { headers } => write!(f, "http new outgoing-request (headers {headers})"),
            C::SetMethod { request, method } => {
                write!(
                    f,
                    "http request {request} set-method {}",
                    method_name(method)
                )
            }
            C::SetPathWithQuery { request, path } => {
                write!(f, "http request {request} set-path-with-query {path:?}")
            }
            C::SetScheme { request, scheme } => {
                write!(
                    f,
                    "http request {request} set-scheme {}",
                    scheme_name(scheme)
                )
            }
            C::SetAuthority { request, authority } => {
                write!(f, "http request {request} set-authority {authority:?}")
            }
            C::NewOptions => f.write_str("http new request-options"),
            C::Timeout { options, which } => {
                write!(
                    f,
                    "http options {options} {}-timeout",
                    crate::wit_name(which)
                )
            }
            C::SetTimeout {
                options,
                which,
                duration,
            } => write!(
                f,
                "http options {options} set-{}-timeout {duration:?}",
                crate::wit_name(which)
            ),
            C::Status(n) => write!(f, "http response {n} status"),
            C::NewResponse { headers } => {
                write!(f, "http new outgoing-response (headers {headers})")
            }
            C::SetStatus { response, status } => {
                write!(f, "http response {response} set-status-code {status}")
            }
            C::SetResponse { outparam, response } => match response {
                Ok(r) => write!(f, "http response-outparam {outparam} set response {r}"),
                Err(e) => write!(f, "http response-outparam {outparam} set error {e}"),
            },
            C::IncomingStream(n) => write!(f, "http incoming-body {n} stream"),
            C::FinishIncoming(n) => write!(f, "http incoming-body {n} finish"),
            C::TrailersGet(n) => write!(f, "http future-trailers {n} get"),
            C::OutgoingStream(n) => write!(f, "http outgoing-body {n} write"),
            C::FinishOutgoing { body, trailers } => match trailers {
                Some(t) => write!(f, "http outgoing-body {body} finish (trailers {t})"),
                None => write!(f, "http outgoing-body {body} finish"),
            },
            C::ResponseGet(n) => write!(f, "http future-incoming-response {n} get"),
            C::ErrorCodeOf => f.write_str("http http-error-code"),
            C::Handle { request, options } => match options {
                Some(o) => write!(f, "http handle request {request} (options {o})"),
                None => write!(f, "http handle request {request}"),
            },
            C::Incoming => f.write_str("http incoming request"),
            C::Handled => f.write_str("http incoming-handler.handle returned"),
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

/// The HTTP exchanges in `events`, in the order they started (see [`Exchange`]).
pub fn exchanges(events: &[crate::Event]) -> Vec<Exchange> {
    use crate::Event;
    use std::collections::HashMap;
    let mut out: Vec<Exchange> = Vec::new();
    // Which exchange a future or outparam starts, and each resource's parent (a response's
    // future or outparam, a body's response), found in any order.
    let mut root: HashMap<u32, usize> = HashMap::new();
    let mut parent: HashMap<u32, u32> = HashMap::new();
    let mut stream_of: HashMap<StreamId, u32> = HashMap::new();
    // Non-empty reads and writes, per stream: (bytes, chunks).
    let mut reads: HashMap<StreamId, (u64, u64)> = HashMap::new();
    let mut writes: HashMap<StreamId, (u64, u64)> = HashMap::new();
    let new = |out: &mut Vec<Exchange>, head: &RequestHead, incoming| {
        out.push(Exchange {
            incoming,
            head: head.clone(),
            outcome: None,
            body_bytes: 0,
            chunks: 0,
        });
        out.len() - 1
    };
    let mut statuses: Vec<(u32, u16)> = Vec::new();
    for e in events {
        match e {
            Event::Http(HttpEvent { call, answer }) => match (call, answer) {
                (_, HttpAnswer::Sent { head, result }) => {
                    let i = new(&mut out, head, false);
                    match result {
                        Ok(future) => {
                            root.insert(*future, i);
                        }
                        Err(e) => out[i].outcome = Some(Err(e.clone())),
                    }
                }
                (_, HttpAnswer::Incoming { head, outparam, .. }) => {
                    let i = new(&mut out, head, true);
                    root.insert(*outparam, i);
                }
                (HttpCall::ResponseGet(f), HttpAnswer::Future(Some(Ok(r)))) => {
                    if let Some(&i) = root.get(f) {
                        match r {
                            Ok(Some(resp)) => {
                                parent.insert(*resp, *f);
                                out[i].outcome = Some(Ok(None));
                            }
                            Ok(None) => {}
                            Err(e) => out[i].outcome = Some(Err(e.clone())),
                        }
                    }
                }
                (HttpCall::SetResponse { outparam, response }, answer) => {
                    if let Some(&i) = root.get(outparam) {
                        match response {
                            Ok(r) => {
                                parent.insert(*r, *outparam);
                                let status = match answer {
                                    HttpAnswer::Responded { status, .. } => Some(*status),
                                    _ => None,
                                };
                                out[i].outcome = Some(Ok(status));
                            }
                            Err(e) => out[i].outcome = Some(Err(e.clone())),
                        }
                    }
                }
                (HttpCall::Status(r), HttpAnswer::Status(s)) => statuses.push((*r, *s)),
                (HttpCall::Consume(r) | HttpCall::Body(r), HttpAnswer::Resource(b)) => {
                    parent.insert(*b, *r);
                }
                (
                    HttpCall::IncomingStream(b) | HttpCall::OutgoingStream(b),
                    HttpAnswer::Stream(s),
                ) => {
                    stream_of.insert(*s, *b);
                }
                _ => {}
            },
            Event::Read {
                stream,
                result: Ok(data),
                ..
            } if !data.0.is_empty() => {
                let r = reads.entry(*stream).or_default();
                r.0 += data.0.len() as u64;
                r.1 += 1;
            }
            Event::Write {
                stream,
                len,
                result: Ok(()),
                ..
            } if *len > 0 => {
                let w = writes.entry(*stream).or_default();
                w.0 += len;
                w.1 += 1;
            }
            _ => {}
        }
    }
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
        if let (Some((bytes, chunks)), true) = (counted, is_response_body) {
            out[i].body_bytes += bytes;
            out[i].chunks += chunks;
        }
    }
    out
}
