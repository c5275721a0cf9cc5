//! `wasi:sockets`: `network`, `instance-network`, `ip-name-lookup`, `tcp`, `tcp-create-socket`,
//! `udp` and `udp-create-socket`.
//!
//! The interposer's `network`, `tcp-socket`, `udp-socket`, `resolve-address-stream`,
//! `incoming-datagram-stream` and `outgoing-datagram-stream` resources carry their number in
//! the trace (see `wasm_rr_trace::sockets`) and, when recording, the host's resource. A TCP
//! connection's streams and every `subscribe` pollable are the interposer's own `wasi:io`
//! resources. The recorder calls the host and logs each call with its answer; the replayer
//! checks the call (addresses, options, the bytes sent as length and hash) and returns the
//! recorded answer, never opening a socket.

use crate::Interposer;
use crate::exports::wasi::sockets::{
    instance_network, ip_name_lookup, network, tcp, tcp_create_socket, udp, udp_create_socket,
};
use crate::io::poll::new_pollable;
use crate::io::streams::{mark_network, new_child_input, new_child_output};
#[cfg(not(feature = "replay"))]
use crate::wasi::sockets as host;
#[cfg(not(feature = "replay"))]
use std::rc::Rc;
#[cfg(not(feature = "replay"))]
use wasm_rr_trace::Bytes;
#[cfg(feature = "replay")]
use wasm_rr_trace::Call;
use wasm_rr_trace::Event;
#[cfg(not(feature = "replay"))]
use wasm_rr_trace::sockets::Datagram;
use wasm_rr_trace::sockets::{
    ErrorCode, Family, Protocol, SentDatagram, Shutdown, SocketAnswer, SocketCall, SocketsEvent,
};

/// Defines a conversion between enums whose variants have the same names.
macro_rules! enum_conversion {
    ($name:ident: $from:ty => $to:ty; { $($v:ident),* $(,)? }) => {
        #[allow(dead_code)]
        fn $name(x: $from) -> $to {
            type From = $from;
            type To = $to;
            match x { $(From::$v => To::$v,)* }
        }
    };
}

#[cfg(not(feature = "replay"))]
enum_conversion! {
    err_from_host: host::network::ErrorCode => ErrorCode;
    {
        Unknown, AccessDenied, NotSupported, InvalidArgument, OutOfMemory, Timeout,
        ConcurrencyConflict, NotInProgress, WouldBlock, InvalidState, NewSocketLimit,
        AddressNotBindable, AddressInUse, RemoteUnreachable, ConnectionRefused, ConnectionReset,
        ConnectionAborted, DatagramTooLarge, NameUnresolvable, TemporaryResolverFailure,
        PermanentResolverFailure,
    }
}
enum_conversion! {
    err_to_wit: ErrorCode => network::ErrorCode;
    {
        Unknown, AccessDenied, NotSupported, InvalidArgument, OutOfMemory, Timeout,
        ConcurrencyConflict, NotInProgress, WouldBlock, InvalidState, NewSocketLimit,
        AddressNotBindable, AddressInUse, RemoteUnreachable, ConnectionRefused, ConnectionReset,
        ConnectionAborted, DatagramTooLarge, NameUnresolvable, TemporaryResolverFailure,
        PermanentResolverFailure,
    }
}
enum_conversion! { family_from_wit: network::IpAddressFamily => Family; { Ipv4, Ipv6 } }
enum_conversion! { family_to_wit: Family => network::IpAddressFamily; { Ipv4, Ipv6 } }
#[cfg(not(feature = "replay"))]
enum_conversion! { family_to_host: Family => host::network::IpAddressFamily; { Ipv4, Ipv6 } }
#[cfg(not(feature = "replay"))]
enum_conversion! { family_from_host: host::network::IpAddressFamily => Family; { Ipv4, Ipv6 } }
enum_conversion! { shutdown_from_wit: tcp::ShutdownType => Shutdown; { Receive, Send, Both } }
#[cfg(not(feature = "replay"))]
enum_conversion! { shutdown_to_host: Shutdown => host::tcp::ShutdownType; { Receive, Send, Both } }

