//! Events of `wasi:clocks/wall-clock` and `wasi:clocks/monotonic-clock`.
//!
//! Clock readings are the host's answers. `subscribe-duration` and `subscribe-instant` answer
//! with a pollable, whose readiness `wasi:io/poll` events record; their argument is checked on
//! replay. In the binary form a reading is stored as the difference from the reading before it
//! (`codec.rs`). Times are nanoseconds.

use serde::{Deserialize, Serialize};
use std::fmt;

/// `wasi:clocks/wall-clock.datetime`: seconds and nanoseconds since the Unix epoch.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Datetime {
    /// Whole seconds.
    pub seconds: u64,
    /// Nanoseconds within the second (0..1_000_000_000).
    pub nanoseconds: u32,
}

crate::event::interface! {
    Clocks = 0;
    /// `wall-clock.now`.
    WallClockNow {} -> Datetime, stored as crate::codec::WallDelta;
    /// `wall-clock.resolution`.
    WallClockResolution {} -> Datetime;
    /// `monotonic-clock.now`: the reading, in ns.
    MonotonicClockNow {} -> u64, stored as crate::codec::MonotonicDelta;
    /// `monotonic-clock.resolution`, in ns.
    MonotonicClockResolution {} -> u64;
    /// `monotonic-clock.subscribe-duration(when)`: a pollable.
    SubscribeDuration {
        /// The duration, in ns.
        when: u64,
    } -> ();
    /// `monotonic-clock.subscribe-instant(when)`: a pollable.
    SubscribeInstant {
        /// The instant, in ns.
        when: u64,
    } -> ();
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::WallClockNow(_) => f.write_str("wasi:clocks/wall-clock.now()"),
            Call::WallClockResolution(_) => f.write_str("wasi:clocks/wall-clock.resolution()"),
            Call::MonotonicClockNow(_) => f.write_str("wasi:clocks/monotonic-clock.now()"),
            Call::MonotonicClockResolution(_) => {
                f.write_str("wasi:clocks/monotonic-clock.resolution()")
            }
            Call::SubscribeDuration(c) => write!(
                f,
                "wasi:clocks/monotonic-clock.subscribe-duration({} ns)",
                c.when
            ),
            Call::SubscribeInstant(c) => write!(
                f,
                "wasi:clocks/monotonic-clock.subscribe-instant({} ns)",
                c.when
            ),
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::WallClockNow(d) | Answer::WallClockResolution(d) => {
                write!(f, "{}.{:09} s", d.seconds, d.nanoseconds)
            }
            Answer::MonotonicClockNow(n) | Answer::MonotonicClockResolution(n) => {
                write!(f, "{n} ns")
            }
            Answer::SubscribeDuration(()) | Answer::SubscribeInstant(()) => f.write_str("pollable"),
        }
    }
}
