//! The replayer: reads the trace that `wasm-rr wrap --replay` embedded (import
//! `wasm-rr:rr/embedded`) one block at a time, without copying the whole, and decodes one event
//! at a time. Every call asks [`answer`] for its answer and gets it only if the next event is
//! that very call with the same arguments; otherwise the replay stops with a divergence report
//! and exit status 1.
//!
//! Replay goes in recorded order, with one latitude: a call of the app may come before
//! completions the trace has before it (a subtask's return, a stream's chunk or end, a future's
//! value, which the generic path hands the app when the trace says), when the app has not been
//! given them yet: the recording logged a completion when the host made it, and the app may
//! have learnt of it only later, after calls of its own (see [`answer`]).

use super::fatal;
use crate::wasm_rr::rr::embedded;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt::Write;
use wasm_rr_trace::generic::{Dropped, Finished, Invoked, StreamRead, StreamValues, StreamWrote};
use wasm_rr_trace::redact::Redactor;
use wasm_rr_trace::streams::Wrote;
use wasm_rr_trace::{Call, Event, Header, Reader, Request, Source};

/// How many events before a divergence the report shows.
const RECENT: u64 = 5;

/// How many completions in a row a call of the app may come before (see [`answer`]).
const MAX_OVERTAKEN: usize = 256;

/// The embedded trace, read piece by piece (no copy of the whole).
struct Embedded {
    size: u64,
}

impl Source for Embedded {
    fn size(&self) -> u64 {
        self.size
    }

    fn read(&mut self, offset: u64, len: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(&embedded::read(offset, len));
    }
}

struct Replayer {
    reader: Reader<Embedded>,
    /// The last event handed out was one that ends a run.
    ended: bool,
    /// What the trace was redacted of, when anything was: a redacted argument matches any
    /// value.
    redacted: Option<Redactor>,
    /// The next event the host watches (`embedded.watched`); `u64::MAX` for none, which a
    /// self-replaying component's blob provider always answers.
    watch: u64,
    /// The next event, read ahead by [`next_is`] and not handed out yet.
    peeked: Option<(u64, Option<Event>)>,
    /// Completions a call of the app came before, in the trace's order: handed out before the
    /// trace's next events.
    deferred: VecDeque<(u64, Option<Event>)>,
}

thread_local! {
    static REPLAYER: RefCell<Option<Replayer>> = const { RefCell::new(None) };
}

fn unusable(e: impl std::fmt::Display) -> ! {
    fatal(&format!("the embedded trace is unusable: {e}"))
}

fn open() -> (Header, Reader<Embedded>) {
    let source = Embedded {
        size: embedded::size(),
    };
    Reader::new(source).unwrap_or_else(|e| unusable(e))
}

impl Replayer {
    fn open() -> Replayer {
        let (header, reader) = open();
        crate::generic::set_functions(&header.generic);
        Replayer {
            reader,
            ended: false,
            redacted: (!header.redacted.is_empty()).then(|| Redactor::new(&header.redacted)),
            watch: embedded::first_watched(),
            peeked: None,
            deferred: VecDeque::new(),
        }
    }

    /// The next event to replay and its index, passing over those recorded for people only
    /// ([`skipped`]); `None` at the end of the trace (with the index it ends at). The host
    /// is told when it watches the event.
    fn take(&mut self) -> (u64, Option<Event>) {
        if let Some(peeked) = self.peeked.take() {
            return peeked;
        }
        if let Some(deferred) = self.deferred.pop_front() {
            return deferred;
        }
        loop {
            let index = self.reader.index();
            match self.reader.next_event() {
                // A handle's drop and the bytes a write wrote are recorded, not replayed (see
                // `wasm_rr_trace::generic::Dropped`, `wasm_rr_trace::streams::Wrote`).
                Ok(Some(e)) if skipped(&e) => {}
                Ok(Some(event)) => {
                    self.ended = matches!(&event.call, Call::Cli(c) if c.ends_run());
                    // (Past it, when the event watched was one the replay passes over.)
                    if index >= self.watch {
                        // The app's call is on the stack: the host may look at it, or stop
                        // here.
                        self.watch = embedded::watched(index);
                    }
                    return (index, Some(event));
                }
                Ok(None) => return (index, None),
                Err(e) => unusable(e),
            }
        }
    }

