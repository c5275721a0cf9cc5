//! TCP connections in the test host of `wasm-rr test`: the app's `wasi:sockets/tcp` sockets
//! connect to nothing real. A connection to an address is answered by the first recorded
//! connection to that address not yet used: the app reads what the recording read from it,
//! and what it sends is kept, to be compared with what the recording sent. A connection no
//! recording made is refused (`connection-refused`) and fails the trace. A name lookup
//! (`wasi:sockets/ip-name-lookup`) is answered likewise by a recorded lookup of the same name.
//! A UDP datagram stream is answered by the first recorded one for the same remote address:
//! the app receives the datagrams the recording received; the datagrams it sends are compared
//! with those the recording sent, by length, hash and address (the trace keeps no more of
//! them). TCP servers (listening, accepting) are not served (such traces cannot be tested).

use super::recorded::{MAX_BYTES, Output, keep};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use wasm_rr_trace::sockets as s;
use wasm_rr_trace::{Event, StreamId, streams};
use wasmtime::component::{HasData, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{self, ResolveAddressStream};
use wasmtime_wasi::p2::bindings::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Network,
};
use wasmtime_wasi::p2::bindings::sockets::{tcp, tcp_create_socket, udp, udp_create_socket};
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::p2::{
    DynInputStream, DynOutputStream, DynPollable, SocketResult, TcpSocket, UdpSocket,
};

/// One TCP connection a trace recorded: where to, what the app read from it and what it sent.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    /// The remote address, as `show` prints it (`127.0.0.1:5432`).
    pub remote: String,
    /// The bytes the app read, in order.
    pub received: Vec<u8>,
    /// The bytes it sent, as far as the trace keeps them.
    pub sent: Vec<u8>,
    /// How many bytes it sent.
    pub sent_len: u64,
}

/// One UDP socket's datagram streams a trace recorded: the remote address they were made for
/// (none: any), the datagrams the app received, and those it sent (see [`datagram_line`]).
#[derive(Clone, Debug, Default)]
pub struct UdpStream {
    /// `remote-address` of `stream`, as `show` prints it.
    pub remote: Option<String>,
    /// What the app received, in order: the data and the sender.
    pub received: Vec<(Vec<u8>, SocketAddr)>,
    /// What it sent, one line per datagram.
    pub sent: Vec<String>,
}

/// A datagram sent, as `wasm-rr test` compares them (the trace keeps their lengths and hashes):
/// `5 B to 127.0.0.1:53, hash 1f2e…`.
pub fn datagram_line(len: u64, hash: u64, to: Option<&str>) -> String {
    format!(
        "{len} B to {}, hash {hash:016x}",
        to.unwrap_or("the stream's address")
    )
}

/// The TCP connections, name lookups and UDP streams of a trace, gathered one event at a time.
#[derive(Default, Clone)]
pub struct Recorded {
    /// The connections, in the order they were made.
    pub connections: Vec<Connection>,
    /// The name lookups, in order: the name, and the addresses it resolved to (or the error).
    pub lookups: Vec<(String, Result<Vec<std::net::IpAddr>, ErrorCode>)>,
    /// The UDP datagram streams, in the order they were made.
    pub udp: Vec<UdpStream>,
    udp_in: HashMap<u32, usize>,
    udp_out: HashMap<u32, usize>,
    lookup_of: HashMap<u32, usize>,
    remote_of: HashMap<u32, String>,
    reading: HashMap<StreamId, usize>,
    sending: HashMap<StreamId, usize>,
}

