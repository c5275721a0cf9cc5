//! `wasi:sockets/udp` and `udp-create-socket`: a UDP socket's methods and its datagram
//! streams. Received datagrams are recorded with their senders; sent ones as their length,
//! hash and address, which replay checks.

use super::{Socket, create_socket, shared_socket_methods};
use crate::Interposer;
use crate::exports::wasi::sockets::{network, udp, udp_create_socket};
use crate::rr::created;
use crate::rr::{self, Live};
use crate::wasi::sockets as host;
use std::any::Any;
use std::cell::Cell;
use std::rc::Rc;
use wasm_rr_trace::sockets::{self as ev, Datagram, SentDatagram};
use wasm_rr_trace::{Bytes, Fixed64};

type UdpSocket = Socket<host::udp::UdpSocket>;

/// The exported `incoming-datagram-stream` and `outgoing-datagram-stream` resources (`T` is the
/// host's stream type).
pub struct DatagramStream<T> {
    id: u32,
    host: Live<Rc<T>>,
    /// The host socket, kept alive until the stream is dropped (see `io::streams`).
    _parent: Option<Rc<dyn Any>>,
    /// The socket's count of live datagram streams.
    live: Rc<Cell<u32>>,
}

impl<T> Drop for DatagramStream<T> {
    fn drop(&mut self) {
        self.live.set(self.live.get() - 1);
    }
}

impl<T: 'static> DatagramStream<T> {
    /// Records or replays one method of this stream: `live` calls the host (recording).
    fn call<C, A>(
        &self,
        call: C,
        live: impl FnOnce(&T) -> Result<A, host::network::ErrorCode>,
    ) -> Result<A, network::ErrorCode>
    where
        C: wasm_rr_trace::Request<Answer = Result<A, ev::ErrorCode>>,
    {
        rr::call(call, || live(self.host.get()).map_err(super::err_from_host))
            .map_err(super::err_to_wit)
    }

    /// A pollable on the host stream (recording), or a virtual one (replaying).
    fn pollable(
        &self,
        subscribe: impl FnOnce(&T) -> crate::wasi::io::poll::Pollable,
    ) -> crate::exports::wasi::io::poll::Pollable {
        crate::io::poll::new_pollable(
            rr::live(|| subscribe(self.host.get())),
            rr::live(|| self.host.get().clone() as Rc<dyn Any>),
        )
    }
}

impl udp::Guest for Interposer {
    type UdpSocket = UdpSocket;
    type IncomingDatagramStream = DatagramStream<host::udp::IncomingDatagramStream>;
    type OutgoingDatagramStream = DatagramStream<host::udp::OutgoingDatagramStream>;
}

impl udp_create_socket::Guest for Interposer {
    fn create_udp_socket(
        address_family: network::IpAddressFamily,
    ) -> Result<udp::UdpSocket, network::ErrorCode> {
        create_socket(address_family, host::udp_create_socket::create_udp_socket)
            .map(udp::UdpSocket::new)
    }
}

impl udp::GuestUdpSocket for UdpSocket {
    shared_socket_methods!();

    fn stream(
        &self,
        remote_address: Option<network::IpSocketAddress>,
    ) -> Result<(udp::IncomingDatagramStream, udp::OutgoingDatagramStream), network::ErrorCode>
    {
        let remote = remote_address.map(super::addr_from_wit);
        if self.live_streams.get() > 0 {
            // wasmtime traps on this; trap the same way when replaying.
            rr::guest_error(
                "udp-socket.stream was called while the socket's previous datagram streams are alive",
            );
        }
        let call = ev::Stream {
            protocol: Self::PROTOCOL,
            socket: self.id,
            remote,
        };
        let (i, o) = self.call(call, |h| {
            h.stream(remote.map(super::addr_to_host)).map(|(i, o)| {
                let streams = &super::DATAGRAM_STREAMS;
                (
                    created::put(Rc::new(i), streams),
                    created::put(Rc::new(o), streams),
                )
            })
        })?;
        self.live_streams.set(2);
        Ok((
            udp::IncomingDatagramStream::new(DatagramStream {
                id: i,
                host: Live::created(),
                _parent: self.parent(),
                live: self.live_streams.clone(),
            }),
            udp::OutgoingDatagramStream::new(DatagramStream {
                id: o,
                host: Live::created(),
                _parent: self.parent(),
                live: self.live_streams.clone(),
            }),
        ))
    }

    fn unicast_hop_limit(&self) -> Result<u8, network::ErrorCode> {
        let call = ev::HopLimit {
            protocol: Self::PROTOCOL,
            socket: self.id,
        };
        self.call(call, |h| h.unicast_hop_limit())
    }

    fn set_unicast_hop_limit(&self, value: u8) -> Result<(), network::ErrorCode> {
        let call = ev::SetHopLimit {
            protocol: Self::PROTOCOL,
            socket: self.id,
            value,
        };
        self.call(call, |h| h.set_unicast_hop_limit(value))
    }
}

impl udp::GuestIncomingDatagramStream for DatagramStream<host::udp::IncomingDatagramStream> {
    fn receive(&self, max_results: u64) -> Result<Vec<udp::IncomingDatagram>, network::ErrorCode> {
        let call = ev::Receive {
            stream: self.id,
            max: max_results,
        };
        let datagrams = self.call(call, |h| {
            h.receive(max_results).map(|ds| {
                ds.into_iter()
                    .map(|d| Datagram {
                        data: Bytes(d.data),
                        from: super::addr_from_host(d.remote_address),
                    })
                    .collect()
            })
        })?;
        Ok(datagrams
            .into_iter()
            .map(|d| udp::IncomingDatagram {
                data: d.data.0,
                remote_address: super::addr_to_wit(d.from),
            })
            .collect())
    }

    fn subscribe(&self) -> crate::exports::wasi::io::poll::Pollable {
        self.pollable(|h| h.subscribe())
    }
}

impl udp::GuestOutgoingDatagramStream for DatagramStream<host::udp::OutgoingDatagramStream> {
    fn check_send(&self) -> Result<u64, network::ErrorCode> {
        self.call(ev::CheckSend { stream: self.id }, |h| h.check_send())
    }

    fn send(&self, datagrams: Vec<udp::OutgoingDatagram>) -> Result<u64, network::ErrorCode> {
        // The host traps when more is sent than `check-send` allowed: write the trace first.
        rr::flush();
        let sent: Vec<SentDatagram> = datagrams
            .iter()
            .map(|d| SentDatagram {
                len: d.data.len() as u64,
                hash: Fixed64(wasm_rr_trace::output_hash(&d.data)),
                to: d.remote_address.map(super::addr_from_wit),
            })
            .collect();
        let call = ev::Send {
            stream: self.id,
            datagrams: sent,
        };
        self.call(call, |h| {
            let to_host: Vec<host::udp::OutgoingDatagram> = datagrams
                .into_iter()
                .map(|d| host::udp::OutgoingDatagram {
                    data: d.data,
                    remote_address: d
                        .remote_address
                        .map(|a| super::addr_to_host(super::addr_from_wit(a))),
                })
                .collect();
            h.send(&to_host)
        })
    }

    fn subscribe(&self) -> crate::exports::wasi::io::poll::Pollable {
        self.pollable(|h| h.subscribe())
    }
}
