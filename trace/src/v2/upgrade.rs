//! Format-2 events upgraded to the current [`crate::Event`]s: the same call and answer, in the
//! `{call, answer}` shape.

use super::Event;
use super::fs::{FsAnswer, FsCall, FsEvent};
use super::http::{HttpAnswer, HttpCall, HttpEvent};
use super::sockets::{SocketAnswer, SocketCall, SocketsEvent};
use crate::fs::{ErrorCode as FsError, Fd};
use crate::sockets::{ErrorCode as SocketError, Protocol};
use crate::{Fixed64, Request, cli, clocks, fs, http, poll, random, sockets, streams};

impl Event {
    /// The event in the current shape.
    ///
    /// Errors: a repeat marker, or an answer of a kind that does not answer its call (a
    /// damaged trace that format 2's types allowed).
    pub(crate) fn upgrade(self) -> Result<crate::Event, String> {
        Ok(match self {
            Event::GetEnvironment(v) => cli::GetEnvironment {}.into_event(v),
            Event::GetArguments(v) => cli::GetArguments {}.into_event(v),
            Event::InitialCwd(v) => cli::InitialCwd {}.into_event(v),
            Event::Exit(status) => cli::Exit { status }.into_event(()),
            Event::ExitWithCode(code) => cli::ExitWithCode { code }.into_event(()),
            Event::RunReturned(status) => cli::RunReturned { status }.into_event(()),
            Event::TerminalStdin(b) => cli::GetTerminalStdin {}.into_event(b),
            Event::TerminalStdout(b) => cli::GetTerminalStdout {}.into_event(b),
            Event::TerminalStderr(b) => cli::GetTerminalStderr {}.into_event(b),
            Event::WallClockNow(d) => clocks::WallClockNow {}.into_event(d),
            Event::WallClockResolution(d) => clocks::WallClockResolution {}.into_event(d),
            Event::MonotonicClockNow(n) => clocks::MonotonicClockNow {}.into_event(n),
            Event::MonotonicClockResolution(n) => clocks::MonotonicClockResolution {}.into_event(n),
            Event::SubscribeDuration(when) => clocks::SubscribeDuration { when }.into_event(()),
            Event::SubscribeInstant(when) => clocks::SubscribeInstant { when }.into_event(()),
            Event::Poll { pollables, ready } => poll::Poll { pollables }.into_event(ready),
            Event::PollableReady(b) => poll::PollableReady {}.into_event(b),
            Event::PollableBlock => poll::PollableBlock {}.into_event(()),
            Event::RandomBytes(b) => random::GetRandomBytes {
                len: b.0.len() as u64,
            }
            .into_event(b),
            Event::RandomU64(v) => random::GetRandomU64 {}.into_event(random::Drawn(v)),
            Event::InsecureRandomBytes(b) => random::GetInsecureRandomBytes {
                len: b.0.len() as u64,
            }
            .into_event(b),
            Event::InsecureRandomU64(v) => {
                random::GetInsecureRandomU64 {}.into_event(random::Drawn(v))
            }
            Event::InsecureSeed(a, b) => {
                random::InsecureSeed {}.into_event((Fixed64(a), Fixed64(b)))
            }
            Event::Read {
                stream,
                len,
                blocking,
                result,
            } => streams::Read {
                stream,
                len,
                blocking,
            }
            .into_event(result),
            Event::Skip {
                stream,
                len,
                blocking,
                result,
            } => streams::Skip {
                stream,
                len,
                blocking,
            }
            .into_event(result),
            Event::CheckWrite { stream, result } => {
                streams::CheckWrite { stream }.into_event(result)
            }
            Event::Write {
                stream,
                op,
                len,
                hash,
                result,
            } => streams::Write {
                stream,
                op,
                len,
                hash: Fixed64(hash),
            }
            .into_event(result),
            Event::Flush {
                stream,
                blocking,
                result,
            } => streams::Flush { stream, blocking }.into_event(result),
            Event::Fs(e) => e.upgrade()?,
            Event::Sockets(e) => e.upgrade()?,
            Event::Http(e) => e.upgrade()?,
            Event::Repeat => return Err("a repeat marker where an event belongs".into()),
        })
    }
}