impl Recorded {
    /// Takes in `e`, the next event of the trace.
    pub fn push(&mut self, e: &Event) {
        if let Some((c, r)) = e.get::<s::ResolveAddresses>() {
            match r {
                Ok(id) => {
                    self.lookup_of.insert(*id, self.lookups.len());
                    self.lookups.push((c.name.clone(), Ok(Vec::new())));
                }
                Err(_) => self
                    .lookups
                    .push((c.name.clone(), Err(ErrorCode::NameUnresolvable))),
            }
        } else if let Some((c, r)) = e.get::<s::ResolveNextAddress>() {
            let Some(&i) = self.lookup_of.get(&c.lookup) else {
                return;
            };
            match (r, &mut self.lookups[i].1) {
                (Ok(Some(a)), Ok(addrs)) => addrs.push(match a {
                    s::IpAddress::Ipv4(v) => std::net::Ipv4Addr::from(*v).into(),
                    s::IpAddress::Ipv6(v) => std::net::Ipv6Addr::from(*v).into(),
                }),
                // (Not ready yet: the host's answer came later.)
                (Err(s::ErrorCode::WouldBlock), _) => {}
                (Err(_), slot @ Ok(_)) => *slot = Err(ErrorCode::NameUnresolvable),
                _ => {}
            }
        } else if let Some((c, Ok((incoming, outgoing)))) = e.get::<s::Stream>() {
            if c.protocol == s::Protocol::Udp {
                self.udp.push(UdpStream {
                    remote: c.remote.map(|a| a.to_string()),
                    ..UdpStream::default()
                });
                self.udp_in.insert(*incoming, self.udp.len() - 1);
                self.udp_out.insert(*outgoing, self.udp.len() - 1);
            }
        } else if let Some((c, Ok(datagrams))) = e.get::<s::Receive>() {
            if let Some(&i) = self.udp_in.get(&c.stream) {
                for d in datagrams {
                    if let Ok(from) = d.from.to_string().parse() {
                        self.udp[i].received.push((d.data.0.clone(), from));
                    }
                }
            }
        } else if let Some((c, Ok(n))) = e.get::<s::Send>() {
            if let Some(&i) = self.udp_out.get(&c.stream) {
                for d in c.datagrams.iter().take(*n as usize) {
                    let to = d.to.map(|a| a.to_string());
                    self.udp[i]
                        .sent
                        .push(datagram_line(d.len, d.hash.0, to.as_deref()));
                }
            }
        } else if let Some((c, Ok(()))) = e.get::<s::StartConnect>() {
            if c.protocol == s::Protocol::Tcp {
                self.remote_of.insert(c.socket, c.address.to_string());
            }
        } else if let Some((c, Ok((input, output)))) = e.get::<s::FinishConnect>() {
            if let Some(remote) = self.remote_of.get(&c.socket) {
                self.connections.push(Connection {
                    remote: remote.clone(),
                    ..Connection::default()
                });
                let i = self.connections.len() - 1;
                self.reading.insert(*input, i);
                self.sending.insert(*output, i);
            }
        } else if let Some((c, Ok(data))) = e.get::<streams::Read>() {
            if let Some(&i) = self.reading.get(&c.stream) {
                keep(&mut self.connections[i].received, &data.0);
            }
        } else if let Some((c, Ok(()))) = e.get::<streams::Write>() {
            if let Some(&i) = self.sending.get(&c.stream) {
                self.connections[i].sent_len += c.len;
            }
        } else if let Some((c, _)) = e.get::<streams::Wrote>()
            && let Some(&i) = self.sending.get(&c.stream)
        {
            keep(&mut self.connections[i].sent, &c.data.0);
        }
    }
}

/// Why the test host cannot serve a trace's sockets, if it cannot: `e` is a TCP server's
/// event.
pub fn unsupported(e: &Event) -> Option<String> {
    if e.is::<s::StartListen>() || e.is::<s::Accept>() {
        return Some("it accepts TCP connections (a server on wasi:sockets/tcp)".into());
    }
    None
}

/// The connections of one run: the recorded ones, and those the app under test made.
#[derive(Default)]
pub struct Connections {
    recorded: Vec<Connection>,
    used: Vec<bool>,
    /// Each connection the app made: the remote address, the recorded connection that
    /// answered it (none: refused), and what it sent on it.
    pub made: Vec<(String, Option<usize>, Option<MemoryOutputPipe>)>,
    lookups: Vec<(String, Result<Vec<std::net::IpAddr>, ErrorCode>)>,
    lookups_used: Vec<bool>,
    /// Each name the app looked up, and whether a recorded lookup answered it.
    pub looked_up: Vec<(String, bool)>,
    udp: Vec<UdpStream>,
    udp_used: Vec<bool>,
    /// Each UDP datagram stream the app made: its remote address, the recorded stream that
    /// answered it (none: refused), and the datagrams it sent (see [`datagram_line`]).
    pub udp_made: Vec<(Option<String>, Option<usize>, Vec<String>)>,
}

