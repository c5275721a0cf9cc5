//! `wasi:clocks/wall-clock` and `wasi:clocks/monotonic-clock`.
//!
//! Clock readings are recorded; `subscribe-duration` and `subscribe-instant` record their
//! argument (replay checks it) and return a pollable whose readiness `wasi:io/poll` replays, so
//! a replayed sleep returns at once.

use crate::exports::wasi::clocks::{monotonic_clock, wall_clock};
use crate::io::poll::new_pollable;
use crate::wasi::clocks as host;
use crate::{Interposer, rr};
use wasm_rr_trace::clocks as ev;
use wasm_rr_trace::{Datetime, Request};

fn to_wit(d: Datetime) -> wall_clock::Datetime {
    wall_clock::Datetime {
        seconds: d.seconds,
        nanoseconds: d.nanoseconds,
    }
}

fn from_host(d: host::wall_clock::Datetime) -> Datetime {
    Datetime {
        seconds: d.seconds,
        nanoseconds: d.nanoseconds,
    }
}

/// A clock reading: the host's (`read`, recording) or the recorded one.
fn reading<C: Request<Answer = Datetime>>(
    call: C,
    read: fn() -> host::wall_clock::Datetime,
) -> wall_clock::Datetime {
    to_wit(rr::call(call, || from_host(read())))
}

impl wall_clock::Guest for Interposer {
    fn now() -> wall_clock::Datetime {
        reading(ev::WallClockNow {}, host::wall_clock::now)
    }

    fn resolution() -> wall_clock::Datetime {
        reading(ev::WallClockResolution {}, host::wall_clock::resolution)
    }
}

impl monotonic_clock::Guest for Interposer {
    fn now() -> u64 {
        rr::call(ev::MonotonicClockNow {}, host::monotonic_clock::now)
    }

    fn resolution() -> u64 {
        rr::call(
            ev::MonotonicClockResolution {},
            host::monotonic_clock::resolution,
        )
    }

    fn subscribe_instant(when: u64) -> monotonic_clock::Pollable {
        let mut pollable = None;
        rr::call(ev::SubscribeInstant { when }, || {
            pollable = Some(host::monotonic_clock::subscribe_instant(when));
        });
        new_pollable(pollable, None)
    }

    fn subscribe_duration(when: u64) -> monotonic_clock::Pollable {
        let mut pollable = None;
        rr::call(ev::SubscribeDuration { when }, || {
            pollable = Some(host::monotonic_clock::subscribe_duration(when));
        });
        new_pollable(pollable, None)
    }
}
