//! `wasi:sockets/tcp` and `tcp-create-socket`: a TCP socket's methods. A connection's streams
//! are the interposer's own `wasi:io` streams, numbered like every other stream, children of
//! the socket.

use super::{Socket, create_socket, shared_socket_methods};
use crate::Interposer;
use crate::exports::wasi::io::streams::{InputStream, OutputStream};
use crate::exports::wasi::sockets::{network, tcp, tcp_create_socket};
use crate::io::streams::{keep_stream, mark_network, new_child_input, new_child_output};
use crate::rr::created;
use crate::rr::{self, Live};
use crate::wasi::sockets as host;
use std::rc::Rc;
use wasm_rr_trace::StreamId;
use wasm_rr_trace::sockets as ev;

type TcpSocket = Socket<host::tcp::TcpSocket>;

impl tcp::Guest for Interposer {
    type TcpSocket = TcpSocket;
}

impl tcp_create_socket::Guest for Interposer {
    fn create_tcp_socket(
        address_family: network::IpAddressFamily,
    ) -> Result<tcp::TcpSocket, network::ErrorCode> {
        create_socket(address_family, host::tcp_create_socket::create_tcp_socket)
            .map(tcp::TcpSocket::new)
    }
}

/// Recording: keeps a connection's host streams and numbers them.
fn keep_streams(
    (i, o): (
        crate::wasi::io::streams::InputStream,
        crate::wasi::io::streams::OutputStream,
    ),
) -> (StreamId, StreamId) {
    (keep_stream(i), keep_stream(o))
}

impl TcpSocket {
    /// A connection's streams, numbered `input` and `output` (recording: the host's, kept by
    /// the call), children of the socket `parent` (recording).
    fn connection_streams(
        input: StreamId,
        output: StreamId,
        parent: Option<Rc<dyn std::any::Any>>,
    ) -> (InputStream, OutputStream) {
        mark_network(input);
        mark_network(output);
        let (i, o) = (Live::created(), Live::created());
        (
            new_child_input(input, i.into_option(), parent.clone()),
            new_child_output(output, o.into_option(), parent),
        )
    }
}

impl tcp::GuestTcpSocket for TcpSocket {
    shared_socket_methods!();

    fn start_connect(
        &self,
        network: network::NetworkBorrow<'_>,
        remote_address: network::IpSocketAddress,
    ) -> Result<(), network::ErrorCode> {
        let net = network.get::<super::Network>();
        let address = super::addr_from_wit(remote_address);
        let call = ev::StartConnect {
            protocol: Self::PROTOCOL,
            socket: self.id,
            network: net.id,
            address,
        };
        self.call(call, |h| {
            h.start_connect(net.host.get(), super::addr_to_host(address))
        })
    }

    fn finish_connect(&self) -> Result<(InputStream, OutputStream), network::ErrorCode> {
        let call = ev::FinishConnect {
            protocol: Self::PROTOCOL,
            socket: self.id,
        };
        let (i, o) = self.call(call, |h| h.finish_connect().map(keep_streams))?;
        Ok(Self::connection_streams(i, o, self.parent()))
    }

    fn start_listen(&self) -> Result<(), network::ErrorCode> {
        let call = ev::StartListen {
            protocol: Self::PROTOCOL,
            socket: self.id,
        };
        self.call(call, |h| h.start_listen())
    }

    fn finish_listen(&self) -> Result<(), network::ErrorCode> {
        let call = ev::FinishListen {
            protocol: Self::PROTOCOL,
            socket: self.id,
        };
        self.call(call, |h| h.finish_listen())
    }

    fn accept(&self) -> Result<(tcp::TcpSocket, InputStream, OutputStream), network::ErrorCode> {
        let call = ev::Accept {
            protocol: Self::PROTOCOL,
            socket: self.id,
        };
        let (id, i, o) = self.call(call, |h| {
            h.accept().map(|(s, i, o)| {
                let id = created::put(Rc::new(s), &super::SOCKETS);
                let (i, o) = keep_streams((i, o));
                (id, i, o)
            })
        })?;
        let socket = TcpSocket::new(id, Live::created());
        let (i, o) = Self::connection_streams(i, o, socket.parent());
        Ok((tcp::TcpSocket::new(socket), i, o))
    }