impl Connections {
    /// The connections of a trace.
    pub fn new(recorded: &Recorded) -> Connections {
        Connections {
            recorded: recorded.connections.clone(),
            used: vec![false; recorded.connections.len()],
            made: Vec::new(),
            lookups: recorded.lookups.clone(),
            lookups_used: vec![false; recorded.lookups.len()],
            looked_up: Vec::new(),
            udp: recorded.udp.clone(),
            udp_used: vec![false; recorded.udp.len()],
            udp_made: Vec::new(),
        }
    }

    /// The recorded UDP streams the app did not make, by remote address.
    pub fn udp_unused(&self) -> Vec<Option<String>> {
        (0..self.udp.len())
            .filter(|&i| !self.udp_used[i])
            .map(|i| self.udp[i].remote.clone())
            .collect()
    }

    /// For each UDP stream made and answered: its remote address, the datagrams the recording
    /// sent on it and those the app sent now, a line each.
    pub fn udp_sent(&self) -> Vec<(Option<String>, Vec<String>, Vec<String>)> {
        self.udp_made
            .iter()
            .filter_map(|(remote, i, now)| {
                Some((remote.clone(), self.udp[(*i)?].sent.clone(), now.clone()))
            })
            .collect()
    }

    /// The recorded name lookups the app did not make.
    pub fn lookups_unused(&self) -> Vec<String> {
        (0..self.lookups.len())
            .filter(|&i| !self.lookups_used[i])
            .map(|i| self.lookups[i].0.clone())
            .collect()
    }

    /// The recorded connections the app did not make, by address.
    pub fn unused(&self) -> Vec<String> {
        (0..self.recorded.len())
            .filter(|&i| !self.used[i])
            .map(|i| self.recorded[i].remote.clone())
            .collect()
    }

    /// For each connection made and answered: the address, what the recording sent on it and
    /// what the app sent now.
    pub fn sent(&self) -> Vec<(String, Output, Output)> {
        self.made
            .iter()
            .filter_map(|(remote, i, pipe)| {
                let r = &self.recorded[(*i)?];
                let now = pipe.as_ref()?.contents();
                Some((
                    remote.clone(),
                    Output::kept(&r.sent, r.sent_len),
                    Output::of(&now),
                ))
            })
            .collect()
    }
}

/// A socket of the app under test.
struct Socket {
    family: IpAddressFamily,
    remote: Option<SocketAddr>,
    connecting: bool,
}

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for Socket {
    async fn ready(&mut self) {}
}

/// What the socket functions work on: the store's table and the run's connections.
pub struct SocketsView<'a> {
    /// The store's resource table.
    pub table: &'a mut ResourceTable,
    /// The run's connections.
    pub connections: &'a Arc<Mutex<Connections>>,
}

/// The [`HasData`] of [`SocketsView`].
pub struct HasSockets;

impl HasData for HasSockets {
    type Data<'a> = SocketsView<'a>;
}

fn mine(r: &Resource<TcpSocket>) -> Resource<Socket> {
    Resource::new_borrow(r.rep())
}

impl SocketsView<'_> {
    fn socket(&mut self, r: &Resource<TcpSocket>) -> SocketResult<&mut Socket> {
        Ok(self.table.get_mut(&mine(r))?)
    }
}

impl tcp_create_socket::Host for SocketsView<'_> {
    fn create_tcp_socket(&mut self, family: IpAddressFamily) -> SocketResult<Resource<TcpSocket>> {
        let r = self.table.push(Socket {
            family,
            remote: None,
            connecting: false,
        })?;
        Ok(Resource::new_own(r.rep()))
    }
}

impl wasmtime_wasi::p2::bindings::sockets::network::Host for SocketsView<'_> {
    fn convert_error_code(
        &mut self,
        error: wasmtime_wasi::p2::SocketError,
    ) -> wasmtime::Result<ErrorCode> {
        error.downcast()
    }

    fn network_error_code(
        &mut self,
        _err: Resource<wasmtime::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        Ok(None)
    }
}

