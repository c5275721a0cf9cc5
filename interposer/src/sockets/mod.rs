//! `wasi:sockets`: `network`, `instance-network`, `ip-name-lookup`, `tcp`, `tcp-create-socket`,
//! `udp` and `udp-create-socket`.
//!
//! The interposer's `network`, `tcp-socket`, `udp-socket`, `resolve-address-stream`,
//! `incoming-datagram-stream` and `outgoing-datagram-stream` resources carry their number in
//! the trace (see `wasm_rr_trace::sockets`) and, recording, the host's resource. A TCP
//! connection's streams and every `subscribe` pollable are the interposer's own `wasi:io`
//! resources. Recording, the interposer calls the host and records each call with its answer;
//! replaying, it checks the call (addresses, options, the bytes sent as length and hash) and
//! returns the recorded answer, never opening a socket.
//!
//! This module holds what the interfaces share (networks, conversions, the socket resource);
//! [`tcp`], [`udp`] and [`lookup`] the methods of each.

pub mod lookup;
pub mod tcp;
pub mod udp;

use crate::Interposer;
use crate::exports::wasi::io::poll::Pollable;
use crate::exports::wasi::sockets::{instance_network, network};
use crate::io::poll::new_pollable;
use crate::rr::created::{self, Counter};
use crate::rr::{self, Live};
use crate::wasi::sockets as host;
use std::any::Any;
use std::rc::Rc;
use wasm_rr_trace::Request;
use wasm_rr_trace::sockets::{self as ev, ErrorCode, Family, Protocol, ShutdownType};

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
enum_conversion! { family_to_host: Family => host::network::IpAddressFamily; { Ipv4, Ipv6 } }
enum_conversion! { family_from_host: host::network::IpAddressFamily => Family; { Ipv4, Ipv6 } }
enum_conversion! {
    shutdown_from_wit: crate::exports::wasi::sockets::tcp::ShutdownType => ShutdownType;
    { Receive, Send, Both }
}
enum_conversion! {
    shutdown_to_host: ShutdownType => host::tcp::ShutdownType; { Receive, Send, Both }
}

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
address_conversions!(host_addr, crate::wasi::sockets::network);
use host_addr::{from_addr as addr_from_host, from_ip as ip_from_host, to_addr as addr_to_host};
use wit_addr::{from_addr as addr_from_wit, to_addr as addr_to_wit, to_ip as ip_to_wit};

thread_local! {
    /// Numbers for networks (recording).
    static NETWORKS: Counter = const { Counter::new(0) };
    /// Numbers for TCP and UDP sockets, in one count (recording).
    static SOCKETS: Counter = const { Counter::new(0) };
    /// Numbers for name lookups (recording).
    static LOOKUPS: Counter = const { Counter::new(0) };
    /// Numbers for datagram streams (recording).
    static DATAGRAM_STREAMS: Counter = const { Counter::new(0) };
}

/// A host `result` as recorded.
fn host_result<T, U>(
    r: Result<T, host::network::ErrorCode>,
    f: impl FnOnce(T) -> U,
) -> Result<U, ErrorCode> {
    r.map(f).map_err(err_from_host)
}

/// The exported `network` resource.
pub struct Network {
    id: u32,
    host: Live<host::network::Network>,
}

impl network::Guest for Interposer {
    type Network = Network;
}

impl network::GuestNetwork for Network {}

impl instance_network::Guest for Interposer {
    fn instance_network() -> network::Network {
        let id = rr::call(ev::InstanceNetwork {}, || {
            created::put(host::instance_network::instance_network(), &NETWORKS)
        });
        network::Network::new(Network {
            id,
            host: Live::created(),
        })
    }
}

/// Which protocol a host socket type speaks.
pub trait Speaks {
    /// TCP or UDP.
    const PROTOCOL: Protocol;
}

impl Speaks for host::tcp::TcpSocket {
    const PROTOCOL: Protocol = Protocol::Tcp;
}

impl Speaks for host::udp::UdpSocket {
    const PROTOCOL: Protocol = Protocol::Udp;
}

/// The exported `tcp-socket` and `udp-socket` resources (`T` is the host's socket type).
pub struct Socket<T> {
    id: u32,
    host: Live<Rc<T>>,
    /// UDP: how many of its datagram streams are alive (wasmtime traps on `stream` until the
    /// previous ones are dropped; the interposer traps alike, recording and replaying).
    live_streams: Rc<std::cell::Cell<u32>>,
}