/// The answer of the format-2 result `$result` when it is `Ok($pat)`, as `$value`; the error
/// as it is; anything else does not answer the call `$what`.
macro_rules! answer {
    ($result:expr, $what:expr, $pat:pat => $value:expr) => {
        match $result {
            Ok($pat) => Ok($value),
            Err(e) => Err(e),
            #[allow(unreachable_patterns)]
            Ok(other) => return Err(format!("`{other:?}` does not answer {}", $what)),
        }
    };
}

impl FsEvent {
    fn upgrade(self) -> Result<crate::Event, String> {
        Ok(match self {
            FsEvent::GetDirectories(d) => fs::GetDirectories {}.into_event(d),
            FsEvent::ReadDirectoryEntry { dir, result } => {
                fs::ReadDirectoryEntry { dir }.into_event(result)
            }
            FsEvent::ErrorCode(code) => fs::FilesystemErrorCode {}.into_event(code),
            FsEvent::Descriptor { fd, call, result } => descriptor(fd, call, result)?,
        })
    }
}

/// A format-2 `descriptor` method event, upgraded.
fn descriptor(
    fd: Fd,
    call: FsCall,
    result: Result<FsAnswer, FsError>,
) -> Result<crate::Event, String> {
    let what = format!("{call:?} on fd {fd}");
    let r = result;
    Ok(match call {
        FsCall::ReadViaStream { offset } => {
            fs::ReadViaStream { fd, offset }.into_event(answer!(r, what, FsAnswer::Stream(s) => s))
        }
        FsCall::WriteViaStream { offset } => {
            fs::WriteViaStream { fd, offset }.into_event(answer!(r, what, FsAnswer::Stream(s) => s))
        }
        FsCall::AppendViaStream => {
            fs::AppendViaStream { fd }.into_event(answer!(r, what, FsAnswer::Stream(s) => s))
        }
        FsCall::Advise {
            offset,
            len,
            advice,
        } => fs::Advise {
            fd,
            offset,
            len,
            advice,
        }
        .into_event(answer!(r, what, FsAnswer::Done => ())),
        FsCall::SyncData => fs::SyncData { fd }.into_event(answer!(r, what, FsAnswer::Done => ())),
        FsCall::GetFlags => {
            fs::GetFlags { fd }.into_event(answer!(r, what, FsAnswer::Flags(b) => b))
        }
        FsCall::GetType => fs::GetType { fd }.into_event(answer!(r, what, FsAnswer::Type(t) => t)),
        FsCall::SetSize { size } => {
            fs::SetSize { fd, size }.into_event(answer!(r, what, FsAnswer::Done => ()))
        }
        FsCall::SetTimes { atime, mtime } => fs::SetTimes {
            fd,
            atime: Box::new(atime),
            mtime: Box::new(mtime),
        }
        .into_event(answer!(r, what, FsAnswer::Done => ())),
        FsCall::Read { len, offset } => fs::Read { fd, len, offset }
            .into_event(answer!(r, what, FsAnswer::Data(b, end) => (b, end))),
        FsCall::Write { len, hash, offset } => fs::Write {
            fd,
            len,
            hash: Fixed64(hash),
            offset,
        }
        .into_event(answer!(r, what, FsAnswer::Size(n) => n)),
        FsCall::ReadDirectory => {
            fs::ReadDirectory { fd }.into_event(answer!(r, what, FsAnswer::Dir(d) => d))
        }
        FsCall::Sync => fs::Sync { fd }.into_event(answer!(r, what, FsAnswer::Done => ())),
        FsCall::CreateDirectoryAt { path } => {
            fs::CreateDirectoryAt { fd, path }.into_event(answer!(r, what, FsAnswer::Done => ()))
        }
        FsCall::Stat => {
            fs::Stat { fd }.into_event(answer!(r, what, FsAnswer::Stat(s) => Box::new(s)))
        }
        FsCall::StatAt { path_flags, path } => fs::StatAt {
            fd,
            path_flags,
            path,
        }
        .into_event(answer!(r, what, FsAnswer::Stat(s) => Box::new(s))),
        FsCall::SetTimesAt {
            path_flags,
            path,
            atime,
            mtime,
        } => fs::SetTimesAt {
            fd,
            path_flags,
            path,
            atime: Box::new(atime),
            mtime: Box::new(mtime),
        }
        .into_event(answer!(r, what, FsAnswer::Done => ())),
        FsCall::LinkAt {
            old_path_flags,
            old_path,
            new_fd,
            new_path,
        } => fs::LinkAt {
            fd,
            old_path_flags,
            old_path,
            new_fd,
            new_path,
        }
        .into_event(answer!(r, what, FsAnswer::Done => ())),
        FsCall::OpenAt {
            path_flags,
            path,
            open_flags,
            flags,
        } => fs::OpenAt {
            fd,
            path_flags,
            path,
            open_flags,
            flags,
        }
        .into_event(answer!(r, what, FsAnswer::Fd(n) => n)),
        FsCall::ReadlinkAt { path } => {
            fs::ReadlinkAt { fd, path }.into_event(answer!(r, what, FsAnswer::Link(l) => l))
        }
        FsCall::RemoveDirectoryAt { path } => {
            fs::RemoveDirectoryAt { fd, path }.into_event(answer!(r, what, FsAnswer::Done => ()))
        }
        FsCall::RenameAt {
            old_path,
            new_fd,
            new_path,
        } => fs::RenameAt {
            fd,
            old_path,
            new_fd,
            new_path,
        }
        .into_event(answer!(r, what, FsAnswer::Done => ())),
        FsCall::SymlinkAt { old_path, new_path } => fs::SymlinkAt {
            fd,
            old_path,
            new_path,
        }
        .into_event(answer!(r, what, FsAnswer::Done => ())),
        FsCall::UnlinkFileAt { path } => {
            fs::UnlinkFileAt { fd, path }.into_event(answer!(r, what, FsAnswer::Done => ()))
        }
        FsCall::IsSameObject { other } => match r {
            Ok(FsAnswer::Bool(b)) => fs::IsSameObject { fd, other }.into_event(b),
            _ => return Err(format!("{r:?} does not answer {what}")),
        },
        FsCall::MetadataHash => fs::MetadataHash { fd }
            .into_event(answer!(r, what, FsAnswer::Hash(l, u) => (Fixed64(l), Fixed64(u)))),
        FsCall::MetadataHashAt { path_flags, path } => fs::MetadataHashAt {
            fd,
            path_flags,
            path,
        }
        .into_event(answer!(r, what, FsAnswer::Hash(l, u) => (Fixed64(l), Fixed64(u)))),
    })
}