impl wasmtime_wasi::p2::bindings::sockets::network::HostNetwork for SocketsView<'_> {
    fn drop(&mut self, this: Resource<Network>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

/// A name lookup of the app under test: the addresses still to give, or the error.
struct Lookup(Result<std::collections::VecDeque<std::net::IpAddr>, ErrorCode>);

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for Lookup {
    async fn ready(&mut self) {}
}

impl ip_name_lookup::Host for SocketsView<'_> {
    fn resolve_addresses(
        &mut self,
        _network: Resource<Network>,
        name: String,
    ) -> SocketResult<Resource<ResolveAddressStream>> {
        let answer = {
            let mut c = self.connections.lock().unwrap_or_else(|e| e.into_inner());
            let n = c.lookups.len();
            let found = (0..n)
                .find(|&i| !c.lookups_used[i] && c.lookups[i].0 == name)
                .or_else(|| (0..n).rev().find(|&i| c.lookups[i].0 == name));
            c.looked_up.push((name, found.is_some()));
            found.map(|i| {
                c.lookups_used[i] = true;
                c.lookups[i].1.clone()
            })
        };
        let Some(answer) = answer else {
            return Err(ErrorCode::NameUnresolvable.into());
        };
        let r = self.table.push(Lookup(answer.map(Into::into)))?;
        Ok(Resource::new_own(r.rep()))
    }
}

impl ip_name_lookup::HostResolveAddressStream for SocketsView<'_> {
    fn resolve_next_address(
        &mut self,
        this: Resource<ResolveAddressStream>,
    ) -> SocketResult<Option<IpAddress>> {
        let lookup = self
            .table
            .get_mut(&Resource::<Lookup>::new_borrow(this.rep()))?;
        match &mut lookup.0 {
            Ok(addrs) => Ok(addrs.pop_front().map(Into::into)),
            Err(e) => Err((*e).into()),
        }
    }

    fn subscribe(
        &mut self,
        this: Resource<ResolveAddressStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        wasmtime_wasi::p2::subscribe(self.table, Resource::<Lookup>::new_borrow(this.rep()))
    }

    fn drop(&mut self, this: Resource<ResolveAddressStream>) -> wasmtime::Result<()> {
        self.table.delete(Resource::<Lookup>::new_own(this.rep()))?;
        Ok(())
    }
}

impl tcp::Host for SocketsView<'_> {}

