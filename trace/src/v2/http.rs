//! Format-2 events of `wasi:http` (read only).

use crate::http::{Entries, ErrorCode, HeaderError, Method, RequestHead, Scheme, Timeout};
use crate::{Bytes, StreamId};
use serde::{Deserialize, Serialize};

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
