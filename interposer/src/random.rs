//! `wasi:random/random`, `wasi:random/insecure` and `wasi:random/insecure-seed`.
//!
//! The recorder draws random bytes from the host in batches of [`POOL`] bytes and hands them
//! out as the guest asks: a million `get-random-u64` calls cost a few hundred host calls
//! instead of a million, which matters on wasmtime's default settings, where each host call
//! made inside a call between components costs about a microsecond. Every value the guest
//! gets is still logged, and the secure pool is only ever filled from the host's secure source.

use crate::Interposer;
use crate::exports::wasi::random::{insecure, insecure_seed, random};
#[cfg(not(feature = "replay"))]
use crate::wasi::random as host;
#[cfg(feature = "replay")]
use wasm_rr_trace::Call;
use wasm_rr_trace::{Bytes, Event};

/// Bytes the recorder fetches from the host at a time, and the largest request it serves from
/// the pool (larger ones go to the host directly).
#[cfg(not(feature = "replay"))]
const POOL: usize = 4096;

#[cfg(not(feature = "replay"))]
struct Pool {
    bytes: Vec<u8>,
    at: usize,
}

#[cfg(not(feature = "replay"))]
thread_local! {
    static SECURE: std::cell::RefCell<Pool> =
        const { std::cell::RefCell::new(Pool { bytes: Vec::new(), at: 0 }) };
    static INSECURE: std::cell::RefCell<Pool> =
        const { std::cell::RefCell::new(Pool { bytes: Vec::new(), at: 0 }) };
}

#[cfg(not(feature = "replay"))]
impl Pool {
    /// Gives `out.len()` bytes from the pool, refilling it from `fetch` when it runs low.
    #[inline]
    fn take(&mut self, out: &mut [u8], fetch: fn(u64) -> Vec<u8>) {
        if self.bytes.len() - self.at < out.len() {
            self.bytes = fetch(POOL as u64);
            self.at = 0;
        }
        out.copy_from_slice(&self.bytes[self.at..self.at + out.len()]);
        self.at += out.len();
    }
}

#[cfg(not(feature = "replay"))]
fn bytes_from(
    pool: &'static std::thread::LocalKey<std::cell::RefCell<Pool>>,
    len: u64,
    fetch: fn(u64) -> Vec<u8>,
) -> Vec<u8> {
    if len as usize > POOL {
        return fetch(len);
    }
    let mut out = vec![0; len as usize];
    pool.with_borrow_mut(|p| p.take(&mut out, fetch));
    out
}

#[cfg(not(feature = "replay"))]
fn u64_from(
    pool: &'static std::thread::LocalKey<std::cell::RefCell<Pool>>,
    fetch: fn(u64) -> Vec<u8>,
) -> u64 {
    let mut out = [0; 8];
    pool.with_borrow_mut(|p| p.take(&mut out, fetch));
    u64::from_le_bytes(out)
}

impl random::Guest for Interposer {
    fn get_random_bytes(len: u64) -> Vec<u8> {
        rr!(bytes_from(&SECURE, len, host::random::get_random_bytes) => |v| Event::RandomBytes(Bytes(v.clone()));
            replay Call::RandomBytes { len }, Event::RandomBytes(Bytes(b)) => b)
    }

    fn get_random_u64() -> u64 {
        rr!(u64_from(&SECURE, host::random::get_random_bytes) => |v| Event::RandomU64(v);
            replay Call::RandomU64, Event::RandomU64(v) => v)
    }
}

impl insecure::Guest for Interposer {
    fn get_insecure_random_bytes(len: u64) -> Vec<u8> {
        rr!(bytes_from(&INSECURE, len, host::insecure::get_insecure_random_bytes) => |v| Event::InsecureRandomBytes(Bytes(v.clone()));
            replay Call::InsecureRandomBytes { len }, Event::InsecureRandomBytes(Bytes(b)) => b)
    }

    fn get_insecure_random_u64() -> u64 {
        rr!(u64_from(&INSECURE, host::insecure::get_insecure_random_bytes) => |v| Event::InsecureRandomU64(v);
            replay Call::InsecureRandomU64, Event::InsecureRandomU64(v) => v)
    }
}

impl insecure_seed::Guest for Interposer {
    fn insecure_seed() -> (u64, u64) {
        rr!(host::insecure_seed::insecure_seed() => |v| Event::InsecureSeed(v.0, v.1);
            replay Call::InsecureSeed, Event::InsecureSeed(a, b) => (a, b))
    }
}
