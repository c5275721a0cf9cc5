//! The binary form of a format-2 event, read only: postcard's encoding of the format-2
//! [`Event`] enum (its variant index, then its fields), random numbers in the block's column,
//! clock readings as differences, and a repeated event as the one byte of [`Event::Repeat`].

use super::Event;
use crate::Datetime;

/// The binary form of [`Event::Repeat`] (its variant index, one byte).
fn repeat_code() -> u8 {
    let mut buf = [0u8; 4];
    let used = postcard::to_slice(&Event::Repeat, &mut buf).expect("one byte");
    used[0]
}

/// Whether format 2 kept an event out of repeat comparisons (more than 256 bytes of data).
fn big(event: &Event) -> bool {
    const BIG: usize = 256;
    let len = match event {
        Event::Read { result: Ok(b), .. } => b.0.len(),
        Event::RandomBytes(b) | Event::InsecureRandomBytes(b) => b.0.len(),
        Event::Fs(super::fs::FsEvent::Descriptor {
            result: Ok(super::fs::FsAnswer::Data(b, _)),
            ..
        }) => b.0.len(),
        Event::Sockets(super::sockets::SocketsEvent::Receive { result: Ok(d), .. }) => {
            d.iter().map(|d| d.data.0.len()).sum()
        }
        _ => 0,
    };
    len > BIG
}

/// Reads format-2 events back, one after another, and upgrades them.
pub(crate) struct Decoder {
    last: Vec<u8>,
    monotonic: u64,
    wall: Datetime,
    repeat: u8,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            last: Vec::new(),
            monotonic: 0,
            wall: Datetime::default(),
            repeat: repeat_code(),
        }
    }
}

impl Decoder {
    /// Decodes the event at the start of `input`, taking its random number, if any, from the
    /// front of `column`; returns it, upgraded, and the bytes after it.
    ///
    /// Errors: the bytes are not an event, a repeat marker comes first, the column is used up,
    /// or the event cannot be upgraded.
    pub(crate) fn decode<'a>(
        &mut self,
        input: &'a [u8],
        column: &mut &[u8],
    ) -> Result<(crate::Event, &'a [u8]), String> {
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
        Ok((event.upgrade()?, rest))
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
