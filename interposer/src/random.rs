//! `wasi:random/random`, `wasi:random/insecure` and `wasi:random/insecure-seed`.

use crate::Interposer;
use crate::exports::wasi::random::{insecure, insecure_seed, random};
#[cfg(not(feature = "replay"))]
use crate::wasi::random as host;
#[cfg(feature = "replay")]
use wasm_rr_trace::Call;
use wasm_rr_trace::{Bytes, Event};

impl random::Guest for Interposer {
    fn get_random_bytes(len: u64) -> Vec<u8> {
        rr!(host::random::get_random_bytes(len) => |v| Event::RandomBytes(Bytes(v.clone()));
            replay Call::RandomBytes { len }, Event::RandomBytes(Bytes(b)) => b)
    }

    fn get_random_u64() -> u64 {
        rr!(host::random::get_random_u64() => |v| Event::RandomU64(v);
            replay Call::RandomU64, Event::RandomU64(v) => v)
    }
}

impl insecure::Guest for Interposer {
    fn get_insecure_random_bytes(len: u64) -> Vec<u8> {
        rr!(host::insecure::get_insecure_random_bytes(len) => |v| Event::InsecureRandomBytes(Bytes(v.clone()));
            replay Call::InsecureRandomBytes { len }, Event::InsecureRandomBytes(Bytes(b)) => b)
    }

    fn get_insecure_random_u64() -> u64 {
        rr!(host::insecure::get_insecure_random_u64() => |v| Event::InsecureRandomU64(v);
            replay Call::InsecureRandomU64, Event::InsecureRandomU64(v) => v)
    }
}

impl insecure_seed::Guest for Interposer {
    fn insecure_seed() -> (u64, u64) {
        rr!(host::insecure_seed::insecure_seed() => |v| Event::InsecureSeed(v.0, v.1);
            replay Call::InsecureSeed, Event::InsecureSeed(a, b) => (a, b))
    }
}