/// Converts addresses between the trace and one set of WIT bindings (the exported one, or the
/// host's), whose types have the same shape: a module with `from_addr`, `to_addr`, `from_ip`
/// and `to_ip`.
macro_rules! address_conversions {
    ($module:ident, $($m:tt)*) => {
        #[allow(dead_code)]
        mod $module {
            use wasm_rr_trace::sockets::{IpAddress, SocketAddress};
            use $($m)* as n;

            pub fn from_addr(a: n::IpSocketAddress) -> SocketAddress {
                match a {
                    n::IpSocketAddress::Ipv4(a) => SocketAddress::Ipv4 {
                        address: [a.address.0, a.address.1, a.address.2, a.address.3],
                        port: a.port,
                    },
                    n::IpSocketAddress::Ipv6(a) => {
                        let x = a.address;
                        SocketAddress::Ipv6 {
                            address: [x.0, x.1, x.2, x.3, x.4, x.5, x.6, x.7],
                            port: a.port,
                            flow_info: a.flow_info,
                            scope_id: a.scope_id,
                        }
                    }
                }
            }

            pub fn to_addr(a: SocketAddress) -> n::IpSocketAddress {
                match a {
                    SocketAddress::Ipv4 { address: x, port } => {
                        n::IpSocketAddress::Ipv4(n::Ipv4SocketAddress {
                            port,
                            address: (x[0], x[1], x[2], x[3]),
                        })
                    }
                    SocketAddress::Ipv6 {
                        address: x,
                        port,
                        flow_info,
                        scope_id,
                    } => n::IpSocketAddress::Ipv6(n::Ipv6SocketAddress {
                        port,
                        flow_info,
                        address: (x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]),
                        scope_id,
                    }),
                }
            }

            pub fn from_ip(a: n::IpAddress) -> IpAddress {
                match a {
                    n::IpAddress::Ipv4(x) => IpAddress::Ipv4([x.0, x.1, x.2, x.3]),
                    n::IpAddress::Ipv6(x) => {
                        IpAddress::Ipv6([x.0, x.1, x.2, x.3, x.4, x.5, x.6, x.7])
                    }
                }
            }

            pub fn to_ip(a: IpAddress) -> n::IpAddress {
                match a {
                    IpAddress::Ipv4(x) => n::IpAddress::Ipv4((x[0], x[1], x[2], x[3])),
                    IpAddress::Ipv6(x) => {
                        n::IpAddress::Ipv6((x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]))
                    }
                }
            }
        }
    };
}

address_conversions!(wit_addr, crate::exports::wasi::sockets::network);
#[cfg(not(feature = "replay"))]
address_conversions!(host_addr, crate::wasi::sockets::network);
#[cfg(not(feature = "replay"))]
use host_addr::{from_addr as addr_from_host, from_ip as ip_from_host, to_addr as addr_to_host};
use wit_addr::{from_addr as addr_from_wit, to_addr as addr_to_wit, to_ip as ip_to_wit};

/// Recording: numbers for new resources, and host resources created by the call being logged,
/// waiting for their number to be turned into the interposer's own.
#[cfg(not(feature = "replay"))]
mod created {
    use std::cell::Cell;

    thread_local! {
        static NETWORKS: Cell<u32> = const { Cell::new(0) };
        static SOCKETS: Cell<u32> = const { Cell::new(0) };
        static LOOKUPS: Cell<u32> = const { Cell::new(0) };
        static DATAGRAM_STREAMS: Cell<u32> = const { Cell::new(0) };
    }

    fn next(counter: &'static std::thread::LocalKey<Cell<u32>>) -> u32 {
        counter.with(|n| {
            let v = n.get();
            n.set(v + 1);
            v
        })
    }

    pub fn network() -> u32 {
        next(&NETWORKS)
    }
    pub fn socket() -> u32 {
        next(&SOCKETS)
    }
    pub fn lookup() -> u32 {
        next(&LOOKUPS)
    }
    pub fn datagram_stream() -> u32 {
        next(&DATAGRAM_STREAMS)
    }

    pub use crate::stash::{put, take};
}

/// Logs (recording) one event and returns it.
#[cfg(not(feature = "replay"))]
fn logged(event: SocketsEvent) -> SocketsEvent {
    let event = Event::Sockets(event);
    crate::rr::log(&event);
    match event {
        Event::Sockets(e) => e,
        other => crate::rr::bad_event(other),
    }
}

/// The recorded event that answers `call`.
#[cfg(feature = "replay")]
fn replayed(call: wasm_rr_trace::sockets::SocketsCall) -> SocketsEvent {
    match crate::rr::next(Call::Sockets(call)) {
        Event::Sockets(e) => e,
        other => crate::rr::bad_event(other),
    }
}

/// Records or replays one event: `$live` (recording only) gives the whole event.
macro_rules! sockets_event {
    ($call:expr, $live:expr) => {{
        #[cfg(not(feature = "replay"))]
        let event = logged($live);
        #[cfg(feature = "replay")]
        let event = replayed($call);
        event
    }};
}

/// The recorded answer has another shape than the call's (a damaged trace).
fn wrong(what: impl std::fmt::Display) -> ! {
    crate::rr::fatal(&format!(
        "the trace answers a socket call with `{what}`, which does not fit it: the trace is damaged"
    ))
}