impl tcp::HostTcpSocket for SocketsView<'_> {
    async fn start_bind(
        &mut self,
        this: Resource<TcpSocket>,
        _network: Resource<Network>,
        _local_address: IpSocketAddress,
    ) -> SocketResult<()> {
        self.socket(&this)?;
        Ok(())
    }

    fn finish_bind(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        self.socket(&this)?;
        Ok(())
    }

    fn start_connect(
        &mut self,
        this: Resource<TcpSocket>,
        _network: Resource<Network>,
        remote_address: IpSocketAddress,
    ) -> SocketResult<()> {
        let socket = self.socket(&this)?;
        if socket.connecting || socket.remote.is_some() {
            return Err(ErrorCode::ConcurrencyConflict.into());
        }
        socket.remote = Some(remote_address.into());
        socket.connecting = true;
        Ok(())
    }

    fn finish_connect(
        &mut self,
        this: Resource<TcpSocket>,
    ) -> SocketResult<(Resource<DynInputStream>, Resource<DynOutputStream>)> {
        let socket = self.socket(&this)?;
        if !socket.connecting {
            return Err(ErrorCode::NotInProgress.into());
        }
        socket.connecting = false;
        let remote = socket.remote.map(|a| a.to_string()).unwrap_or_default();
        let answer = {
            let mut c = self.connections.lock().unwrap_or_else(|e| e.into_inner());
            let found =
                (0..c.recorded.len()).find(|&i| !c.used[i] && c.recorded[i].remote == remote);
            match found {
                Some(i) => {
                    c.used[i] = true;
                    let pipe = MemoryOutputPipe::new(MAX_BYTES);
                    c.made.push((remote, Some(i), Some(pipe.clone())));
                    Some((c.recorded[i].received.clone(), pipe))
                }
                None => {
                    c.made.push((remote, None, None));
                    None
                }
            }
        };
        let Some((received, pipe)) = answer else {
            return Err(ErrorCode::ConnectionRefused.into());
        };
        let input: DynInputStream = Box::new(MemoryInputPipe::new(received));
        let output: DynOutputStream = Box::new(pipe);
        Ok((self.table.push(input)?, self.table.push(output)?))
    }

    async fn start_listen(&mut self, _this: Resource<TcpSocket>) -> SocketResult<()> {
        Err(ErrorCode::NotSupported.into())
    }

    fn finish_listen(&mut self, _this: Resource<TcpSocket>) -> SocketResult<()> {
        Err(ErrorCode::NotInProgress.into())
    }

    fn accept(
        &mut self,
        _this: Resource<TcpSocket>,
    ) -> SocketResult<(
        Resource<TcpSocket>,
        Resource<DynInputStream>,
        Resource<DynOutputStream>,
    )> {
        Err(ErrorCode::InvalidState.into())
    }

    fn local_address(&mut self, this: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        let socket = self.socket(&this)?;
        let any: SocketAddr = match socket.family {
            IpAddressFamily::Ipv4 => ([127, 0, 0, 1], 0).into(),
            IpAddressFamily::Ipv6 => (std::net::Ipv6Addr::LOCALHOST, 0).into(),
        };
        Ok(any.into())
    }

    fn remote_address(&mut self, this: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        match self.socket(&this)?.remote {
            Some(a) => Ok(a.into()),
            None => Err(ErrorCode::InvalidState.into()),
        }
    }

    fn is_listening(&mut self, _this: Resource<TcpSocket>) -> Result<bool, wasmtime::Error> {
        Ok(false)
    }

    fn address_family(
        &mut self,
        this: Resource<TcpSocket>,
    ) -> Result<IpAddressFamily, wasmtime::Error> {
        Ok(self.table.get(&mine(&this))?.family)
    }

    fn set_listen_backlog_size(
        &mut self,
        _this: Resource<TcpSocket>,
        _value: u64,
    ) -> SocketResult<()> {
        Ok(())
    }

    fn keep_alive_enabled(&mut self, _this: Resource<TcpSocket>) -> SocketResult<bool> {
        Ok(false)
    }

    fn set_keep_alive_enabled(
        &mut self,
        _this: Resource<TcpSocket>,
        _value: bool,
    ) -> SocketResult<()> {
        Ok(())
    }

    fn keep_alive_idle_time(&mut self, _this: Resource<TcpSocket>) -> SocketResult<u64> {
        Ok(7_200_000_000_000)
    }

    fn set_keep_alive_idle_time(
        &mut self,
        _this: Resource<TcpSocket>,
        _value: u64,
    ) -> SocketResult<()> {
        Ok(())
    }

    fn keep_alive_interval(&mut self, _this: Resource<TcpSocket>) -> SocketResult<u64> {
        Ok(75_000_000_000)
    }

    fn set_keep_alive_interval(
        &mut self,
        _this: Resource<TcpSocket>,
        _value: u64,
    ) -> SocketResult<()> {
        Ok(())
    }

    fn keep_alive_count(&mut self, _this: Resource<TcpSocket>) -> SocketResult<u32> {
        Ok(9)
    }

    fn set_keep_alive_count(
        &mut self,
        _this: Resource<TcpSocket>,
        _value: u32,
    ) -> SocketResult<()> {
        Ok(())
    }

    fn hop_limit(&mut self, _this: Resource<TcpSocket>) -> SocketResult<u8> {
        Ok(64)
    }

    fn set_hop_limit(&mut self, _this: Resource<TcpSocket>, _value: u8) -> SocketResult<()> {
        Ok(())
    }

    fn receive_buffer_size(&mut self, _this: Resource<TcpSocket>) -> SocketResult<u64> {
        Ok(131_072)
    }

    fn set_receive_buffer_size(
        &mut self,
        _this: Resource<TcpSocket>,
        _value: u64,
    ) -> SocketResult<()> {
        Ok(())
    }

    fn send_buffer_size(&mut self, _this: Resource<TcpSocket>) -> SocketResult<u64> {
        Ok(131_072)
    }

    fn set_send_buffer_size(
        &mut self,
        _this: Resource<TcpSocket>,
        _value: u64,
    ) -> SocketResult<()> {
        Ok(())
    }

    fn subscribe(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<Resource<DynPollable>> {
        wasmtime_wasi::p2::subscribe(self.table, mine(&this))
    }

    fn shutdown(
        &mut self,
        this: Resource<TcpSocket>,
        _shutdown_type: tcp::ShutdownType,
    ) -> SocketResult<()> {
        self.socket(&this)?;
        Ok(())
    }

    fn drop(&mut self, this: Resource<TcpSocket>) -> Result<(), wasmtime::Error> {
        self.table.delete(Resource::<Socket>::new_own(this.rep()))?;
        Ok(())
    }
}

