//! `wasi:clocks/wall-clock` and `wasi:clocks/monotonic-clock`.
//!
//! Clock readings are logged; `subscribe-duration` and `subscribe-instant` log their argument
//! (so replay can check it) and return a pollable whose readiness `wasi:io/poll` replays, so a
//! replayed sleep returns at once.

use crate::Interposer;
use crate::exports::wasi::clocks::{monotonic_clock, wall_clock};
use crate::io::poll::new_pollable;
#[cfg(not(feature = "replay"))]
use crate::wasi::clocks as host;
#[cfg(feature = "replay")]
use wasm_rr_trace::Call;
use wasm_rr_trace::{Datetime, Event};

fn to_wit(d: Datetime) -> wall_clock::Datetime {
    wall_clock::Datetime {
        seconds: d.seconds,
        nanoseconds: d.nanoseconds,
    }
}

#[cfg(not(feature = "replay"))]
fn from_host(d: host::wall_clock::Datetime) -> Datetime {
    Datetime {
        seconds: d.seconds,
        nanoseconds: d.nanoseconds,
    }
}

impl wall_clock::Guest for Interposer {
    fn now() -> wall_clock::Datetime {
        to_wit(
            rr!(from_host(host::wall_clock::now()) => |v| Event::WallClockNow(v);
            replay Call::WallClockNow, Event::WallClockNow(d) => d),
        )
    }

    fn resolution() -> wall_clock::Datetime {
        to_wit(
            rr!(from_host(host::wall_clock::resolution()) => |v| Event::WallClockResolution(v);
            replay Call::WallClockResolution, Event::WallClockResolution(d) => d),
        )
    }
}

impl monotonic_clock::Guest for Interposer {
    fn now() -> u64 {
        rr!(host::monotonic_clock::now() => |v| Event::MonotonicClockNow(v);
            replay Call::MonotonicClockNow, Event::MonotonicClockNow(v) => v)
    }

    fn resolution() -> u64 {
        rr!(host::monotonic_clock::resolution() => |v| Event::MonotonicClockResolution(v);
            replay Call::MonotonicClockResolution, Event::MonotonicClockResolution(v) => v)
    }

    fn subscribe_instant(when: u64) -> monotonic_clock::Pollable {
        new_pollable(
            rr!(host::monotonic_clock::subscribe_instant(when) => |p| Event::SubscribeInstant(when);
            replay Call::SubscribeInstant(when), Event::SubscribeInstant(_) => ()),
            None,
        )
    }

    fn subscribe_duration(when: u64) -> monotonic_clock::Pollable {
        new_pollable(
            rr!(host::monotonic_clock::subscribe_duration(when) => |p| Event::SubscribeDuration(when);
            replay Call::SubscribeDuration(when), Event::SubscribeDuration(_) => ()),
            None,
        )
    }
}