/// What a resource wraps: the host's when recording, nothing when replaying.
#[cfg(not(feature = "replay"))]
type Host<T> = Rc<T>;
/// What a resource wraps: the host's when recording, nothing when replaying.
#[cfg(feature = "replay")]
type Host<T> = std::marker::PhantomData<T>;

#[cfg(feature = "replay")]
mod host_types {
    pub struct Network;
    pub struct TcpSocket;
    pub struct UdpSocket;
    pub struct ResolveAddressStream;
    pub struct IncomingDatagramStream;
    pub struct OutgoingDatagramStream;
}
#[cfg(feature = "replay")]
use host_types as h;
#[cfg(not(feature = "replay"))]
mod h {
    pub use crate::wasi::sockets::ip_name_lookup::ResolveAddressStream;
    pub use crate::wasi::sockets::network::Network;
    pub use crate::wasi::sockets::tcp::TcpSocket;
    pub use crate::wasi::sockets::udp::{
        IncomingDatagramStream, OutgoingDatagramStream, UdpSocket,
    };
}

/// Replaying: the placeholder for a host resource.
#[cfg(feature = "replay")]
fn none<T>() -> Host<T> {
    std::marker::PhantomData
}

/// A pollable on the host resource `host` (recording), or a virtual one (replaying).
#[cfg(not(feature = "replay"))]
fn pollable_on<T: 'static>(
    host: &Rc<T>,
    subscribe: impl FnOnce(&T) -> crate::wasi::io::poll::Pollable,
) -> crate::exports::wasi::io::poll::Pollable {
    new_pollable(subscribe(host), Some(host.clone() as Rc<dyn std::any::Any>))
}

/// The exported `network` resource.
pub struct Network {
    id: u32,
    #[cfg_attr(feature = "replay", allow(dead_code))]
    host: Host<h::Network>,
}

/// The exported `tcp-socket` and `udp-socket` resources.
pub struct Socket<T> {
    id: u32,
    #[cfg_attr(feature = "replay", allow(dead_code))]
    host: Host<T>,
    /// UDP: how many of its datagram streams are alive (wasmtime traps on `stream` until the
    /// previous ones are dropped; the interposer traps alike, recording and replaying).
    live_streams: std::rc::Rc<std::cell::Cell<u32>>,
}

impl<T> Socket<T> {
    fn new(id: u32, host: Host<T>) -> Socket<T> {
        Socket {
            id,
            host,
            live_streams: Default::default(),
        }
    }
}

/// The exported `resolve-address-stream` resource.
pub struct ResolveAddressStream {
    id: u32,
    #[cfg_attr(feature = "replay", allow(dead_code))]
    host: Host<h::ResolveAddressStream>,
}

/// The exported `incoming-datagram-stream` and `outgoing-datagram-stream` resources.
pub struct DatagramStream<T> {
    id: u32,
    #[cfg_attr(feature = "replay", allow(dead_code))]
    host: Host<T>,
    /// The host socket, kept alive until the stream is dropped (see `io::streams`).
    _parent: Option<std::rc::Rc<dyn std::any::Any>>,
    /// The socket's count of live datagram streams.
    live: std::rc::Rc<std::cell::Cell<u32>>,
}

impl<T> Drop for DatagramStream<T> {
    fn drop(&mut self) {
        self.live.set(self.live.get() - 1);
    }
}

impl network::Guest for Interposer {
    type Network = Network;
}

impl network::GuestNetwork for Network {}

impl instance_network::Guest for Interposer {
    fn instance_network() -> network::Network {
        let event = sockets_event!(wasm_rr_trace::sockets::SocketsCall::InstanceNetwork, {
            created::put(Rc::new(host::instance_network::instance_network()));
            SocketsEvent::InstanceNetwork(created::network())
        });
        match event {
            SocketsEvent::InstanceNetwork(id) => {
                #[cfg(not(feature = "replay"))]
                let host = created::take();
                #[cfg(feature = "replay")]
                let host = none();
                network::Network::new(Network { id, host })
            }
            other => wrong(other.answer()),
        }
    }
}

/// One socket method: `$live` (recording only) calls the host with the host socket `$h` and
/// gives `Result<SocketAnswer, ErrorCode>`; gives the answer, or the error for the guest.
macro_rules! socket_call {
    ($protocol:expr, $s:expr, $call:expr, |$h:ident| $live:expr) => {{
        let protocol = $protocol;
        let socket = $s.id;
        let call = $call;
        let event = sockets_event!(
            wasm_rr_trace::sockets::SocketsCall::Socket {
                protocol,
                socket,
                call: call.clone()
            },
            {
                let $h = &*$s.host;
                let result: Result<SocketAnswer, ErrorCode> = $live;
                SocketsEvent::Socket {
                    protocol,
                    socket,
                    call,
                    result,
                }
            }
        );
        match event {
            SocketsEvent::Socket { result, .. } => result.map_err(err_to_wit),
            other => wrong(other.answer()),
        }
    }};
}