/// A UDP socket of the app under test.
struct Udp {
    family: IpAddressFamily,
    remote: Option<SocketAddr>,
}

/// The datagrams a UDP stream of the app under test still has to receive.
struct Incoming(std::collections::VecDeque<(Vec<u8>, SocketAddr)>);

/// Where a UDP stream of the app under test records what it sends: its index in
/// [`Connections::udp_made`].
struct Outgoing(usize);

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for Udp {
    async fn ready(&mut self) {}
}

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for Incoming {
    async fn ready(&mut self) {}
}

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for Outgoing {
    async fn ready(&mut self) {}
}

impl udp_create_socket::Host for SocketsView<'_> {
    async fn create_udp_socket(
        &mut self,
        family: IpAddressFamily,
    ) -> SocketResult<Resource<UdpSocket>> {
        let r = self.table.push(Udp {
            family,
            remote: None,
        })?;
        Ok(Resource::new_own(r.rep()))
    }
}

impl udp::Host for SocketsView<'_> {}

impl SocketsView<'_> {
    fn udp(&mut self, r: &Resource<UdpSocket>) -> SocketResult<&mut Udp> {
        Ok(self.table.get_mut(&Resource::<Udp>::new_borrow(r.rep()))?)
    }
}

impl udp::HostUdpSocket for SocketsView<'_> {
    async fn start_bind(
        &mut self,
        this: Resource<UdpSocket>,
        _network: Resource<Network>,
        _local_address: IpSocketAddress,
    ) -> SocketResult<()> {
        self.udp(&this)?;
        Ok(())
    }

    fn finish_bind(&mut self, this: Resource<UdpSocket>) -> SocketResult<()> {
        self.udp(&this)?;
        Ok(())
    }

    async fn stream(
        &mut self,
        this: Resource<UdpSocket>,
        remote_address: Option<IpSocketAddress>,
    ) -> SocketResult<(
        Resource<udp::IncomingDatagramStream>,
        Resource<udp::OutgoingDatagramStream>,
    )> {
        let remote: Option<SocketAddr> = remote_address.map(Into::into);
        self.udp(&this)?.remote = remote;
        let remote = remote.map(|a| a.to_string());
        let (received, index) = {
            let mut c = self.connections.lock().unwrap_or_else(|e| e.into_inner());
            let found = (0..c.udp.len()).find(|&i| !c.udp_used[i] && c.udp[i].remote == remote);
            c.udp_made.push((remote, found, Vec::new()));
            let index = c.udp_made.len() - 1;
            match found {
                Some(i) => {
                    c.udp_used[i] = true;
                    (c.udp[i].received.clone(), index)
                }
                None => return Err(ErrorCode::ConnectionRefused.into()),
            }
        };
        let incoming = self.table.push(Incoming(received.into()))?;
        let outgoing = self.table.push(Outgoing(index))?;
        Ok((
            Resource::new_own(incoming.rep()),
            Resource::new_own(outgoing.rep()),
        ))
    }

    fn local_address(&mut self, this: Resource<UdpSocket>) -> SocketResult<IpSocketAddress> {
        let any: SocketAddr = match self.udp(&this)?.family {
            IpAddressFamily::Ipv4 => ([127, 0, 0, 1], 0).into(),
            IpAddressFamily::Ipv6 => (std::net::Ipv6Addr::LOCALHOST, 0).into(),
        };
        Ok(any.into())
    }

    fn remote_address(&mut self, this: Resource<UdpSocket>) -> SocketResult<IpSocketAddress> {
        match self.udp(&this)?.remote {
            Some(a) => Ok(a.into()),
            None => Err(ErrorCode::InvalidState.into()),
        }
    }

    fn address_family(&mut self, this: Resource<UdpSocket>) -> wasmtime::Result<IpAddressFamily> {
        Ok(self
            .table
            .get(&Resource::<Udp>::new_borrow(this.rep()))?
            .family)
    }

    fn unicast_hop_limit(&mut self, _this: Resource<UdpSocket>) -> SocketResult<u8> {
        Ok(64)
    }

    fn set_unicast_hop_limit(
        &mut self,
        _this: Resource<UdpSocket>,
        _value: u8,
    ) -> SocketResult<()> {
        Ok(())
    }

    fn receive_buffer_size(&mut self, _this: Resource<UdpSocket>) -> SocketResult<u64> {
        Ok(131_072)
    }

    fn set_receive_buffer_size(
        &mut self,
        _this: Resource<UdpSocket>,
        _value: u64,
    ) -> SocketResult<()> {
        Ok(())
    }

    fn send_buffer_size(&mut self, _this: Resource<UdpSocket>) -> SocketResult<u64> {
        Ok(131_072)
    }

    fn set_send_buffer_size(
        &mut self,
        _this: Resource<UdpSocket>,
        _value: u64,
    ) -> SocketResult<()> {
        Ok(())
    }

    fn subscribe(&mut self, this: Resource<UdpSocket>) -> wasmtime::Result<Resource<DynPollable>> {
        wasmtime_wasi::p2::subscribe(self.table, Resource::<Udp>::new_borrow(this.rep()))
    }

    fn drop(&mut self, this: Resource<UdpSocket>) -> wasmtime::Result<()> {
        self.table.delete(Resource::<Udp>::new_own(this.rep()))?;
        Ok(())
    }
}

