//! Events of `wasi:sockets` (`network`, `instance-network`, `ip-name-lookup`, `tcp`,
//! `tcp-create-socket`, `udp`, `udp-create-socket`).
//!
//! Networks, sockets, name-lookup streams and datagram streams are numbered in the order the
//! host handed them out, each kind from 0 up; a TCP connection's streams share the numbering of
//! every other [`StreamId`], and their bytes are recorded like any stream's. Every socket method
//! is one [`SocketsEvent::Tcp`] or [`SocketsEvent::Udp`]: the socket, the call with the
//! arguments replay checks, and the host's answer or [`ErrorCode`] (`would-block` included:
//! non-blocking clients see it constantly, and it costs a few bytes, or one when repeated).

use crate::{Bytes, StreamId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// `wasi:sockets/network.error-code`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum ErrorCode {
    Unknown,
    AccessDenied,
    NotSupported,
    InvalidArgument,
    OutOfMemory,
    Timeout,
    ConcurrencyConflict,
    NotInProgress,
    WouldBlock,
    InvalidState,
    NewSocketLimit,
    AddressNotBindable,
    AddressInUse,
    RemoteUnreachable,
    ConnectionRefused,
    ConnectionReset,
    ConnectionAborted,
    DatagramTooLarge,
    NameUnresolvable,
    TemporaryResolverFailure,
    PermanentResolverFailure,
}

/// `wasi:sockets/network.ip-address-family`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Family {
    Ipv4,
    Ipv6,
}

/// `wasi:sockets/network.ip-address`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum IpAddress {
    Ipv4([u8; 4]),
    Ipv6([u16; 8]),
}

/// `wasi:sockets/network.ip-socket-address`, kept exact (flow info and scope id included).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SocketAddress {
    /// `ipv4`: address and port.
    Ipv4 {
        /// The address.
        address: [u8; 4],
        /// The port.
        port: u16,
    },
    /// `ipv6`: address, port, flow info and scope id.
    Ipv6 {
        /// The address.
        address: [u16; 8],
        /// The port.
        port: u16,
        /// `flow-info`.
        flow_info: u32,
        /// `scope-id`.
        scope_id: u32,
    },
}

/// `wasi:sockets/tcp.shutdown-type`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Shutdown {
    Receive,
    Send,
    Both,
}

/// A `tcp-socket` or `udp-socket` method with the arguments replay checks. Durations are ns.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum SocketCall {
    StartBind {
        network: u32,
        address: SocketAddress,
    },
    FinishBind,
    StartConnect {
        network: u32,
        address: SocketAddress,
    },
    FinishConnect,
    StartListen,
    FinishListen,
    Accept,
    /// `udp-socket.stream(remote-address)`.
    Stream {
        remote: Option<SocketAddress>,
    },
    LocalAddress,
    RemoteAddress,
    IsListening,
    AddressFamily,
    SetListenBacklogSize(u64),
    KeepAliveEnabled,
    SetKeepAliveEnabled(bool),
    KeepAliveIdleTime,
    SetKeepAliveIdleTime(u64),
    KeepAliveInterval,
    SetKeepAliveInterval(u64),
    KeepAliveCount,
    SetKeepAliveCount(u32),
    /// `tcp-socket.hop-limit`, `udp-socket.unicast-hop-limit`.
    HopLimit,
    SetHopLimit(u8),
    ReceiveBufferSize,
    SetReceiveBufferSize(u64),
    SendBufferSize,
    SetSendBufferSize(u64),
    Shutdown(Shutdown),
}

/// What the host answered a socket method, when it did not fail.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SocketAnswer {
    /// `result<_, …>`'s ok.
    Done,
    /// `finish-connect`: the connection's input and output streams.
    Streams(StreamId, StreamId),
    /// `accept`: the new socket's number and its input and output streams.
    Accepted(u32, StreamId, StreamId),
    /// `udp-socket.stream`: the incoming and outgoing datagram streams' numbers.
    Datagrams(u32, u32),
    /// An address.
    Address(SocketAddress),
    /// A flag (`is-listening`, `keep-alive-enabled`).
    Bool(bool),
    /// `address-family`.
    Family(Family),
    /// A size, count, duration (ns) or hop limit.
    Number(u64),
}

/// A datagram received: its data and where it came from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// The data.
    pub data: Bytes,
    /// The sender.
    pub from: SocketAddress,
}

/// A datagram sent, as replay checks it: its length, [`crate::output_hash`], and address.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SentDatagram {
    /// Bytes.
    pub len: u64,
    /// [`crate::output_hash`] of the data.
    #[serde(with = "crate::event::fixed64")]
    pub hash: u64,
    /// `remote-address`.
    pub to: Option<SocketAddress>,
}