fn done(r: Result<SocketAnswer, network::ErrorCode>) -> Result<(), network::ErrorCode> {
    match r? {
        SocketAnswer::Done => Ok(()),
        other => wrong(other),
    }
}

fn number(r: Result<SocketAnswer, network::ErrorCode>) -> Result<u64, network::ErrorCode> {
    match r? {
        SocketAnswer::Number(n) => Ok(n),
        other => wrong(other),
    }
}

fn flag(r: Result<SocketAnswer, network::ErrorCode>) -> Result<bool, network::ErrorCode> {
    match r? {
        SocketAnswer::Bool(b) => Ok(b),
        other => wrong(other),
    }
}

fn address(
    r: Result<SocketAnswer, network::ErrorCode>,
) -> Result<network::IpSocketAddress, network::ErrorCode> {
    match r? {
        SocketAnswer::Address(a) => Ok(addr_to_wit(a)),
        other => wrong(other),
    }
}

/// The host's answer `Ok(())`, as an answer.
#[cfg(not(feature = "replay"))]
fn ok(r: Result<(), host::network::ErrorCode>) -> Result<SocketAnswer, ErrorCode> {
    r.map(|()| SocketAnswer::Done).map_err(err_from_host)
}

/// A host number, as an answer.
#[cfg(not(feature = "replay"))]
fn num<T: Into<u64>>(r: Result<T, host::network::ErrorCode>) -> Result<SocketAnswer, ErrorCode> {
    r.map(|n| SocketAnswer::Number(n.into()))
        .map_err(err_from_host)
}

/// A host address, as an answer.
#[cfg(not(feature = "replay"))]
fn addr(
    r: Result<host::network::IpSocketAddress, host::network::ErrorCode>,
) -> Result<SocketAnswer, ErrorCode> {
    r.map(|a| SocketAnswer::Address(addr_from_host(a)))
        .map_err(err_from_host)
}

/// A new stream pair for a connection (recording: the host's, stashed by the call), children
/// of the host socket `parent`.
fn connection_streams(
    input: wasm_rr_trace::StreamId,
    output: wasm_rr_trace::StreamId,
    parent: Option<std::rc::Rc<dyn std::any::Any>>,
) -> (
    crate::exports::wasi::io::streams::InputStream,
    crate::exports::wasi::io::streams::OutputStream,
) {
    mark_network(input);
    mark_network(output);
    #[cfg(not(feature = "replay"))]
    let (i, o) = (created::take(), created::take());
    #[cfg(feature = "replay")]
    let (i, o) = ((), None);
    (
        new_child_input(input, i, parent.clone()),
        new_child_output(output, o, parent),
    )
}

/// The host socket as a parent for its streams (recording), or nothing (replaying).
#[allow(unused_variables)]
fn parent<T: 'static>(host: &Host<T>) -> Option<std::rc::Rc<dyn std::any::Any>> {
    #[cfg(not(feature = "replay"))]
    return Some(host.clone() as Rc<dyn std::any::Any>);
    #[cfg(feature = "replay")]
    None
}

/// Recording: stashes a connection's host streams and numbers them.
#[cfg(not(feature = "replay"))]
fn stash_streams(
    (i, o): (
        crate::wasi::io::streams::InputStream,
        crate::wasi::io::streams::OutputStream,
    ),
) -> (wasm_rr_trace::StreamId, wasm_rr_trace::StreamId) {
    created::put(Rc::new(i));
    created::put(Rc::new(o));
    (
        crate::io::streams::next_stream_id(),
        crate::io::streams::next_stream_id(),
    )
}

/// `create-tcp-socket` or `create-udp-socket`: the host's `$create` (recording), the socket
/// kind `$protocol`, and the exported resource type `$socket`.
macro_rules! create_socket {
    ($address_family:expr, $protocol:expr, $create:path, $socket:ty) => {{
        let family = family_from_wit($address_family);
        let event = sockets_event!(
            wasm_rr_trace::sockets::SocketsCall::Create {
                protocol: $protocol,
                family
            },
            SocketsEvent::Create {
                protocol: $protocol,
                family,
                result: $create(family_to_host(family))
                    .map(|s| {
                        created::put(Rc::new(s));
                        created::socket()
                    })
                    .map_err(err_from_host),
            }
        );
        match event {
            SocketsEvent::Create { result, .. } => {
                let id = result.map_err(err_to_wit)?;
                #[cfg(not(feature = "replay"))]
                let host = created::take();
                #[cfg(feature = "replay")]
                let host = none();
                Ok(<$socket>::new(Socket::new(id, host)))
            }
            other => wrong(other.answer()),
        }
    }};
}

