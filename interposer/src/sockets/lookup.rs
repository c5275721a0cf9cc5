//! `wasi:sockets/ip-name-lookup`: each name lookup is numbered, and its answers recorded one
//! by one (`would-block` included).

use crate::Interposer;
use crate::exports::wasi::sockets::{ip_name_lookup, network};
use crate::rr::created;
use crate::rr::{self, Live};
use crate::wasi::sockets as host;
use std::any::Any;
use std::rc::Rc;
use wasm_rr_trace::sockets as ev;

/// The exported `resolve-address-stream` resource.
pub struct ResolveAddressStream {
    id: u32,
    host: Live<Rc<host::ip_name_lookup::ResolveAddressStream>>,
}

impl ip_name_lookup::Guest for Interposer {
    type ResolveAddressStream = ResolveAddressStream;

    fn resolve_addresses(
        network: network::NetworkBorrow<'_>,
        name: String,
    ) -> Result<ip_name_lookup::ResolveAddressStream, network::ErrorCode> {
        let net = network.get::<super::Network>();
        let call = ev::ResolveAddresses {
            network: net.id,
            name: name.clone(),
        };
        let id = rr::call(call, || {
            super::host_result(
                host::ip_name_lookup::resolve_addresses(net.host.get(), &name),
                |s| created::put(Rc::new(s), &super::LOOKUPS),
            )
        })
        .map_err(super::err_to_wit)?;
        Ok(ip_name_lookup::ResolveAddressStream::new(
            ResolveAddressStream {
                id,
                host: Live::created(),
            },
        ))
    }
}

impl ip_name_lookup::GuestResolveAddressStream for ResolveAddressStream {
    fn resolve_next_address(&self) -> Result<Option<network::IpAddress>, network::ErrorCode> {
        rr::call(ev::ResolveNextAddress { lookup: self.id }, || {
            super::host_result(self.host.get().resolve_next_address(), |a| {
                a.map(super::ip_from_host)
            })
        })
        .map(|a| a.map(super::ip_to_wit))
        .map_err(super::err_to_wit)
    }

    fn subscribe(&self) -> crate::exports::wasi::io::poll::Pollable {
        // The pollable keeps the host's lookup alive, as wasmtime wants, in both modes.
        crate::io::poll::new_pollable(
            rr::live(|| self.host.get().subscribe()),
            rr::live(|| self.host.get().clone() as Rc<dyn Any>),
        )
    }
}
