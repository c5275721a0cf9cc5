//! Events of `wasi:random/random`, `wasi:random/insecure` and `wasi:random/insecure-seed`.
//!
//! Every value the guest was given is in the trace. In the binary form a `get-random-u64`
//! answer takes no room in the event: its 8 bytes go to the block's column of random bytes
//! (`codec.rs`), so that a run of draws is a run of one-byte events beside the values.

use crate::Bytes;
use crate::values::Fixed64;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A random `u64` the guest was given: a number in JSON, and in the block's column of random
/// bytes in the binary form.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(transparent)]
pub struct Drawn(#[serde(with = "crate::values::column")] pub u64);

crate::event::interface! {
    Random = 8;
    /// `random.get-random-bytes(len)`: the bytes.
    GetRandomBytes {
        /// Bytes asked for.
        len: u64,
    } -> Bytes;
    /// `random.get-random-u64`.
    GetRandomU64 {} -> Drawn, stored as crate::codec::InColumn;
    /// `insecure.get-insecure-random-bytes(len)`: the bytes.
    GetInsecureRandomBytes {
        /// Bytes asked for.
        len: u64,
    } -> Bytes;
    /// `insecure.get-insecure-random-u64`.
    GetInsecureRandomU64 {} -> Drawn, stored as crate::codec::InColumn;
    /// `insecure-seed.insecure-seed`: the two halves of the seed.
    InsecureSeed {} -> (Fixed64, Fixed64);
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::GetRandomBytes(c) => {
                write!(f, "wasi:random/random.get-random-bytes({})", c.len)
            }
            Call::GetRandomU64(_) => f.write_str("wasi:random/random.get-random-u64()"),
            Call::GetInsecureRandomBytes(c) => write!(
                f,
                "wasi:random/insecure.get-insecure-random-bytes({})",
                c.len
            ),
            Call::GetInsecureRandomU64(_) => {
                f.write_str("wasi:random/insecure.get-insecure-random-u64()")
            }
            Call::InsecureSeed(_) => f.write_str("wasi:random/insecure-seed.insecure-seed()"),
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::GetRandomBytes(b) | Answer::GetInsecureRandomBytes(b) => write!(f, "{b:?}"),
            Answer::GetRandomU64(v) | Answer::GetInsecureRandomU64(v) => write!(f, "{}", v.0),
            Answer::InsecureSeed((a, b)) => write!(f, "({}, {})", a.0, b.0),
        }
    }
}