/// The methods `tcp-socket` and `udp-socket` share, for the socket kind `$protocol`.
macro_rules! shared_socket_methods {
    ($protocol:expr) => {
        fn start_bind(
            &self,
            network: network::NetworkBorrow<'_>,
            local_address: network::IpSocketAddress,
        ) -> Result<(), network::ErrorCode> {
            let net = network.get::<Network>();
            let address = addr_from_wit(local_address);
            done(socket_call!(
                $protocol,
                self,
                SocketCall::StartBind {
                    network: net.id,
                    address
                },
                |h| ok(h.start_bind(&net.host, addr_to_host(address)))
            ))
        }

        fn finish_bind(&self) -> Result<(), network::ErrorCode> {
            done(socket_call!($protocol, self, SocketCall::FinishBind, |h| {
                ok(h.finish_bind())
            }))
        }

        fn local_address(&self) -> Result<network::IpSocketAddress, network::ErrorCode> {
            address(socket_call!(
                $protocol,
                self,
                SocketCall::LocalAddress,
                |h| addr(h.local_address())
            ))
        }

        fn remote_address(&self) -> Result<network::IpSocketAddress, network::ErrorCode> {
            address(socket_call!(
                $protocol,
                self,
                SocketCall::RemoteAddress,
                |h| addr(h.remote_address())
            ))
        }

        fn address_family(&self) -> network::IpAddressFamily {
            match socket_call!($protocol, self, SocketCall::AddressFamily, |h| Ok(
                SocketAnswer::Family(family_from_host(h.address_family()))
            )) {
                Ok(SocketAnswer::Family(f)) => family_to_wit(f),
                Ok(other) => wrong(other),
                Err(e) => wrong(format!("{e:?}")),
            }
        }

        fn receive_buffer_size(&self) -> Result<u64, network::ErrorCode> {
            number(socket_call!(
                $protocol,
                self,
                SocketCall::ReceiveBufferSize,
                |h| num(h.receive_buffer_size())
            ))
        }

        fn set_receive_buffer_size(&self, value: u64) -> Result<(), network::ErrorCode> {
            done(socket_call!(
                $protocol,
                self,
                SocketCall::SetReceiveBufferSize(value),
                |h| ok(h.set_receive_buffer_size(value))
            ))
        }

        fn send_buffer_size(&self) -> Result<u64, network::ErrorCode> {
            number(socket_call!(
                $protocol,
                self,
                SocketCall::SendBufferSize,
                |h| num(h.send_buffer_size())
            ))
        }

        fn set_send_buffer_size(&self, value: u64) -> Result<(), network::ErrorCode> {
            done(socket_call!(
                $protocol,
                self,
                SocketCall::SetSendBufferSize(value),
                |h| ok(h.set_send_buffer_size(value))
            ))
        }

        fn subscribe(&self) -> crate::exports::wasi::io::poll::Pollable {
            #[cfg(not(feature = "replay"))]
            return pollable_on(&self.host, |h| h.subscribe());
            #[cfg(feature = "replay")]
            new_pollable((), None)
        }
    };
}

impl tcp::Guest for Interposer {
    type TcpSocket = Socket<h::TcpSocket>;
}

impl tcp_create_socket::Guest for Interposer {
    fn create_tcp_socket(
        address_family: network::IpAddressFamily,
    ) -> Result<tcp::TcpSocket, network::ErrorCode> {
        create_socket!(
            address_family,
            Protocol::Tcp,
            host::tcp_create_socket::create_tcp_socket,
            tcp::TcpSocket
        )
    }
}

impl tcp::GuestTcpSocket for Socket<h::TcpSocket> {
    shared_socket_methods!(Protocol::Tcp);

    fn start_connect(
        &self,
        network: network::NetworkBorrow<'_>,
        remote_address: network::IpSocketAddress,
    ) -> Result<(), network::ErrorCode> {
        let net = network.get::<Network>();
        let address = addr_from_wit(remote_address);
        done(socket_call!(
            Protocol::Tcp,
            self,
            SocketCall::StartConnect {
                network: net.id,
                address
            },
            |h| ok(h.start_connect(&net.host, addr_to_host(address)))
        ))
    }

    fn finish_connect(
        &self,
    ) -> Result<
        (
            crate::exports::wasi::io::streams::InputStream,
            crate::exports::wasi::io::streams::OutputStream,
        ),
        network::ErrorCode,
    > {
        match socket_call!(Protocol::Tcp, self, SocketCall::FinishConnect, |h| h
            .finish_connect()
            .map(|s| {
                let (i, o) = stash_streams(s);
                SocketAnswer::Streams(i, o)
            })
            .map_err(err_from_host))?
        {
            SocketAnswer::Streams(i, o) => Ok(connection_streams(i, o, parent(&self.host))),
            other => wrong(other),
        }
    }

