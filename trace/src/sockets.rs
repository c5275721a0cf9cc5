//! Events of `wasi:sockets` (`network`, `instance-network`, `ip-name-lookup`, `tcp`,
//! `tcp-create-socket`, `udp`, `udp-create-socket`).
//!
//! Networks, sockets, name-lookup streams and datagram streams are numbered in the order the
//! host handed them out, each kind from 0 up; a TCP connection's streams share the numbering of
//! every other [`StreamId`], and their bytes are recorded like any stream's. Every socket method
//! is one event: the protocol and the socket (`protocol`, `socket`), the arguments replay
//! checks, and the host's answer or [`ErrorCode`](crate::sockets::ErrorCode) (`would-block` included: non-blocking clients
//! see it constantly, and it costs a few bytes, or one when repeated). Durations are ns.

use crate::values::Fixed64;
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
pub enum ShutdownType {
    Receive,
    Send,
    Both,
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
    pub hash: Fixed64,
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

/// A socket's number in the trace.
pub type Socket = u32;

crate::event::interface! {
    Sockets = 192;
    /// `instance-network.instance-network`: the new network's number.
    InstanceNetwork {} -> u32;
    /// `create-tcp-socket` or `create-udp-socket(address-family)`: the new socket's number.
    Create { protocol: Protocol, family: Family } -> Result<Socket, ErrorCode>;
    /// `start-bind(network, local-address)`.
    StartBind {
        protocol: Protocol,
        socket: Socket,
        /// The network's number.
        network: u32,
        address: SocketAddress,
    } -> Result<(), ErrorCode>;
    /// `finish-bind`.
    FinishBind { protocol: Protocol, socket: Socket } -> Result<(), ErrorCode>;
    /// `tcp-socket.start-connect(network, remote-address)`.
    StartConnect {
        protocol: Protocol,
        socket: Socket,
        /// The network's number.
        network: u32,
        address: SocketAddress,
    } -> Result<(), ErrorCode>;
    /// `tcp-socket.finish-connect`: the connection's input and output streams.
    FinishConnect { protocol: Protocol, socket: Socket } -> Result<(StreamId, StreamId), ErrorCode>;
    /// `tcp-socket.start-listen`.
    StartListen { protocol: Protocol, socket: Socket } -> Result<(), ErrorCode>;
    /// `tcp-socket.finish-listen`.
    FinishListen { protocol: Protocol, socket: Socket } -> Result<(), ErrorCode>;
    /// `tcp-socket.accept`: the new socket's number and its input and output streams.
    Accept { protocol: Protocol, socket: Socket } -> Result<(Socket, StreamId, StreamId), ErrorCode>;
    /// `udp-socket.stream(remote-address)`: the incoming and outgoing datagram streams' numbers.
    Stream {
        protocol: Protocol,
        socket: Socket,
        remote: Option<SocketAddress>,
    } -> Result<(u32, u32), ErrorCode>;
    /// `local-address`.
    LocalAddress { protocol: Protocol, socket: Socket } -> Result<SocketAddress, ErrorCode>;
    /// `remote-address`.
    RemoteAddress { protocol: Protocol, socket: Socket } -> Result<SocketAddress, ErrorCode>;
    /// `tcp-socket.is-listening`.
    IsListening { protocol: Protocol, socket: Socket } -> bool;
    /// `address-family`.
    AddressFamily { protocol: Protocol, socket: Socket } -> Family;
    /// `tcp-socket.set-listen-backlog-size(value)`.
    SetListenBacklogSize { protocol: Protocol, socket: Socket, value: u64 } -> Result<(), ErrorCode>;
    /// `tcp-socket.keep-alive-enabled`.
    KeepAliveEnabled { protocol: Protocol, socket: Socket } -> Result<bool, ErrorCode>;
    /// `tcp-socket.set-keep-alive-enabled(value)`.
    SetKeepAliveEnabled { protocol: Protocol, socket: Socket, value: bool } -> Result<(), ErrorCode>;
    /// `tcp-socket.keep-alive-idle-time`, in ns.
    KeepAliveIdleTime { protocol: Protocol, socket: Socket } -> Result<u64, ErrorCode>;
    /// `tcp-socket.set-keep-alive-idle-time(value)`, in ns.
    SetKeepAliveIdleTime { protocol: Protocol, socket: Socket, value: u64 } -> Result<(), ErrorCode>;
    /// `tcp-socket.keep-alive-interval`, in ns.
    KeepAliveInterval { protocol: Protocol, socket: Socket } -> Result<u64, ErrorCode>;
    /// `tcp-socket.set-keep-alive-interval(value)`, in ns.
    SetKeepAliveInterval { protocol: Protocol, socket: Socket, value: u64 } -> Result<(), ErrorCode>;
    /// `tcp-socket.keep-alive-count`.
    KeepAliveCount { protocol: Protocol, socket: Socket } -> Result<u32, ErrorCode>;
    /// `tcp-socket.set-keep-alive-count(value)`.
    SetKeepAliveCount { protocol: Protocol, socket: Socket, value: u32 } -> Result<(), ErrorCode>;
    /// `tcp-socket.hop-limit` or `udp-socket.unicast-hop-limit`.
    HopLimit { protocol: Protocol, socket: Socket } -> Result<u8, ErrorCode>;
    /// `tcp-socket.set-hop-limit(value)` or `udp-socket.set-unicast-hop-limit(value)`.
    SetHopLimit { protocol: Protocol, socket: Socket, value: u8 } -> Result<(), ErrorCode>;
    /// `receive-buffer-size`, in bytes.
    ReceiveBufferSize { protocol: Protocol, socket: Socket } -> Result<u64, ErrorCode>;
    /// `set-receive-buffer-size(value)`, in bytes.
    SetReceiveBufferSize { protocol: Protocol, socket: Socket, value: u64 } -> Result<(), ErrorCode>;
    /// `send-buffer-size`, in bytes.
    SendBufferSize { protocol: Protocol, socket: Socket } -> Result<u64, ErrorCode>;
    /// `set-send-buffer-size(value)`, in bytes.
    SetSendBufferSize { protocol: Protocol, socket: Socket, value: u64 } -> Result<(), ErrorCode>;
    /// `tcp-socket.shutdown(shutdown-type)`.
    Shutdown { protocol: Protocol, socket: Socket, how: ShutdownType } -> Result<(), ErrorCode>;
    /// `ip-name-lookup.resolve-addresses(network, name)`: the new lookup stream's number.
    ResolveAddresses {
        /// The network's number.
        network: u32,
        /// The name looked up.
        name: String,
    } -> Result<u32, ErrorCode>;
    /// `resolve-address-stream.resolve-next-address`: the next address, `None` at the end
    /// (`would-block` included).
    ResolveNextAddress {
        /// The lookup stream's number.
        lookup: u32,
    } -> Result<Option<IpAddress>, ErrorCode>;
    /// `incoming-datagram-stream.receive(max-results)`: the datagrams.
    Receive {
        /// The datagram stream's number.
        stream: u32,
        /// The `max-results` argument.
        max: u64,
    } -> Result<Vec<Datagram>, ErrorCode>;
    /// `outgoing-datagram-stream.check-send`: how many datagrams may be sent.
    CheckSend {
        /// The datagram stream's number.
        stream: u32,
    } -> Result<u64, ErrorCode>;
    /// `outgoing-datagram-stream.send(datagrams)`: how many were sent.
    Send {
        /// The datagram stream's number.
        stream: u32,
        /// The datagrams, as replay checks them.
        datagrams: Vec<SentDatagram>,
    } -> Result<u64, ErrorCode>;
}

impl Call {
    /// The protocol and number of the socket a socket method is called on.
    pub fn socket(&self) -> Option<(Protocol, Socket)> {
        macro_rules! socket_of {
            ($($v:ident),*) => {
                match self {
                    $(Call::$v(c) => Some((c.protocol, c.socket)),)*
                    _ => None,
                }
            };
        }
        socket_of!(
            StartBind, FinishBind, StartConnect, FinishConnect, StartListen, FinishListen, Accept,
            Stream, LocalAddress, RemoteAddress, IsListening, AddressFamily, SetListenBacklogSize,
            KeepAliveEnabled, SetKeepAliveEnabled, KeepAliveIdleTime, SetKeepAliveIdleTime,
            KeepAliveInterval, SetKeepAliveInterval, KeepAliveCount, SetKeepAliveCount, HopLimit,
            SetHopLimit, ReceiveBufferSize, SetReceiveBufferSize, SendBufferSize,
            SetSendBufferSize, Shutdown
        )
    }

