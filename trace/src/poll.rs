//! Events of `wasi:io/poll`.
//!
//! Pollables are not numbered: `poll` records how many it was given and which were ready, and
//! a replayed pollable is ready exactly when the recorded one was, so replayed waits take no
//! time.

use std::fmt;

crate::event::interface! {
    Poll = 32;
    /// `poll(in)`: the indices of the pollables reported ready.
    Poll {
        /// Length of the `in` list.
        pollables: u32,
    } -> Vec<u32>;
    /// `pollable.ready`.
    PollableReady {} -> bool;
    /// `pollable.block`.
    PollableBlock {} -> ();
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::Poll(c) => write!(f, "wasi:io/poll.poll({} pollables)", c.pollables),
            Call::PollableReady(_) => f.write_str("wasi:io/poll.pollable.ready()"),
            Call::PollableBlock(_) => f.write_str("wasi:io/poll.pollable.block()"),
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Poll(ready) => write!(f, "ready {ready:?}"),
            Answer::PollableReady(b) => write!(f, "{b}"),
            Answer::PollableBlock(()) => f.write_str("()"),
        }
    }
}