    fn start_listen(&self) -> Result<(), network::ErrorCode> {
        done(socket_call!(
            Protocol::Tcp,
            self,
            SocketCall::StartListen,
            |h| ok(h.start_listen())
        ))
    }

    fn finish_listen(&self) -> Result<(), network::ErrorCode> {
        done(socket_call!(
            Protocol::Tcp,
            self,
            SocketCall::FinishListen,
            |h| ok(h.finish_listen())
        ))
    }

    fn accept(
        &self,
    ) -> Result<
        (
            tcp::TcpSocket,
            crate::exports::wasi::io::streams::InputStream,
            crate::exports::wasi::io::streams::OutputStream,
        ),
        network::ErrorCode,
    > {
        match socket_call!(Protocol::Tcp, self, SocketCall::Accept, |h| h
            .accept()
            .map(|(s, i, o)| {
                created::put(Rc::new(s));
                let id = created::socket();
                let (i, o) = stash_streams((i, o));
                SocketAnswer::Accepted(id, i, o)
            })
            .map_err(err_from_host))?
        {
            SocketAnswer::Accepted(id, i, o) => {
                #[cfg(not(feature = "replay"))]
                let host = created::take();
                #[cfg(feature = "replay")]
                let host = none();
                let streams = connection_streams(i, o, parent(&host));
                let socket = tcp::TcpSocket::new(Socket::new(id, host));
                Ok((socket, streams.0, streams.1))
            }
            other => wrong(other),
        }
    }

    fn is_listening(&self) -> bool {
        flag(socket_call!(
            Protocol::Tcp,
            self,
            SocketCall::IsListening,
            |h| Ok(SocketAnswer::Bool(h.is_listening()))
        ))
        .unwrap_or_else(|e| wrong(format!("{e:?}")))
    }

    fn set_listen_backlog_size(&self, value: u64) -> Result<(), network::ErrorCode> {
        done(socket_call!(
            Protocol::Tcp,
            self,
            SocketCall::SetListenBacklogSize(value),
            |h| ok(h.set_listen_backlog_size(value))
        ))
    }

    fn keep_alive_enabled(&self) -> Result<bool, network::ErrorCode> {
        flag(socket_call!(
            Protocol::Tcp,
            self,
            SocketCall::KeepAliveEnabled,
            |h| h
                .keep_alive_enabled()
                .map(SocketAnswer::Bool)
                .map_err(err_from_host)
        ))
    }

    fn set_keep_alive_enabled(&self, value: bool) -> Result<(), network::ErrorCode> {
        done(socket_call!(
            Protocol::Tcp,
            self,
            SocketCall::SetKeepAliveEnabled(value),
            |h| ok(h.set_keep_alive_enabled(value))
        ))
    }

    fn keep_alive_idle_time(&self) -> Result<u64, network::ErrorCode> {
        number(socket_call!(
            Protocol::Tcp,
            self,
            SocketCall::KeepAliveIdleTime,
            |h| num(h.keep_alive_idle_time())
        ))
    }

    fn set_keep_alive_idle_time(&self, value: u64) -> Result<(), network::ErrorCode> {
        done(socket_call!(
            Protocol::Tcp,
            self,
            SocketCall::SetKeepAliveIdleTime(value),
            |h| ok(h.set_keep_alive_idle_time(value))
        ))
    }

    fn keep_alive_interval(&self) -> Result<u64, network::ErrorCode> {
        number(socket_call!(
            Protocol::Tcp,
            self,
            SocketCall::KeepAliveInterval,
            |h| num(h.keep_alive_interval())
        ))
    }

    fn set_keep_alive_interval(&self, value: u64) -> Result<(), network::ErrorCode> {
        done(socket_call!(
            Protocol::Tcp,
            self,
            SocketCall::SetKeepAliveInterval(value),
            |h| ok(h.set_keep_alive_interval(value))
        ))
    }

    fn keep_alive_count(&self) -> Result<u32, network::ErrorCode> {
        number(socket_call!(
            Protocol::Tcp,
            self,
            SocketCall::KeepAliveCount,
            |h| num(h.keep_alive_count())
        ))
        .map(|n| n as u32)
    }

    fn set_keep_alive_count(&self, value: u32) -> Result<(), network::ErrorCode> {
        done(socket_call!(
            Protocol::Tcp,
            self,
            SocketCall::SetKeepAliveCount(value),
            |h| ok(h.set_keep_alive_count(value))
        ))
    }

    fn hop_limit(&self) -> Result<u8, network::ErrorCode> {
        number(socket_call!(
            Protocol::Tcp,
            self,
            SocketCall::HopLimit,
            |h| num(h.hop_limit())
        ))
        .map(|n| n as u8)
    }

