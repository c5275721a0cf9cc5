//! Conversions of `method`, `scheme`, `header-error` and `error-code` between the trace's types
//! and the WIT bindings': `wit` for the exported interface, `hostc` for the host's.

/// Converts `method`, `scheme`, `header-error` and `error-code` between the trace and one set
/// of WIT bindings (the exported one, or the host's): a module with `method_from`,
/// `method_to`, `scheme_from`, `scheme_to`, `header_error_from`, `header_error_to`,
/// `error_from` and `error_to`.
macro_rules! http_conversions {
    ($module:ident, $($m:tt)*) => {
        #[allow(dead_code)]
        pub(crate) mod $module {
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
http_conversions!(hostc, crate::wasi::http::types);
