//! The binary form of one event (format 3): [postcard](https://docs.rs/postcard), with values
//! encoded against the previous ones.
//!
//! - An event is its *kind* (a varint: its interface's base plus the call's number in its
//!   interface; one byte for the interfaces below 128), the call's fields as postcard writes
//!   them, then the answer's. The answer has no tag of its own: the kind says which call it
//!   answers. Hashes and seeds take 8 fixed bytes.
//! - A few answers are stored otherwise, as their call declares (`stored as …`, a [`Store`]):
//!   random numbers (`get-random-u64`, `get-insecure-random-u64`) are not in the event: their
//!   8 bytes go to the block's *column* of random bytes, in event order, so that a run of them
//!   is a run of identical one-byte events (which compress to nothing) beside the
//!   incompressible values ([`InColumn`]); a `monotonic-clock.now` reading is stored as the
//!   difference from the previous one (ns, wrapping; [`MonotonicDelta`]), and a
//!   `wall-clock.now` reading's seconds as the difference from the previous one's
//!   ([`WallDelta`]): one or two bytes in a loop instead of eight.
//! - An event whose binary form is byte for byte that of the event before it (a repeated
//!   `check-write` permit, `pollable.ready` answer, empty read, or the same clock step) is the
//!   one byte [`REPEAT`]. Events longer than [`SMALL`] bytes are never compared.
//!
//! [`Encoder`] and [`Decoder`] carry that state from one event to the next, across blocks.

use crate::clocks::Datetime;
use crate::event::{Sink, Slice};
use crate::random::Drawn;
use crate::{Event, Request};

/// The kind byte that repeats the event before it.
pub const REPEAT: u8 = 127;

/// Events up to this many bytes are compared with the event before them (bytes); longer ones
/// never are.
pub const SMALL: usize = 128;

/// The readings that later ones are stored against.
#[derive(Default)]
pub struct Readings {
    monotonic: u64,
    wall_seconds: u64,
}

/// How a call's answer (of type `A`) is stored in the binary form, when not as it is.
pub trait Store<A> {
    /// The value written for `answer`, when it is not `answer` itself; moves `readings` on,
    /// and puts what goes to the block's column of random numbers there.
    #[inline]
    fn store(_answer: &A, _readings: &mut Readings, _column: &mut Vec<u8>) -> Option<A> {
        None
    }

    /// The answer from the value read back (the inverse of [`Store::store`]).
    ///
    /// Errors: the column of random numbers is used up.
    #[inline]
    fn load(stored: A, _readings: &mut Readings, _column: &mut &[u8]) -> Result<A, String> {
        Ok(stored)
    }
}

/// Stored as it is.
pub struct Plain;

impl<A> Store<A> for Plain {}

/// A `monotonic-clock.now` reading (ns), stored as the difference from the previous one.
pub struct MonotonicDelta;

impl Store<u64> for MonotonicDelta {
    #[inline]
    fn store(now: &u64, readings: &mut Readings, _: &mut Vec<u8>) -> Option<u64> {
        let delta = now.wrapping_sub(readings.monotonic);
        readings.monotonic = *now;
        Some(delta)
    }

    #[inline]
    fn load(delta: u64, readings: &mut Readings, _: &mut &[u8]) -> Result<u64, String> {
        readings.monotonic = readings.monotonic.wrapping_add(delta);
        Ok(readings.monotonic)
    }
}

/// A `wall-clock.now` reading, its seconds stored as the difference from the previous one's.
pub struct WallDelta;

impl Store<Datetime> for WallDelta {
    #[inline]
    fn store(now: &Datetime, readings: &mut Readings, _: &mut Vec<u8>) -> Option<Datetime> {
        let stored = Datetime {
            seconds: now.seconds.wrapping_sub(readings.wall_seconds),
            nanoseconds: now.nanoseconds,
        };
        readings.wall_seconds = now.seconds;
        Some(stored)
    }

    #[inline]
    fn load(d: Datetime, readings: &mut Readings, _: &mut &[u8]) -> Result<Datetime, String> {
        readings.wall_seconds = readings.wall_seconds.wrapping_add(d.seconds);
        Ok(Datetime {
            seconds: readings.wall_seconds,
            nanoseconds: d.nanoseconds,
        })
    }
}

/// A random number, stored in the block's column (8 bytes, little-endian), not in the event.
pub struct InColumn;

impl Store<Drawn> for InColumn {
    #[inline]
    fn store(d: &Drawn, _: &mut Readings, column: &mut Vec<u8>) -> Option<Drawn> {
        column.extend_from_slice(&d.0.to_le_bytes());
        None
    }