    fn set_hop_limit(&self, value: u8) -> Result<(), network::ErrorCode> {
        done(socket_call!(
            Protocol::Tcp,
            self,
            SocketCall::SetHopLimit(value),
            |h| ok(h.set_hop_limit(value))
        ))
    }

    fn shutdown(&self, shutdown_type: tcp::ShutdownType) -> Result<(), network::ErrorCode> {
        let how = shutdown_from_wit(shutdown_type);
        done(socket_call!(
            Protocol::Tcp,
            self,
            SocketCall::Shutdown(how),
            |h| ok(h.shutdown(shutdown_to_host(how)))
        ))
    }
}

impl udp::Guest for Interposer {
    type UdpSocket = Socket<h::UdpSocket>;
    type IncomingDatagramStream = DatagramStream<h::IncomingDatagramStream>;
    type OutgoingDatagramStream = DatagramStream<h::OutgoingDatagramStream>;
}

impl udp_create_socket::Guest for Interposer {
    fn create_udp_socket(
        address_family: network::IpAddressFamily,
    ) -> Result<udp::UdpSocket, network::ErrorCode> {
        create_socket!(
            address_family,
            Protocol::Udp,
            host::udp_create_socket::create_udp_socket,
            udp::UdpSocket
        )
    }
}

impl udp::GuestUdpSocket for Socket<h::UdpSocket> {
    shared_socket_methods!(Protocol::Udp);

    fn stream(
        &self,
        remote_address: Option<network::IpSocketAddress>,
    ) -> Result<(udp::IncomingDatagramStream, udp::OutgoingDatagramStream), network::ErrorCode>
    {
        let remote = remote_address.map(addr_from_wit);
        if self.live_streams.get() > 0 {
            // wasmtime traps on this; trap the same way when replaying.
            crate::rr::guest_error(
                "udp-socket.stream was called while the socket's previous datagram streams are alive",
            );
        }
        match socket_call!(Protocol::Udp, self, SocketCall::Stream { remote }, |h| h
            .stream(remote.map(addr_to_host))
            .map(|(i, o)| {
                created::put(Rc::new(i));
                created::put(Rc::new(o));
                SocketAnswer::Datagrams(created::datagram_stream(), created::datagram_stream())
            })
            .map_err(err_from_host))?
        {
            SocketAnswer::Datagrams(i, o) => {
                #[cfg(not(feature = "replay"))]
                let (hi, ho) = (created::take(), created::take());
                #[cfg(feature = "replay")]
                let (hi, ho) = (none(), none());
                self.live_streams.set(2);
                Ok((
                    udp::IncomingDatagramStream::new(DatagramStream {
                        id: i,
                        host: hi,
                        _parent: parent(&self.host),
                        live: self.live_streams.clone(),
                    }),
                    udp::OutgoingDatagramStream::new(DatagramStream {
                        id: o,
                        host: ho,
                        _parent: parent(&self.host),
                        live: self.live_streams.clone(),
                    }),
                ))
            }
            other => wrong(other),
        }
    }

    fn unicast_hop_limit(&self) -> Result<u8, network::ErrorCode> {
        number(socket_call!(
            Protocol::Udp,
            self,
            SocketCall::HopLimit,
            |h| num(h.unicast_hop_limit())
        ))
        .map(|n| n as u8)
    }

    fn set_unicast_hop_limit(&self, value: u8) -> Result<(), network::ErrorCode> {
        done(socket_call!(
            Protocol::Udp,
            self,
            SocketCall::SetHopLimit(value),
            |h| ok(h.set_unicast_hop_limit(value))
        ))
    }
}

impl udp::GuestIncomingDatagramStream for DatagramStream<h::IncomingDatagramStream> {
    fn receive(&self, max_results: u64) -> Result<Vec<udp::IncomingDatagram>, network::ErrorCode> {
        let (stream, max) = (self.id, max_results);
        let event = sockets_event!(
            wasm_rr_trace::sockets::SocketsCall::Receive { stream, max },
            SocketsEvent::Receive {
                stream,
                max,
                result: self
                    .host
                    .receive(max)
                    .map(|ds| {
                        ds.into_iter()
                            .map(|d| Datagram {
                                data: Bytes(d.data),
                                from: addr_from_host(d.remote_address),
                            })
                            .collect()
                    })
                    .map_err(err_from_host),
            }
        );
        match event {
            SocketsEvent::Receive { result, .. } => result
                .map(|ds| {
                    ds.into_iter()
                        .map(|d| udp::IncomingDatagram {
                            data: d.data.0,
                            remote_address: addr_to_wit(d.from),
                        })
                        .collect()
                })
                .map_err(err_to_wit),
            other => wrong(other.answer()),
        }
    }