/// Which protocol a socket speaks.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Protocol {
    Tcp,
    Udp,
}

/// One `wasi:sockets` call and the host's answer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SocketsEvent {
    /// `instance-network.instance-network`: the new network's number.
    InstanceNetwork(u32),
    /// `create-tcp-socket` or `create-udp-socket`: the new socket's number or the error.
    Create {
        /// TCP or UDP.
        protocol: Protocol,
        /// The `address-family` argument.
        family: Family,
        /// The new socket's number.
        result: Result<u32, ErrorCode>,
    },
    /// A `tcp-socket` or `udp-socket` method.
    Socket {
        /// TCP or UDP.
        protocol: Protocol,
        /// The socket's number.
        socket: u32,
        /// The method and its arguments.
        call: SocketCall,
        /// The answer.
        result: Result<SocketAnswer, ErrorCode>,
    },
    /// `ip-name-lookup.resolve-addresses`: the new lookup stream's number.
    ResolveAddresses {
        /// The network's number.
        network: u32,
        /// The name looked up.
        name: String,
        /// The stream's number, or the error.
        result: Result<u32, ErrorCode>,
    },
    /// `resolve-address-stream.resolve-next-address`.
    ResolveNextAddress {
        /// The lookup stream's number.
        lookup: u32,
        /// The next address, `None` at the end, or the error (`would-block` included).
        result: Result<Option<IpAddress>, ErrorCode>,
    },
    /// `incoming-datagram-stream.receive`.
    Receive {
        /// The datagram stream's number.
        stream: u32,
        /// The `max-results` argument.
        max: u64,
        /// The datagrams, or the error.
        result: Result<Vec<Datagram>, ErrorCode>,
    },
    /// `outgoing-datagram-stream.check-send`.
    CheckSend {
        /// The datagram stream's number.
        stream: u32,
        /// How many datagrams may be sent, or the error.
        result: Result<u64, ErrorCode>,
    },
    /// `outgoing-datagram-stream.send`.
    Send {
        /// The datagram stream's number.
        stream: u32,
        /// The datagrams.
        datagrams: Vec<SentDatagram>,
        /// How many were sent, or the error.
        result: Result<u64, ErrorCode>,
    },
}

/// A `wasi:sockets` call the guest made, with the arguments replay checks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SocketsCall {
    InstanceNetwork,
    Create {
        protocol: Protocol,
        family: Family,
    },
    Socket {
        protocol: Protocol,
        socket: u32,
        call: SocketCall,
    },
    ResolveAddresses {
        network: u32,
        name: String,
    },
    ResolveNextAddress {
        lookup: u32,
    },
    Receive {
        stream: u32,
        max: u64,
    },
    CheckSend {
        stream: u32,
    },
    Send {
        stream: u32,
        datagrams: Vec<SentDatagram>,
    },
}

impl SocketsEvent {
    /// The call this event answers.
    pub fn call(&self) -> SocketsCall {
        match self {
            SocketsEvent::InstanceNetwork(_) => SocketsCall::InstanceNetwork,
            SocketsEvent::Create {
                protocol, family, ..
            } => SocketsCall::Create {
                protocol: *protocol,
                family: *family,
            },
            SocketsEvent::Socket {
                protocol,
                socket,
                call,
                ..
            } => SocketsCall::Socket {
                protocol: *protocol,
                socket: *socket,
                call: call.clone(),
            },
            SocketsEvent::ResolveAddresses { network, name, .. } => SocketsCall::ResolveAddresses {
                network: *network,
                name: name.clone(),
            },
            SocketsEvent::ResolveNextAddress { lookup, .. } => {
                SocketsCall::ResolveNextAddress { lookup: *lookup }
            }
            SocketsEvent::Receive { stream, max, .. } => SocketsCall::Receive {
                stream: *stream,
                max: *max,
            },
            SocketsEvent::CheckSend { stream, .. } => SocketsCall::CheckSend { stream: *stream },
            SocketsEvent::Send {
                stream, datagrams, ..
            } => SocketsCall::Send {
                stream: *stream,
                datagrams: datagrams.clone(),
            },
        }
    }