impl<T: Speaks + 'static> Socket<T> {
    /// TCP or UDP.
    const PROTOCOL: Protocol = T::PROTOCOL;

    fn new(id: u32, host: Live<Rc<T>>) -> Socket<T> {
        Socket {
            id,
            host,
            live_streams: Default::default(),
        }
    }

    /// The host's socket (recording only).
    fn host(&self) -> &T {
        self.host.get()
    }

    /// The host socket as the parent of a stream (recording), or nothing (replaying).
    fn parent(&self) -> Option<Rc<dyn Any>> {
        rr::live(|| self.host.get().clone() as Rc<dyn Any>)
    }

    /// Records or replays one method of this socket: `live` calls the host (recording).
    fn call<C, A>(
        &self,
        call: C,
        live: impl FnOnce(&T) -> Result<A, host::network::ErrorCode>,
    ) -> Result<A, network::ErrorCode>
    where
        C: Request<Answer = Result<A, ErrorCode>>,
    {
        rr::call(call, || live(self.host()).map_err(err_from_host)).map_err(err_to_wit)
    }

    /// A pollable on the host socket (recording), or a virtual one (replaying).
    fn pollable(&self, subscribe: impl FnOnce(&T) -> crate::wasi::io::poll::Pollable) -> Pollable {
        new_pollable(rr::live(|| subscribe(self.host())), self.parent())
    }
}

/// `create-tcp-socket` or `create-udp-socket` with the host's `create` (recording): the new
/// socket.
fn create_socket<T: Speaks + 'static>(
    address_family: network::IpAddressFamily,
    create: impl FnOnce(host::network::IpAddressFamily) -> Result<T, host::network::ErrorCode>,
) -> Result<Socket<T>, network::ErrorCode> {
    let family = family_from_wit(address_family);
    let call = ev::Create {
        protocol: T::PROTOCOL,
        family,
    };
    let id = rr::call(call, || {
        host_result(create(family_to_host(family)), |s| {
            created::put(Rc::new(s), &SOCKETS)
        })
    })
    .map_err(err_to_wit)?;
    Ok(Socket::new(id, Live::created()))
}

/// The methods `tcp-socket` and `udp-socket` share.
macro_rules! shared_socket_methods {
    () => {
        fn start_bind(
            &self,
            network: network::NetworkBorrow<'_>,
            local_address: network::IpSocketAddress,
        ) -> Result<(), network::ErrorCode> {
            let net = network.get::<super::Network>();
            let address = super::addr_from_wit(local_address);
            let call = ev::StartBind {
                protocol: Self::PROTOCOL,
                socket: self.id,
                network: net.id,
                address,
            };
            self.call(call, |h| {
                h.start_bind(net.host.get(), super::addr_to_host(address))
            })
        }

        fn finish_bind(&self) -> Result<(), network::ErrorCode> {
            let call = ev::FinishBind {
                protocol: Self::PROTOCOL,
                socket: self.id,
            };
            self.call(call, |h| h.finish_bind())
        }

        fn local_address(&self) -> Result<network::IpSocketAddress, network::ErrorCode> {
            let call = ev::LocalAddress {
                protocol: Self::PROTOCOL,
                socket: self.id,
            };
            self.call(call, |h| h.local_address().map(super::addr_from_host))
                .map(super::addr_to_wit)
        }

        fn remote_address(&self) -> Result<network::IpSocketAddress, network::ErrorCode> {
            let call = ev::RemoteAddress {
                protocol: Self::PROTOCOL,
                socket: self.id,
            };
            self.call(call, |h| h.remote_address().map(super::addr_from_host))
                .map(super::addr_to_wit)
        }

        fn address_family(&self) -> network::IpAddressFamily {
            let call = ev::AddressFamily {
                protocol: Self::PROTOCOL,
                socket: self.id,
            };
            super::family_to_wit(rr::call(call, || {
                super::family_from_host(self.host().address_family())
            }))
        }

        fn receive_buffer_size(&self) -> Result<u64, network::ErrorCode> {
            let call = ev::ReceiveBufferSize {
                protocol: Self::PROTOCOL,
                socket: self.id,
            };
            self.call(call, |h| h.receive_buffer_size())
        }

        fn set_receive_buffer_size(&self, value: u64) -> Result<(), network::ErrorCode> {
            let call = ev::SetReceiveBufferSize {
                protocol: Self::PROTOCOL,
                socket: self.id,
                value,
            };
            self.call(call, |h| h.set_receive_buffer_size(value))
        }

        fn send_buffer_size(&self) -> Result<u64, network::ErrorCode> {
            let call = ev::SendBufferSize {
                protocol: Self::PROTOCOL,
                socket: self.id,
            };
            self.call(call, |h| h.send_buffer_size())
        }

        fn set_send_buffer_size(&self, value: u64) -> Result<(), network::ErrorCode> {
            let call = ev::SetSendBufferSize {
                protocol: Self::PROTOCOL,
                socket: self.id,
                value,
            };
            self.call(call, |h| h.set_send_buffer_size(value))
        }

        fn subscribe(&self) -> crate::exports::wasi::io::poll::Pollable {
            self.pollable(|h| h.subscribe())
        }
    };
}

use shared_socket_methods;