    fn is_listening(&self) -> bool {
        let call = ev::IsListening {
            protocol: Self::PROTOCOL,
            socket: self.id,
        };
        rr::call(call, || self.host().is_listening())
    }

    fn set_listen_backlog_size(&self, value: u64) -> Result<(), network::ErrorCode> {
        let call = ev::SetListenBacklogSize {
            protocol: Self::PROTOCOL,
            socket: self.id,
            value,
        };
        self.call(call, |h| h.set_listen_backlog_size(value))
    }

    fn keep_alive_enabled(&self) -> Result<bool, network::ErrorCode> {
        let call = ev::KeepAliveEnabled {
            protocol: Self::PROTOCOL,
            socket: self.id,
        };
        self.call(call, |h| h.keep_alive_enabled())
    }

    fn set_keep_alive_enabled(&self, value: bool) -> Result<(), network::ErrorCode> {
        let call = ev::SetKeepAliveEnabled {
            protocol: Self::PROTOCOL,
            socket: self.id,
            value,
        };
        self.call(call, |h| h.set_keep_alive_enabled(value))
    }

    fn keep_alive_idle_time(&self) -> Result<u64, network::ErrorCode> {
        let call = ev::KeepAliveIdleTime {
            protocol: Self::PROTOCOL,
            socket: self.id,
        };
        self.call(call, |h| h.keep_alive_idle_time())
    }

    fn set_keep_alive_idle_time(&self, value: u64) -> Result<(), network::ErrorCode> {
        let call = ev::SetKeepAliveIdleTime {
            protocol: Self::PROTOCOL,
            socket: self.id,
            value,
        };
        self.call(call, |h| h.set_keep_alive_idle_time(value))
    }

    fn keep_alive_interval(&self) -> Result<u64, network::ErrorCode> {
        let call = ev::KeepAliveInterval {
            protocol: Self::PROTOCOL,
            socket: self.id,
        };
        self.call(call, |h| h.keep_alive_interval())
    }

    fn set_keep_alive_interval(&self, value: u64) -> Result<(), network::ErrorCode> {
        let call = ev::SetKeepAliveInterval {
            protocol: Self::PROTOCOL,
            socket: self.id,
            value,
        };
        self.call(call, |h| h.set_keep_alive_interval(value))
    }

    fn keep_alive_count(&self) -> Result<u32, network::ErrorCode> {
        let call = ev::KeepAliveCount {
            protocol: Self::PROTOCOL,
            socket: self.id,
        };
        self.call(call, |h| h.keep_alive_count())
    }

    fn set_keep_alive_count(&self, value: u32) -> Result<(), network::ErrorCode> {
        let call = ev::SetKeepAliveCount {
            protocol: Self::PROTOCOL,
            socket: self.id,
            value,
        };
        self.call(call, |h| h.set_keep_alive_count(value))
    }

    fn hop_limit(&self) -> Result<u8, network::ErrorCode> {
        let call = ev::HopLimit {
            protocol: Self::PROTOCOL,
            socket: self.id,
        };
        self.call(call, |h| h.hop_limit())
    }

    fn set_hop_limit(&self, value: u8) -> Result<(), network::ErrorCode> {
        let call = ev::SetHopLimit {
            protocol: Self::PROTOCOL,
            socket: self.id,
            value,
        };
        self.call(call, |h| h.set_hop_limit(value))
    }

    fn shutdown(&self, shutdown_type: tcp::ShutdownType) -> Result<(), network::ErrorCode> {
        let how = super::shutdown_from_wit(shutdown_type);
        let call = ev::Shutdown {
            protocol: Self::PROTOCOL,
            socket: self.id,
            how,
        };
        self.call(call, |h| h.shutdown(super::shutdown_to_host(how)))
    }
}
