//! `wasi:random/random`, `wasi:random/insecure` and `wasi:random/insecure-seed`.
//!
//! The recorder draws random bytes from the host in batches and hands them out as the guest
//! asks: a million `get-random-u64` calls cost a few hundred host calls instead of a million,
//! which matters on wasmtime's default settings, where each host call made inside a call
//! between components costs about a microsecond. The batches start at [`FIRST_BATCH`] bytes
//! and double up to [`POOL`], so that an instance that draws a few numbers (a request's
//! handler seeding a hash map) does not make the host generate 4 KiB. Every value the guest
//! gets is still recorded, and the secure pool is only ever filled from the host's secure
//! source.

use crate::exports::wasi::random::{insecure, insecure_seed, random};
use crate::wasi::random as host;
use crate::{Interposer, rr};
use std::cell::RefCell;
use std::thread::LocalKey;
use wasm_rr_trace::random::{self as ev, Drawn};
use wasm_rr_trace::{Bytes, Fixed64};

/// The most bytes the recorder fetches from the host at a time, and the largest request it
/// serves from the pool (larger ones go to the host directly).
pub const POOL: usize = 4096;

/// The bytes of the recorder's first fetch from the host; each later one is twice the last,
/// up to [`POOL`].
pub const FIRST_BATCH: usize = 64;

/// Random bytes fetched from the host and not handed out yet (recording).
struct Pool {
    bytes: Vec<u8>,
    at: usize,
    /// Bytes of the last fetch (0: none yet).
    batch: usize,
}

impl Pool {
    const fn new() -> Pool {
        Pool {
            bytes: Vec::new(),
            at: 0,
            batch: 0,
        }
    }
}

thread_local! {
    static SECURE: RefCell<Pool> = const { RefCell::new(Pool::new()) };
    static INSECURE: RefCell<Pool> = const { RefCell::new(Pool::new()) };
}

impl Pool {
    /// Gives `out.len()` bytes (at most [`POOL`]) from the pool, refilling it from `fetch` when
    /// it runs low.
    #[inline]
    fn take(&mut self, out: &mut [u8], fetch: fn(u64) -> Vec<u8>) {
        if self.bytes.len() - self.at < out.len() {
            self.batch = (self.batch * 2).clamp(FIRST_BATCH, POOL).max(out.len());
            self.bytes = fetch(self.batch as u64);
            self.at = 0;
        }
        out.copy_from_slice(&self.bytes[self.at..self.at + out.len()]);
        self.at += out.len();
    }
}

/// `len` random bytes from `pool` (recording).
fn bytes_from(
    pool: &'static LocalKey<RefCell<Pool>>,
    len: u64,
    fetch: fn(u64) -> Vec<u8>,
) -> Bytes {
    if len as usize > POOL {
        return Bytes(fetch(len));
    }
    let mut out = vec![0; len as usize];
    pool.with_borrow_mut(|p| p.take(&mut out, fetch));
    Bytes(out)
}

/// A random u64 from `pool` (recording).
fn u64_from(pool: &'static LocalKey<RefCell<Pool>>, fetch: fn(u64) -> Vec<u8>) -> Drawn {
    let mut out = [0; 8];
    pool.with_borrow_mut(|p| p.take(&mut out, fetch));
    Drawn(u64::from_le_bytes(out))
}

/// `len` random bytes drawn by `draw`, in calls of at most
/// `wasm_rr_trace::limits::MAX_READ_BYTES` each (one event each), so that no event outgrows a
/// trace block; the guest still gets its bytes from one call.
fn in_pieces(len: u64, draw: impl Fn(u64) -> Vec<u8>) -> Vec<u8> {
    let piece = wasm_rr_trace::limits::MAX_READ_BYTES;
    if len <= piece {
        return draw(len);
    }
    let mut out = Vec::with_capacity(len as usize);
    let mut left = len;
    while left > 0 {
        let n = left.min(piece);
        out.extend_from_slice(&draw(n));
        left -= n;
    }
    out
}

impl random::Guest for Interposer {
    fn get_random_bytes(len: u64) -> Vec<u8> {
        in_pieces(len, |len| {
            rr::call(ev::GetRandomBytes { len }, || {
                bytes_from(&SECURE, len, host::random::get_random_bytes)
            })
            .0
        })
    }

    fn get_random_u64() -> u64 {
        rr::call(ev::GetRandomU64 {}, || {
            u64_from(&SECURE, host::random::get_random_bytes)
        })
        .0
    }
}

impl insecure::Guest for Interposer {
    fn get_insecure_random_bytes(len: u64) -> Vec<u8> {
        in_pieces(len, |len| {
            rr::call(ev::GetInsecureRandomBytes { len }, || {
                bytes_from(&INSECURE, len, host::insecure::get_insecure_random_bytes)
            })
            .0
        })
    }

    fn get_insecure_random_u64() -> u64 {
        rr::call(ev::GetInsecureRandomU64 {}, || {
            u64_from(&INSECURE, host::insecure::get_insecure_random_bytes)
        })
        .0
    }
}

impl insecure_seed::Guest for Interposer {
    fn insecure_seed() -> (u64, u64) {
        let (a, b) = rr::call(ev::InsecureSeed {}, || {
            let (a, b) = host::insecure_seed::insecure_seed();
            (Fixed64(a), Fixed64(b))
        });
        (a.0, b.0)
    }
}