impl SocketsEvent {
    fn upgrade(self) -> Result<crate::Event, String> {
        Ok(match self {
            SocketsEvent::InstanceNetwork(n) => sockets::InstanceNetwork {}.into_event(n),
            SocketsEvent::Create {
                protocol,
                family,
                result,
            } => sockets::Create { protocol, family }.into_event(result),
            SocketsEvent::Socket {
                protocol,
                socket,
                call,
                result,
            } => socket_method(protocol, socket, call, result)?,
            SocketsEvent::ResolveAddresses {
                network,
                name,
                result,
            } => sockets::ResolveAddresses { network, name }.into_event(result),
            SocketsEvent::ResolveNextAddress { lookup, result } => {
                sockets::ResolveNextAddress { lookup }.into_event(result)
            }
            SocketsEvent::Receive {
                stream,
                max,
                result,
            } => sockets::Receive { stream, max }.into_event(result),
            SocketsEvent::CheckSend { stream, result } => {
                sockets::CheckSend { stream }.into_event(result)
            }
            SocketsEvent::Send {
                stream,
                datagrams,
                result,
            } => sockets::Send { stream, datagrams }.into_event(result),
        })
    }
}

/// A format-2 `tcp-socket` or `udp-socket` method event, upgraded.
fn socket_method(
    protocol: Protocol,
    socket: u32,
    call: SocketCall,
    result: Result<SocketAnswer, SocketError>,
) -> Result<crate::Event, String> {
    use sockets as s;
    let what = format!("{call:?} on socket {socket}");
    let r = result;
    let (p, so) = (protocol, socket);
    macro_rules! done {
        ($call:expr) => {
            $call.into_event(answer!(r, what, SocketAnswer::Done => ()))
        };
    }
    macro_rules! number {
        ($call:expr, $t:ty) => {
            $call.into_event(answer!(r, what, SocketAnswer::Number(n) => n as $t))
        };
    }
    macro_rules! flag {
        ($call:expr) => {
            $call.into_event(answer!(r, what, SocketAnswer::Bool(b) => b))
        };
    }
    macro_rules! address {
        ($call:expr) => {
            $call.into_event(answer!(r, what, SocketAnswer::Address(a) => a))
        };
    }
    Ok(match call {
        SocketCall::StartBind { network, address } => done!(s::StartBind {
            protocol: p,
            socket: so,
            network,
            address
        }),
        SocketCall::FinishBind => done!(s::FinishBind {
            protocol: p,
            socket: so
        }),
        SocketCall::StartConnect { network, address } => done!(s::StartConnect {
            protocol: p,
            socket: so,
            network,
            address
        }),
        SocketCall::FinishConnect => s::FinishConnect {
            protocol: p,
            socket: so,
        }
        .into_event(answer!(r, what, SocketAnswer::Streams(i, o) => (i, o))),
        SocketCall::StartListen => done!(s::StartListen {
            protocol: p,
            socket: so
        }),
        SocketCall::FinishListen => done!(s::FinishListen {
            protocol: p,
            socket: so
        }),
        SocketCall::Accept => s::Accept {
            protocol: p,
            socket: so,
        }
        .into_event(answer!(r, what, SocketAnswer::Accepted(n, i, o) => (n, i, o))),
        SocketCall::Stream { remote } => s::Stream {
            protocol: p,
            socket: so,
            remote,
        }
        .into_event(answer!(r, what, SocketAnswer::Datagrams(i, o) => (i, o))),
        SocketCall::LocalAddress => address!(s::LocalAddress {
            protocol: p,
            socket: so
        }),
        SocketCall::RemoteAddress => address!(s::RemoteAddress {
            protocol: p,
            socket: so
        }),
        SocketCall::IsListening => match r {
            Ok(SocketAnswer::Bool(b)) => s::IsListening {
                protocol: p,
                socket: so,
            }
            .into_event(b),
            _ => return Err(format!("{r:?} does not answer {what}")),
        },
        SocketCall::AddressFamily => match r {
            Ok(SocketAnswer::Family(f)) => s::AddressFamily {
                protocol: p,
                socket: so,
            }
            .into_event(f),
            _ => return Err(format!("{r:?} does not answer {what}")),
        },
        SocketCall::SetListenBacklogSize(value) => done!(s::SetListenBacklogSize {
            protocol: p,
            socket: so,
            value
        }),
        SocketCall::KeepAliveEnabled => flag!(s::KeepAliveEnabled {
            protocol: p,
            socket: so
        }),
        SocketCall::SetKeepAliveEnabled(value) => done!(s::SetKeepAliveEnabled {
            protocol: p,
            socket: so,
            value
        }),
        SocketCall::KeepAliveIdleTime => number!(
            s::KeepAliveIdleTime {
                protocol: p,
                socket: so
            },
            u64
        ),
        SocketCall::SetKeepAliveIdleTime(value) => done!(s::SetKeepAliveIdleTime {
            protocol: p,
            socket: so,
            value
        }),
        SocketCall::KeepAliveInterval => number!(
            s::KeepAliveInterval {
                protocol: p,
                socket: so
            },
            u64
        ),
        SocketCall::SetKeepAliveInterval(value) => done!(s::SetKeepAliveInterval {
            protocol: p,
            socket: so,
            value
        }),
        SocketCall::KeepAliveCount => number!(
            s::KeepAliveCount {
                protocol: p,
                socket: so
            },
            u32
        ),
        SocketCall::SetKeepAliveCount(value) => done!(s::SetKeepAliveCount {
            protocol: p,
            socket: so,
            value
        }),
        SocketCall::HopLimit => number!(
            s::HopLimit {
                protocol: p,
                socket: so
            },
            u8
        ),
        SocketCall::SetHopLimit(value) => done!(s::SetHopLimit {
            protocol: p,
            socket: so,
            value
        }),
        SocketCall::ReceiveBufferSize => number!(
            s::ReceiveBufferSize {
                protocol: p,
                socket: so
            },
            u64
        ),
        SocketCall::SetReceiveBufferSize(value) => done!(s::SetReceiveBufferSize {
            protocol: p,
            socket: so,
            value
        }),
        SocketCall::SendBufferSize => number!(
            s::SendBufferSize {
                protocol: p,
                socket: so
            },
            u64
        ),
        SocketCall::SetSendBufferSize(value) => done!(s::SetSendBufferSize {
            protocol: p,
            socket: so,
            value
        }),
        SocketCall::Shutdown(how) => done!(s::Shutdown {
            protocol: p,
            socket: so,
            how
        }),
    })
}