    fn subscribe(&self) -> crate::exports::wasi::io::poll::Pollable {
        #[cfg(not(feature = "replay"))]
        return pollable_on(&self.host, |h| h.subscribe());
        #[cfg(feature = "replay")]
        new_pollable((), None)
    }
}

impl udp::GuestOutgoingDatagramStream for DatagramStream<h::OutgoingDatagramStream> {
    fn check_send(&self) -> Result<u64, network::ErrorCode> {
        let stream = self.id;
        let event = sockets_event!(
            wasm_rr_trace::sockets::SocketsCall::CheckSend { stream },
            SocketsEvent::CheckSend {
                stream,
                result: self.host.check_send().map_err(err_from_host),
            }
        );
        match event {
            SocketsEvent::CheckSend { result, .. } => result.map_err(err_to_wit),
            other => wrong(other.answer()),
        }
    }

    fn send(&self, datagrams: Vec<udp::OutgoingDatagram>) -> Result<u64, network::ErrorCode> {
        let stream = self.id;
        // The host traps when more is sent than `check-send` allowed: write the trace first.
        crate::rr::flush();
        let sent: Vec<SentDatagram> = datagrams
            .iter()
            .map(|d| SentDatagram {
                len: d.data.len() as u64,
                hash: wasm_rr_trace::output_hash(&d.data),
                to: d.remote_address.map(addr_from_wit),
            })
            .collect();
        let event = sockets_event!(
            wasm_rr_trace::sockets::SocketsCall::Send {
                stream,
                datagrams: sent.clone()
            },
            {
                let to_host: Vec<host::udp::OutgoingDatagram> = datagrams
                    .into_iter()
                    .map(|d| host::udp::OutgoingDatagram {
                        data: d.data,
                        remote_address: d.remote_address.map(|a| addr_to_host(addr_from_wit(a))),
                    })
                    .collect();
                SocketsEvent::Send {
                    stream,
                    datagrams: sent,
                    result: self.host.send(&to_host).map_err(err_from_host),
                }
            }
        );
        match event {
            SocketsEvent::Send { result, .. } => result.map_err(err_to_wit),
            other => wrong(other.answer()),
        }
    }

    fn subscribe(&self) -> crate::exports::wasi::io::poll::Pollable {
        #[cfg(not(feature = "replay"))]
        return pollable_on(&self.host, |h| h.subscribe());
        #[cfg(feature = "replay")]
        new_pollable((), None)
    }
}

impl ip_name_lookup::Guest for Interposer {
    type ResolveAddressStream = ResolveAddressStream;

    fn resolve_addresses(
        network: network::NetworkBorrow<'_>,
        name: String,
    ) -> Result<ip_name_lookup::ResolveAddressStream, network::ErrorCode> {
        let net = network.get::<Network>();
        let event = sockets_event!(
            wasm_rr_trace::sockets::SocketsCall::ResolveAddresses {
                network: net.id,
                name: name.clone()
            },
            SocketsEvent::ResolveAddresses {
                network: net.id,
                name: name.clone(),
                result: host::ip_name_lookup::resolve_addresses(&net.host, &name)
                    .map(|s| {
                        created::put(Rc::new(s));
                        created::lookup()
                    })
                    .map_err(err_from_host),
            }
        );
        match event {
            SocketsEvent::ResolveAddresses { result, .. } => {
                let id = result.map_err(err_to_wit)?;
                #[cfg(not(feature = "replay"))]
                let host = created::take();
                #[cfg(feature = "replay")]
                let host = none();
                Ok(ip_name_lookup::ResolveAddressStream::new(
                    ResolveAddressStream { id, host },
                ))
            }
            other => wrong(other.answer()),
        }
    }
}

impl ip_name_lookup::GuestResolveAddressStream for ResolveAddressStream {
    fn resolve_next_address(&self) -> Result<Option<network::IpAddress>, network::ErrorCode> {
        let lookup = self.id;
        let event = sockets_event!(
            wasm_rr_trace::sockets::SocketsCall::ResolveNextAddress { lookup },
            SocketsEvent::ResolveNextAddress {
                lookup,
                result: self
                    .host
                    .resolve_next_address()
                    .map(|a| a.map(ip_from_host))
                    .map_err(err_from_host),
            }
        );
        match event {
            SocketsEvent::ResolveNextAddress { result, .. } => {
                result.map(|a| a.map(ip_to_wit)).map_err(err_to_wit)
            }
            other => wrong(other.answer()),
        }
    }

    fn subscribe(&self) -> crate::exports::wasi::io::poll::Pollable {
        #[cfg(not(feature = "replay"))]
        return pollable_on(&self.host, |h| h.subscribe());
        #[cfg(feature = "replay")]
        new_pollable((), None)
    }
}