    #[inline]
    fn load(_: Drawn, _: &mut Readings, column: &mut &[u8]) -> Result<Drawn, String> {
        let (value, rest) = column
            .split_first_chunk::<8>()
            .ok_or("the block's column of random numbers is used up")?;
        *column = rest;
        Ok(Drawn(u64::from_le_bytes(*value)))
    }
}

/// Turns events into their binary form, one after another.
pub struct Encoder {
    last: Vec<u8>,
    readings: Readings,
    /// Where a small event is written first (kept between events: no buffer to clear).
    scratch: [u8; SMALL],
}

impl Default for Encoder {
    fn default() -> Encoder {
        Encoder {
            last: Vec::new(),
            readings: Readings::default(),
            scratch: [0; SMALL],
        }
    }
}

impl Encoder {
    /// An encoder at the start of a trace.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// Appends the binary form of `event` to `out`, and its random number, if any, to `column`.
    ///
    /// Panics when the event's answer answers another call (a bug in whoever made the event).
    pub fn encode(&mut self, event: &Event, out: &mut Vec<u8>, column: &mut Vec<u8>) {
        event.call.encode(&event.answer, self, out, column);
    }

    /// Appends the binary form of `call` answered by `answer` to `out`, and its random number,
    /// if any, to `column`: what [`Encoder::encode`] does for an event, without one.
    #[inline]
    pub fn encode_parts<C: Request>(
        &mut self,
        call: &C,
        answer: &C::Answer,
        out: &mut Vec<u8>,
        column: &mut Vec<u8>,
    ) {
        use crate::codec::Store;
        let replaced = C::Stored::store(answer, &mut self.readings, column);
        let answer = replaced.as_ref().unwrap_or(answer);
        // Most events fit a small buffer (postcard's fast flavour), and only those are
        // compared with the event before; the others go straight to `out`.
        let mut small = Slice {
            buf: &mut self.scratch,
            used: 0,
        };
        if !(small.put_kind(C::KIND) && small.put(call) && small.put(answer)) {
            self.last.clear();
            out.put_kind(C::KIND);
            out.put(call);
            out.put(answer);
            return;
        }
        let used = small.used;
        let bytes = &self.scratch[..used];
        if bytes == &self.last[..] {
            out.push(REPEAT);
        } else {
            out.extend_from_slice(bytes);
            self.last.clear();
            self.last.extend_from_slice(bytes);
        }
    }
}

/// Reads events back from their binary form, one after another.
#[derive(Default)]
pub struct Decoder {
    /// The binary form of the last event read, which a repeat marker repeats; empty after an
    /// event that is never repeated.
    last: Vec<u8>,
    readings: Readings,
}

/// Decodes the event at the start of `input` (kind, call, answer).
#[inline]
fn decode_event<'a>(
    input: &'a [u8],
    readings: &mut Readings,
    column: &mut &[u8],
) -> Result<(Event, &'a [u8]), String> {
    // Kinds below 128 (the interfaces most events are of) are one byte.
    let (kind, rest) = match input.split_first() {
        Some((&k, rest)) if k < 0x80 => (u32::from(k), rest),
        _ => postcard::take_from_bytes::<u32>(input).map_err(|e| e.to_string())?,
    };
    let decode = crate::decoder(kind).ok_or_else(|| format!("unknown event kind {kind}"))?;
    decode(rest, readings, column)
}

impl Decoder {
    /// A decoder at the start of a trace.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Decodes the event at the start of `input`, taking its random number, if any, from the
    /// front of `column`; returns it and the bytes after it.
    ///
    /// Errors: the bytes are not an event (postcard's message, or an unknown kind), a repeat
    /// marker comes first, or the column is used up.
    pub fn decode<'a>(
        &mut self,
        input: &'a [u8],
        column: &mut &[u8],
    ) -> Result<(Event, &'a [u8]), String> {
        if input.first() == Some(&REPEAT) {
            if self.last.is_empty() {
                return Err("a repeat marker comes before any event".into());
            }
            let (event, _) = decode_event(&self.last, &mut self.readings, column)?;
            return Ok((event, &input[1..]));
        }
        let (event, rest) = decode_event(input, &mut self.readings, column)?;
        // The encoder compares (and so repeats) only events of at most SMALL bytes.
        let used = input.len() - rest.len();
        self.last.clear();
        if used <= SMALL {
            self.last.extend_from_slice(&input[..used]);
        }
        Ok((event, rest))
    }
}