impl HttpEvent {
    fn upgrade(self) -> Result<crate::Event, String> {
        use HttpAnswer as A;
        use HttpCall as C;
        use http as h;
        let HttpEvent { call, answer } = self;
        let bad = |answer: &HttpAnswer, call: &HttpCall| {
            Err(format!("`{answer:?}` does not answer {call:?}"))
        };
        let unit = |a: &HttpAnswer| match a {
            A::Done => Some(Ok(())),
            A::Refused => Some(Err(())),
            _ => None,
        };
        let header = |a: &HttpAnswer| match a {
            A::Done => Some(Ok(())),
            A::HeaderError(e) => Some(Err(*e)),
            _ => None,
        };
        let resource = |a: &HttpAnswer| match a {
            A::Resource(n) => Some(Ok(*n)),
            A::Refused => Some(Err(())),
            _ => None,
        };
        let stream = |a: &HttpAnswer| match a {
            A::Stream(s) => Some(Ok(*s)),
            A::Refused => Some(Err(())),
            _ => None,
        };
        let number = |a: &HttpAnswer| match a {
            A::Resource(n) => Some(*n),
            _ => None,
        };
        macro_rules! with {
            ($new:expr, $conv:expr) => {
                match $conv(&answer) {
                    Some(a) => $new.into_event(a),
                    None => return bad(&answer, &call),
                }
            };
        }
        Ok(match (call.clone(), answer.clone()) {
            (C::NewFields, _) => with!(h::NewFields {}, number),
            (C::FieldsFromList(entries), A::Resource(n)) => {
                h::FieldsFromList { entries }.into_event(Ok(n))
            }
            (C::FieldsFromList(entries), A::HeaderError(e)) => {
                h::FieldsFromList { entries }.into_event(Err(e))
            }
            (C::FieldsGet { fields, name }, A::Values(v)) => {
                h::FieldsGet { fields, name }.into_event(v)
            }
            (C::FieldsHas { fields, name }, A::Bool(b)) => {
                h::FieldsHas { fields, name }.into_event(b)
            }
            (
                C::FieldsSet {
                    fields,
                    name,
                    values,
                },
                _,
            ) => with!(
                h::FieldsSet {
                    fields,
                    name,
                    values
                },
                header
            ),
            (C::FieldsDelete { fields, name }, _) => {
                with!(h::FieldsDelete { fields, name }, header)
            }
            (
                C::FieldsAppend {
                    fields,
                    name,
                    value,
                },
                _,
            ) => with!(
                h::FieldsAppend {
                    fields,
                    name,
                    value
                },
                header
            ),
            (C::FieldsEntries(fields), A::Entries(e)) => h::FieldsEntries { fields }.into_event(e),
            (C::FieldsClone(fields), _) => with!(h::FieldsClone { fields }, number),
            (C::Method(request), A::Method(m)) => h::GetMethod { request }.into_event(m),
            (C::PathWithQuery(request), A::Text(t)) => {
                h::GetPathWithQuery { request }.into_event(t)
            }
            (C::Scheme(request), A::Scheme(s)) => h::GetScheme { request }.into_event(s),
            (C::Authority(request), A::Text(t)) => h::GetAuthority { request }.into_event(t),
            (C::Headers(of), _) => with!(h::GetHeaders { of }, number),
            (C::Consume(of), _) => with!(h::Consume { of }, resource),
            (C::Body(of), _) => with!(h::Body { of }, resource),
            (C::NewRequest { headers }, _) => with!(h::NewRequest { headers }, number),
            (C::SetMethod { request, method }, _) => {
                with!(h::SetMethod { request, method }, unit)
            }
            (C::SetPathWithQuery { request, path }, _) => {
                with!(h::SetPathWithQuery { request, path }, unit)
            }
            (C::SetScheme { request, scheme }, _) => {
                with!(h::SetScheme { request, scheme }, unit)
            }
            (C::SetAuthority { request, authority }, _) => {
                with!(h::SetAuthority { request, authority }, unit)
            }
            (C::NewOptions, _) => with!(h::NewOptions {}, number),
            (C::Timeout { options, which }, A::Duration(d)) => {
                h::GetTimeout { options, which }.into_event(d)
            }
            (
                C::SetTimeout {
                    options,
                    which,
                    duration,
                },
                _,
            ) => with!(
                h::SetTimeout {
                    options,
                    which,
                    duration
                },
                unit
            ),
            (C::Status(response), A::Status(s)) => h::GetStatus { response }.into_event(s),
            (C::NewResponse { headers }, _) => with!(h::NewResponse { headers }, number),
            (C::SetStatus { response, status }, _) => {
                with!(h::SetStatus { response, status }, unit)
            }
            (C::SetResponse { outparam, response }, A::Done) => {
                h::SetResponse { outparam, response }.into_event(None)
            }
            (C::SetResponse { outparam, response }, A::Responded { status, headers }) => {
                h::SetResponse { outparam, response }
                    .into_event(Some(h::ResponseHead { status, headers }))
            }
            (C::IncomingStream(body), _) => with!(h::IncomingStream { body }, stream),
            (C::FinishIncoming(body), _) => with!(h::FinishIncoming { body }, number),
            (C::TrailersGet(trailers), A::Future(f)) => h::TrailersGet { trailers }.into_event(f),
            (C::OutgoingStream(body), _) => with!(h::OutgoingStream { body }, stream),
            (C::FinishOutgoing { body, trailers }, A::Done) => {
                h::FinishOutgoing { body, trailers }.into_event(Ok(()))
            }
            (C::FinishOutgoing { body, trailers }, A::Error(e)) => {
                h::FinishOutgoing { body, trailers }.into_event(Err(e))
            }
            (C::ResponseGet(future), A::Future(f)) => {
                let f = match f {
                    Some(Ok(Ok(Some(n)))) => Some(Ok(Ok(n))),
                    Some(Ok(Ok(None))) => return bad(&answer, &call),
                    Some(Ok(Err(e))) => Some(Ok(Err(e))),
                    Some(Err(())) => Some(Err(())),
                    None => None,
                };
                h::ResponseGet { future }.into_event(f)
            }
            (C::ErrorCodeOf, A::ErrorCode(e)) => h::ErrorCodeOf {}.into_event(e),
            (C::Handle { request, options }, A::Sent { head, result }) => {
                h::Handle { request, options }.into_event(h::Sent { head, result })
            }
            (
                C::Incoming,
                A::Incoming {
                    head,
                    request,
                    outparam,
                },
            ) => h::Incoming {}.into_event(h::IncomingRequest {
                head,
                request,
                outparam,
            }),
            (C::Handled, A::Done) => h::Handled {}.into_event(()),
            _ => return bad(&answer, &call),
        })
    }
}