    /// What the host answered, shortly: `ok`, `127.0.0.1:5432`, `would-block`, `2 datagrams`.
    pub fn answer(&self) -> String {
        fn or_err<T>(r: &Result<T, ErrorCode>, ok: impl FnOnce(&T) -> String) -> String {
            match r {
                Ok(v) => ok(v),
                Err(e) => e.to_string(),
            }
        }
        match self {
            SocketsEvent::InstanceNetwork(n) => format!("network {n}"),
            SocketsEvent::Create { result, .. } => or_err(result, |s| format!("socket {s}")),
            SocketsEvent::Socket { result, .. } => or_err(result, |a| a.to_string()),
            SocketsEvent::ResolveAddresses { result, .. } => {
                or_err(result, |l| format!("lookup {l}"))
            }
            SocketsEvent::ResolveNextAddress { result, .. } => or_err(result, |a| match a {
                Some(a) => a.to_string(),
                None => "end".into(),
            }),
            SocketsEvent::Receive { result, .. } => or_err(result, |d| {
                let bytes: usize = d.iter().map(|d| d.data.0.len()).sum();
                format!("{} datagrams, {bytes} B", d.len())
            }),
            SocketsEvent::CheckSend { result, .. } | SocketsEvent::Send { result, .. } => {
                or_err(result, |n| n.to_string())
            }
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::wit_name(self))
    }
}

impl fmt::Display for IpAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpAddress::Ipv4(a) => write!(f, "{}", std::net::Ipv4Addr::from(*a)),
            IpAddress::Ipv6(a) => write!(f, "{}", std::net::Ipv6Addr::from(*a)),
        }
    }
}

impl fmt::Display for SocketAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketAddress::Ipv4 { address, port } => {
                write!(f, "{}:{port}", std::net::Ipv4Addr::from(*address))
            }
            SocketAddress::Ipv6 { address, port, .. } => {
                write!(f, "[{}]:{port}", std::net::Ipv6Addr::from(*address))
            }
        }
    }
}

impl fmt::Display for SocketAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketAnswer::Done => f.write_str("ok"),
            SocketAnswer::Streams(i, o) => write!(f, "ok ({i} in, {o} out)"),
            SocketAnswer::Accepted(s, i, o) => write!(f, "socket {s} ({i} in, {o} out)"),
            SocketAnswer::Datagrams(i, o) => write!(f, "datagram streams {i} in, {o} out"),
            SocketAnswer::Address(a) => write!(f, "{a}"),
            SocketAnswer::Bool(b) => write!(f, "{b}"),
            SocketAnswer::Family(fam) => f.write_str(&crate::wit_name(fam)),
            SocketAnswer::Number(n) => write!(f, "{n}"),
        }
    }
}

impl fmt::Display for SocketsCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketsCall::InstanceNetwork => f.write_str("wasi:sockets/instance-network()"),
            SocketsCall::Create { protocol, family } => {
                write!(
                    f,
                    "create {} socket ({})",
                    crate::wit_name(protocol),
                    crate::wit_name(family)
                )
            }
            SocketsCall::Socket {
                protocol,
                socket,
                call,
            } => {
                let p = crate::wit_name(protocol);
                match call {
                    SocketCall::StartBind { address, .. } => {
                        write!(f, "{p} bind socket {socket} to {address}")
                    }
                    SocketCall::StartConnect { address, .. } => {
                        write!(f, "{p} connect socket {socket} to {address}")
                    }
                    SocketCall::Stream { remote: Some(a) } => {
                        write!(f, "{p} stream socket {socket} to {a}")
                    }
                    SocketCall::Stream { remote: None } => write!(f, "{p} stream socket {socket}"),
                    other => {
                        let name = match serde_json::to_value(other) {
                            Ok(serde_json::Value::String(s)) => s,
                            Ok(serde_json::Value::Object(m)) => {
                                let (k, v) = m.into_iter().next().unwrap_or_default();
                                format!("{k}({v})")
                            }
                            _ => "?".into(),
                        };
                        write!(f, "{p} {name} socket {socket}")
                    }
                }
            }
            SocketsCall::ResolveAddresses { name, .. } => write!(f, "resolve-addresses {name:?}"),
            SocketsCall::ResolveNextAddress { lookup } => {
                write!(f, "resolve-next-address lookup {lookup}")
            }
            SocketsCall::Receive { stream, max } => {
                write!(f, "udp receive datagram stream {stream} (up to {max})")
            }
            SocketsCall::CheckSend { stream } => {
                write!(f, "udp check-send datagram stream {stream}")
            }
            SocketsCall::Send { stream, datagrams } => {
                write!(f, "udp send datagram stream {stream}:")?;
                for d in datagrams {
                    write!(f, " {} B hash {:016x}", d.len, d.hash)?;
                    if let Some(to) = d.to {
                        write!(f, " to {to}")?;
                    }
                    f.write_str(";")?;
                }
                Ok(())
            }
        }
    }
}