    /// The next event, which answers the guest's next call; otherwise (the end of the trace)
    /// the replay stops with a divergence, the guest having made `call`.
    fn next(&mut self, call: impl FnOnce() -> Call) -> (u64, Event) {
        match self.take() {
            (index, Some(event)) => (index, event),
            (index, None) => {
                let end = if self.ended {
                    "the end of the trace"
                } else {
                    "the end of the trace (the recorded run stopped here without exiting: it trapped or was killed, or the trace was cut)"
                };
                diverge(index, end, &call().to_string(), None)
            }
        }
    }
}

/// Whether `e` is a completion the generic path hands the app when the trace says (a
/// subtask's return, a stream's chunk or end, a future's value), which the app's calls may
/// come before.
fn completion(e: &Event) -> bool {
    e.is::<Finished>() || e.is::<StreamRead>() || e.is::<StreamValues>()
}

/// Whether the replay passes over `e`: recorded for people, not a call to answer.
fn skipped(e: &Event) -> bool {
    e.is::<Dropped>() || e.is::<Wrote>() || e.is::<StreamWrote>()
}

/// Stops the replay: the guest made `actual` where the trace holds `expected` at `index`.
/// Reads the trace again from its start to show the events before.
fn diverge(index: u64, expected: &str, actual: &str, difference: Option<String>) -> ! {
    let mut msg =
        format!("replay diverged at event {index}\n  expected: {expected}\n  actual:   {actual}");
    if let Some(d) = difference {
        let _ = write!(msg, "\n  difference: {d}");
    }
    if index == 0 {
        msg.push_str("\n  (no events before it)");
    } else {
        msg.push_str("\n  last events:");
        let (_, mut reader) = open();
        let first = index.saturating_sub(RECENT);
        while reader.index() < index {
            let i = reader.index();
            match reader.next_event() {
                Ok(Some(e)) if i >= first => {
                    let _ = write!(msg, "\n    #{i} {e}");
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
    }
    fatal(&msg)
}

/// Whether `call` is the recorded call `recorded` but for redacted values (which match any
/// value).
#[cold]
fn matches_redacted<C: Request>(recorded: &Call, call: &C) -> bool {
    REPLAYER.with_borrow(|slot| {
        slot.as_ref()
            .and_then(|r| r.redacted.as_ref())
            .is_some_and(|r| r.masked(recorded) == r.masked(&call.clone().into_call()))
    })
}

/// Loads the embedded trace.
pub fn start() {
    REPLAYER.with_borrow_mut(|r| {
        r.get_or_insert_with(Replayer::open);
    });
}

/// The recorded answer to `call`, the guest's next call, if the next event is that very call
/// with the same arguments; otherwise the replay stops with a divergence.
#[inline]
pub fn answer<C: Request>(call: C) -> C::Answer {
    let (index, event, ours) = REPLAYER.with_borrow_mut(|slot| {
        let r = slot.get_or_insert_with(Replayer::open);
        let (index, event) = r.next(|| call.clone().into_call());
        let ours = |e: &Event| C::of_call(&e.call) == Some(&call);
        if ours(&event) {
            return (index, event, true);
        }
        if !completion(&event) {
            return (index, event, false);
        }
        // Completions first: the app's call may come before them, if it comes right after.
        let mut passed = vec![(index, Some(event))];
        while passed.len() <= MAX_OVERTAKEN {
            match r.take() {
                (i, Some(e)) if completion(&e) => passed.push((i, Some(e))),
                (i, Some(e)) if ours(&e) => {
                    for p in passed.into_iter().rev() {
                        r.deferred.push_front(p);
                    }
                    return (i, e, true);
                }
                other => {
                    passed.push(other);
                    break;
                }
            }
        }
        // Not there: the first completion is what the trace expected.
        let mut passed = passed.into_iter();
        let first = passed.next();
        for p in passed.rev() {
            r.deferred.push_front(p);
        }
        match first {
            Some((index, Some(event))) => (index, event, false),
            _ => unreachable!("a completion was passed"),
        }
    });
    if !ours && !matches_redacted(&event.call, &call) {
        let call = call.into_call();
        diverge(
            index,
            &event.call.to_string(),
            &call.to_string(),
            event.call.difference(&call),
        );
    }
    // Equal calls have answers of the same kind.
    C::take_answer(event.answer).unwrap_or_else(|answer| {
        fatal(&format!(
            "internal error: the answer `{answer}` does not answer `{}`",
            event.call
        ))
    })
}

/// Whether the trace's next event is a call `C` for which `pred` holds: the event is read
/// ahead, and handed out by the next [`answer`] all the same. Also returns the event's index.
pub fn next_is<C: Request>(pred: impl FnOnce(&C) -> bool) -> (bool, u64) {
    REPLAYER.with_borrow_mut(|slot| {
        let r = slot.get_or_insert_with(Replayer::open);
        let (index, event) = r.take();
        let yes = event
            .as_ref()
            .and_then(|e| C::of_call(&e.call))
            .is_some_and(pred);
        r.peeked = Some((index, event));
        (yes, index)
    })
}

/// Whether the trace's next call is a call `C` for which `pred` holds, past the completions
/// before it that the app has not been given yet (at most 256), which a call
/// may come before (see [`answer`]): the events are read ahead, and handed out all the same.
pub fn next_call_is<C: Request>(pred: impl Fn(&C) -> bool) -> bool {
    REPLAYER.with_borrow_mut(|slot| {
        let r = slot.get_or_insert_with(Replayer::open);
        let mut passed = Vec::new();
        let yes = loop {
            let (index, event) = r.take();
            let passable = event.as_ref().is_some_and(completion);
            let ours = event
                .as_ref()
                .and_then(|e| C::of_call(&e.call))
                .is_some_and(&pred);
            passed.push((index, event));
            if !passable || passed.len() > MAX_OVERTAKEN {
                break ours;
            }
        };
        for p in passed.into_iter().rev() {
            r.deferred.push_front(p);
        }
        yes
    })
}

/// Whether the trace has no event left to replay (it is read ahead, as [`next_is`] reads).
pub fn at_end() -> bool {
    REPLAYER.with_borrow_mut(|slot| {
        let r = slot.get_or_insert_with(Replayer::open);
        let (index, event) = r.take();
        let end = event.is_none();
        r.peeked = Some((index, event));
        end
    })
}

/// The trace's next event, a call `C` that [`next_is`] found there, taken as recorded: a
/// stream's bytes, which come from the trace rather than from the app.
pub fn take_recorded<C: Request>() -> C {
    let (index, event) = REPLAYER.with_borrow_mut(|slot| {
        let r = slot.get_or_insert_with(Replayer::open);
        r.take()
    });
    match event.as_ref().and_then(|e| C::of_call(&e.call)) {
        Some(call) => call.clone(),
        None => fatal(&format!(
            "internal error: event {index} is not the one read ahead"
        )),
    }
}

/// Stops the replay: the app waits for `waiting` (the calls it started and has not had
/// answered), while the trace's next event is for something else it never does.
pub fn stuck(waiting: &str) -> ! {
    let (index, expected) = REPLAYER.with_borrow_mut(|slot| {
        let (index, event) = slot.get_or_insert_with(Replayer::open).take();
        let text = event.map_or_else(|| "the end of the trace".to_string(), |e| e.to_string());
        (index, text)
    });
    diverge(index, &expected, waiting, None)
}

/// Replaying a library component: the next event, a call of one of its exports the driver
/// is to make, taken from the trace; `None` at the end of the trace. Any other event there is
/// a divergence (the app made no call for it).
pub fn next_invocation() -> Option<Invoked> {
    let (index, event) =
        REPLAYER.with_borrow_mut(|slot| slot.get_or_insert_with(Replayer::open).take());
    let event = event?;
    match event.get::<Invoked>() {
        Some((call, _)) => Some(call.clone()),
        None => diverge(
            index,
            &event.to_string(),
            "the next export call (the app made no more calls in the last one)",
            None,
        ),
    }
}
