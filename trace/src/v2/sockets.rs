//! Format-2 events of `wasi:sockets` (read only).

use crate::StreamId;
use crate::sockets::{
    Datagram, ErrorCode, Family, IpAddress, Protocol, SentDatagram, ShutdownType as Shutdown,
    SocketAddress,
};
use serde::{Deserialize, Serialize};

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
