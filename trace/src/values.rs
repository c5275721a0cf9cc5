//! Values the events of several interfaces share: [`Bytes`], and the serde adapters that keep
//! the binary form small (`fixed64`, `column`).

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Bytes the host returned (random bytes, stdin data). In CBOR a byte string; in JSON
/// (any human-readable serde format) a lowercase hex string.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0.len())
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&hex::encode(&self.0))
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Bytes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string or a hex string")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
        Ok(Bytes(v.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
        Ok(Bytes(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Bytes, E> {
        hex::decode(v)
            .map(Bytes)
            .map_err(|_| E::custom(format!("`{v}` is not a hex string")))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        if d.is_human_readable() {
            d.deserialize_str(BytesVisitor)
        } else {
            // `byte_buf`: ciborium hands out borrowed bytes only up to its scratch size (4 KiB).
            d.deserialize_byte_buf(BytesVisitor)
        }
    }
}

/// Serde adapter for values that are uniformly random (random numbers, hashes): 8 fixed bytes
/// (little-endian) in the binary form, where a varint would take 9 or 10, and a plain number in
/// JSON.
pub(crate) mod fixed64 {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            v.serialize(s)
        } else {
            v.to_le_bytes().serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        if d.is_human_readable() {
            u64::deserialize(d)
        } else {
            <[u8; 8]>::deserialize(d).map(u64::from_le_bytes)
        }
    }
}

/// Serde adapter for random numbers: a plain number in JSON, and nothing at all in the binary
/// form of the event, because `codec.rs` stores them in the block's column of random bytes
/// (deserialising gives 0 until the codec fills the value in).
pub(crate) mod column {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            v.serialize(s)
        } else {
            s.serialize_unit()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        if d.is_human_readable() {
            u64::deserialize(d)
        } else {
            <()>::deserialize(d).map(|()| 0)
        }
    }
}

/// A uniformly random 64-bit value (a hash, a seed): 8 fixed bytes in the binary form, a
/// number in JSON (see `fixed64`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(transparent)]
pub struct Fixed64(#[serde(with = "fixed64")] pub u64);

impl fmt::Display for Fixed64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// How many characters of written text [`text_preview`] shows.
const PREVIEW_CHARS: usize = 80;

/// Bytes the app wrote, for people: as a quoted string with Rust's escapes when they are
/// UTF-8 (`"hello\n"`; the first 80 characters, then `… (N B)`), otherwise `N bytes`.
pub fn text_preview(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(text) => {
            let mut chars = text.char_indices();
            match chars.nth(PREVIEW_CHARS) {
                Some((end, _)) => format!("{:?}… ({} B)", &text[..end], data.len()),
                None => format!("{text:?}"),
            }
        }
        Err(_) => format!("{} bytes", data.len()),
    }
}