    /// The value a socket option setter sets, as it reads.
    fn set_value(&self) -> Option<String> {
        Some(match self {
            Call::SetListenBacklogSize(c) => c.value.to_string(),
            Call::SetKeepAliveEnabled(c) => c.value.to_string(),
            Call::SetKeepAliveIdleTime(c) => c.value.to_string(),
            Call::SetKeepAliveInterval(c) => c.value.to_string(),
            Call::SetKeepAliveCount(c) => c.value.to_string(),
            Call::SetHopLimit(c) => c.value.to_string(),
            Call::SetReceiveBufferSize(c) => c.value.to_string(),
            Call::SetSendBufferSize(c) => c.value.to_string(),
            Call::Shutdown(c) => format!("{:?}", crate::wit_name(&c.how)),
            _ => return None,
        })
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

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::InstanceNetwork(_) => f.write_str("wasi:sockets/instance-network()"),
            Call::Create(c) => write!(
                f,
                "create {} socket ({})",
                crate::wit_name(&c.protocol),
                crate::wit_name(&c.family)
            ),
            Call::StartBind(c) => write!(
                f,
                "{} bind socket {} to {}",
                crate::wit_name(&c.protocol),
                c.socket,
                c.address
            ),
            Call::StartConnect(c) => write!(
                f,
                "{} connect socket {} to {}",
                crate::wit_name(&c.protocol),
                c.socket,
                c.address
            ),
            Call::Stream(c) => {
                write!(f, "{} stream socket {}", crate::wit_name(&c.protocol), c.socket)?;
                match c.remote {
                    Some(a) => write!(f, " to {a}"),
                    None => Ok(()),
                }
            }
            Call::ResolveAddresses(c) => write!(f, "resolve-addresses {:?}", c.name),
            Call::ResolveNextAddress(c) => {
                write!(f, "resolve-next-address lookup {}", c.lookup)
            }
            Call::Receive(c) => write!(
                f,
                "udp receive datagram stream {} (up to {})",
                c.stream, c.max
            ),
            Call::CheckSend(c) => write!(f, "udp check-send datagram stream {}", c.stream),
            Call::Send(c) => {
                write!(f, "udp send datagram stream {}:", c.stream)?;
                for d in &c.datagrams {
                    write!(f, " {} B hash {}", d.len, d.hash)?;
                    if let Some(to) = d.to {
                        write!(f, " to {to}")?;
                    }
                    f.write_str(";")?;
                }
                Ok(())
            }
            other => {
                // Every other socket method: `tcp keep-alive-enabled socket 0`,
                // `tcp set-keep-alive-enabled(true) socket 0`.
                let (protocol, socket) = other.socket().unwrap_or((Protocol::Tcp, 0));
                write!(f, "{} {}", crate::wit_name(&protocol), crate::kebab(other.name()))?;
                if let Some(v) = other.set_value() {
                    write!(f, "({v})")?;
                }
                write!(f, " socket {socket}")
            }
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn or_err<T>(
            f: &mut fmt::Formatter<'_>,
            r: &Result<T, ErrorCode>,
            ok: impl FnOnce(&T) -> String,
        ) -> fmt::Result {
            match r {
                Ok(v) => f.write_str(&ok(v)),
                Err(e) => write!(f, "{e}"),
            }
        }
        let done = |_: &()| "ok".to_string();
        let number = |n: &u64| n.to_string();
        match self {
            Answer::InstanceNetwork(n) => write!(f, "network {n}"),
            Answer::Create(r) => or_err(f, r, |s| format!("socket {s}")),
            Answer::StartBind(r)
            | Answer::FinishBind(r)
            | Answer::StartConnect(r)
            | Answer::StartListen(r)
            | Answer::FinishListen(r)
            | Answer::SetListenBacklogSize(r)
            | Answer::SetKeepAliveEnabled(r)
            | Answer::SetKeepAliveIdleTime(r)
            | Answer::SetKeepAliveInterval(r)
            | Answer::SetKeepAliveCount(r)
            | Answer::SetHopLimit(r)
            | Answer::SetReceiveBufferSize(r)
            | Answer::SetSendBufferSize(r)
            | Answer::Shutdown(r) => or_err(f, r, done),
            Answer::FinishConnect(r) => or_err(f, r, |(i, o)| format!("ok ({i} in, {o} out)")),
            Answer::Accept(r) => or_err(f, r, |(s, i, o)| format!("socket {s} ({i} in, {o} out)")),
            Answer::Stream(r) => {
                or_err(f, r, |(i, o)| format!("datagram streams {i} in, {o} out"))
            }
            Answer::LocalAddress(r) | Answer::RemoteAddress(r) => or_err(f, r, |a| a.to_string()),
            Answer::IsListening(b) => write!(f, "{b}"),
            Answer::AddressFamily(family) => f.write_str(&crate::wit_name(family)),
            Answer::KeepAliveEnabled(r) => or_err(f, r, |b| b.to_string()),
            Answer::KeepAliveIdleTime(r)
            | Answer::KeepAliveInterval(r)
            | Answer::ReceiveBufferSize(r)
            | Answer::SendBufferSize(r)
            | Answer::CheckSend(r)
            | Answer::Send(r) => or_err(f, r, number),
            Answer::KeepAliveCount(r) => or_err(f, r, |n| n.to_string()),
            Answer::HopLimit(r) => or_err(f, r, |n| n.to_string()),
            Answer::ResolveAddresses(r) => or_err(f, r, |l| format!("lookup {l}")),
            Answer::ResolveNextAddress(r) => or_err(f, r, |a| match a {
                Some(a) => a.to_string(),
                None => "end".into(),
            }),
            Answer::Receive(r) => or_err(f, r, |d| {
                let bytes: usize = d.iter().map(|d| d.data.0.len()).sum();
                format!("{} datagrams, {bytes} B", d.len())
            }),
        }
    }
}