impl udp::HostIncomingDatagramStream for SocketsView<'_> {
    fn receive(
        &mut self,
        this: Resource<udp::IncomingDatagramStream>,
        max_results: u64,
    ) -> SocketResult<Vec<udp::IncomingDatagram>> {
        let incoming = self
            .table
            .get_mut(&Resource::<Incoming>::new_borrow(this.rep()))?;
        let mut out = Vec::new();
        while (out.len() as u64) < max_results {
            let Some((data, from)) = incoming.0.pop_front() else {
                break;
            };
            out.push(udp::IncomingDatagram {
                data,
                remote_address: from.into(),
            });
        }
        Ok(out)
    }

    fn subscribe(
        &mut self,
        this: Resource<udp::IncomingDatagramStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        wasmtime_wasi::p2::subscribe(self.table, Resource::<Incoming>::new_borrow(this.rep()))
    }

    fn drop(&mut self, this: Resource<udp::IncomingDatagramStream>) -> wasmtime::Result<()> {
        self.table
            .delete(Resource::<Incoming>::new_own(this.rep()))?;
        Ok(())
    }
}

impl udp::HostOutgoingDatagramStream for SocketsView<'_> {
    fn check_send(&mut self, _this: Resource<udp::OutgoingDatagramStream>) -> SocketResult<u64> {
        Ok(64)
    }

    fn send(
        &mut self,
        this: Resource<udp::OutgoingDatagramStream>,
        datagrams: Vec<udp::OutgoingDatagram>,
    ) -> SocketResult<u64> {
        let index = self
            .table
            .get(&Resource::<Outgoing>::new_borrow(this.rep()))?
            .0;
        let mut c = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        for d in &datagrams {
            let to = d.remote_address.map(|a| SocketAddr::from(a).to_string());
            let line = datagram_line(
                d.data.len() as u64,
                wasm_rr_trace::output_hash(&d.data),
                to.as_deref(),
            );
            c.udp_made[index].2.push(line);
        }
        Ok(datagrams.len() as u64)
    }

    fn subscribe(
        &mut self,
        this: Resource<udp::OutgoingDatagramStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        wasmtime_wasi::p2::subscribe(self.table, Resource::<Outgoing>::new_borrow(this.rep()))
    }

    async fn drop(&mut self, this: Resource<udp::OutgoingDatagramStream>) -> wasmtime::Result<()> {
        self.table
            .delete(Resource::<Outgoing>::new_own(this.rep()))?;
        Ok(())
    }
}
