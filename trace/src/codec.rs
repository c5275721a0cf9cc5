//! The binary form of one event: [postcard](https://docs.rs/postcard), with values encoded
//! against the previous ones.
//!
//! - An event is its variant index (a varint: one byte for every [`Event`] variant) and then
//!   its fields, as postcard writes them. Hashes take 8 fixed bytes.
//! - Random numbers (`random-u64`, `insecure-random-u64`) are not in the event: their 8 bytes
//!   go to the block's *column* of random bytes, in event order, so that a run of them is a run
//!   of identical one-byte events (which compress to nothing) beside the incompressible values.
//! - `monotonic-clock-now` holds the difference from the previous reading (ns, wrapping), and
//!   `wall-clock-now` the difference in seconds from the previous reading: one or two bytes in
//!   a loop instead of eight.
//! - An event whose binary form is byte for byte that of the event before it (a repeated
//!   `check-write` permit, `pollable.ready` answer, empty read, or the same clock step) is the
//!   one byte of [`Event::Repeat`].
//!
//! [`Encoder`] and [`Decoder`] carry that state from one event to the next, across blocks.

use crate::{Datetime, Event};

/// The binary form of [`Event::Repeat`] (its variant index, one byte).
fn repeat_code() -> u8 {
    let mut buf = [0u8; 4];
    let used = postcard::to_slice(&Event::Repeat, &mut buf).expect("one byte");
    assert_eq!(used.len(), 1, "Event has fewer than 128 variants");
    used[0]
}

/// Turns events into their binary form, one after another.
pub struct Encoder {
    last: Vec<u8>,
    scratch: Vec<u8>,
    monotonic: u64,
    wall: Datetime,
    repeat: u8,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder::new()
    }
}

impl Encoder {
    /// An encoder at the start of a trace.
    pub fn new() -> Encoder {
        Encoder {
            last: Vec::new(),
            scratch: Vec::new(),
            monotonic: 0,
            wall: Datetime {
                seconds: 0,
                nanoseconds: 0,
            },
            repeat: repeat_code(),
        }
    }

    /// Appends the binary form of `event` to `out`, and its random number, if any, to `column`.
    pub fn encode(&mut self, event: &Event, out: &mut Vec<u8>, column: &mut Vec<u8>) {
        if let Event::RandomU64(v) | Event::InsecureRandomU64(v) = event {
            column.extend_from_slice(&v.to_le_bytes());
        }
        if big(event) {
            // Events carrying data (reads of 64 KiB) are written straight out, never compared,
            // and never repeated.
            let taken = std::mem::take(out);
            *out = postcard::to_extend(event, taken).expect("serialising an event into memory");
            self.last.clear();
            return;
        }
        let delta;
        let wire = match event {
            Event::MonotonicClockNow(v) => {
                delta = Event::MonotonicClockNow(v.wrapping_sub(self.monotonic));
                self.monotonic = *v;
                &delta
            }
            Event::WallClockNow(d) => {
                delta = Event::WallClockNow(Datetime {
                    seconds: d.seconds.wrapping_sub(self.wall.seconds),
                    nanoseconds: d.nanoseconds,
                });
                self.wall = *d;
                &delta
            }
            other => other,
        };
        // Most events fit a small buffer on the stack (postcard's slice flavour is the fast
        // one); the rest go through `scratch`.
        let mut stack = [0u8; 96];
        let bytes: &[u8] = match postcard::to_slice(wire, &mut stack) {
            Ok(b) => b,
            Err(_) => {
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                // Serialising into a Vec fails only when memory does.
                self.scratch =
                    postcard::to_extend(wire, scratch).expect("serialising an event into memory");
                &self.scratch
            }
        };
        if bytes == &self.last[..] {
            out.push(self.repeat);
        } else {
            out.extend_from_slice(bytes);
            self.last.clear();
            self.last.extend_from_slice(bytes);
        }
    }
}

/// Whether an event carries more data than is worth comparing with the previous one (more
/// than 256 bytes read): such an event is never written as a repeat, nor compared.
fn big(event: &Event) -> bool {
    const BIG: usize = 256;
    let len = match event {
        Event::Read { result: Ok(b), .. } => b.0.len(),
        Event::RandomBytes(b) | Event::InsecureRandomBytes(b) => b.0.len(),
        Event::Fs(crate::fs::FsEvent::Descriptor {
            result: Ok(crate::fs::FsAnswer::Data(b, _)),
            ..
        }) => b.0.len(),
        Event::Sockets(crate::sockets::SocketsEvent::Receive { result: Ok(d), .. }) => {
            d.iter().map(|d| d.data.0.len()).sum()
        }
        _ => 0,
    };
    len > BIG
}

/// Reads events back from their binary form, one after another.
pub struct Decoder {
    last: Vec<u8>,
    monotonic: u64,
    wall: Datetime,
    repeat: u8,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder at the start of a trace.
    pub fn new() -> Decoder {
        Decoder {
            last: Vec::new(),
            monotonic: 0,
            wall: Datetime {
                seconds: 0,
                nanoseconds: 0,
            },
            repeat: repeat_code(),
        }
    }

    /// Decodes the event at the start of `input`, taking its random number, if any, from the
    /// front of `column`; returns it and the bytes after it.
    ///
    /// Errors: the bytes are not an event (postcard's message), a repeat marker comes first,
    /// or the column is used up.
    pub fn decode<'a>(
        &mut self,
        input: &'a [u8],
        column: &mut &[u8],
    ) -> Result<(Event, &'a [u8]), String> {
        let (wire, rest) = if input.first() == Some(&self.repeat) {
            if self.last.is_empty() {
                return Err("a repeat marker comes before any event".into());
            }
            let e = postcard::from_bytes::<Event>(&self.last).map_err(|e| e.to_string())?;
            (e, &input[1..])
        } else {
            let (e, rest) = postcard::take_from_bytes::<Event>(input).map_err(|e| e.to_string())?;
            self.last.clear();
            if !big(&e) {
                self.last
                    .extend_from_slice(&input[..input.len() - rest.len()]);
            }
            (e, rest)
        };
        let event = match wire {
            Event::MonotonicClockNow(delta) => {
                self.monotonic = self.monotonic.wrapping_add(delta);
                Event::MonotonicClockNow(self.monotonic)
            }
            Event::WallClockNow(d) => {
                self.wall = Datetime {
                    seconds: self.wall.seconds.wrapping_add(d.seconds),
                    nanoseconds: d.nanoseconds,
                };
                Event::WallClockNow(self.wall)
            }
            Event::RandomU64(_) => Event::RandomU64(take_u64(column)?),
            Event::InsecureRandomU64(_) => Event::InsecureRandomU64(take_u64(column)?),
            other => other,
        };
        Ok((event, rest))
    }
}

/// The next 8 bytes of the column, as a little-endian u64.
fn take_u64(column: &mut &[u8]) -> Result<u64, String> {
    let (value, rest) = column
        .split_first_chunk::<8>()
        .ok_or("the block's column of random numbers is used up")?;
    *column = rest;
    Ok(u64::from_le_bytes(*value))
}
