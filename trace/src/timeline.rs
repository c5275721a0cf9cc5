//! A trace's timeline (`wasm-rr view`): the data of the timeline page, gathered one event at a
//! time in bounded memory.
//!
//! [`TimelineBuilder::push`] takes the events in order; [`TimelineBuilder::finish`] gives the
//! [`Timeline`]: each event's lane (its interface, with stdin, stdout and stderr apart), the
//! app's monotonic clock readings as time ticks, the HTTP exchanges, files and connections as
//! spans of events, each event's call and answer as text (while they fit a budget), and the
//! summary. It serializes (serde) as the JSON the page reads.
//!
//! Bounds: the page holds the lanes of at most [`MAX_EVENTS`] events (a window of the trace,
//! `from`..=`to`), at most [`MAX_TICKS`] clock readings (every k-th, k doubling as needed),
//! [`MAX_SPANS`] spans per kind, and the text of the first events up to a byte budget, each cut
//! at [`MAX_EVENT_TEXT`] bytes.

use crate::redact::Redactor;
use crate::summary::{Storage, Summary};
use crate::{Event, Header, StreamId, clocks, http, streams};
use serde::Serialize;

/// The most events a page holds (about 2 bytes each in the page, and 1 in the browser).
pub const MAX_EVENTS: u64 = 10_000_000;
/// The most monotonic clock readings a page holds as time ticks.
pub const MAX_TICKS: usize = 4096;
/// The most spans of each kind (HTTP exchanges, files, connections) a page holds.
pub const MAX_SPANS: usize = 10_000;
/// The most bytes of one event's text in a page; a longer one is cut.
pub const MAX_EVENT_TEXT: usize = 4096;
/// The default budget for the events' text in a page, in bytes.
pub const DEFAULT_TEXT_BUDGET: usize = 16 * 1024 * 1024;

/// A span of events: an HTTP exchange, a file's use or a connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Span {
    /// `http`, `file` or `net`.
    pub kind: &'static str,
    /// One line: the exchange (`POST http://… -> 200`), the file's path, the connection.
    pub label: String,
    /// The first event of the span.
    pub from: u64,
    /// The last event of the span (`from` when it has only one).
    pub to: u64,
    /// The span in full (for HTTP, as `wasm-rr show --http` prints it).
    pub detail: String,
}

/// The timeline of a trace, as the page reads it (JSON, by serde).
#[derive(Clone, Debug, Serialize)]
pub struct Timeline {
    /// Events in the whole trace.
    pub events: u64,
    /// The first event in the page (`lane[0]` is event `first`'s).
    pub first: u64,
    /// The lanes' names, in the order their first event came: `wasi:clocks`, `stdout`, ….
    pub lanes: Vec<&'static str>,
    /// Each event's lane (an index into `lanes`), from event `first` on.
    pub lane: Vec<u8>,
    /// Monotonic clock readings as `(event, ns)`, in order; every k-th one when there are more
    /// than [`MAX_TICKS`].
    pub ticks: Vec<(u64, u64)>,
    /// The app's first monotonic clock reading in the trace, in ns (the origin of times).
    pub origin_ns: Option<u64>,
    /// HTTP exchanges, files and connections that were used in the page's events.
    pub spans: Vec<Span>,
    /// Spans left out (over [`MAX_SPANS`] of a kind, or not tracked).
    pub spans_left_out: u64,
    /// The text of events `first`, `first + 1`, … (`#N call -> answer`), as long as the budget
    /// lasted.
    pub text: Vec<String>,
    /// The summary, as `wasm-rr show --summary` prints it.
    pub summary: String,
}

/// A timeline being gathered; see the module documentation.
pub struct TimelineBuilder {
    index: u64,
    from: u64,
    to: u64,
    text_budget: usize,
    redactor: Redactor,
    summary: Summary,
    exchanges: http::Exchanges,
    lanes: Vec<&'static str>,
    lane: Vec<u8>,
    ticks: Vec<(u64, u64)>,
    tick_stride: u64,
    readings: u64,
    origin_ns: Option<u64>,
    text: Vec<String>,
    text_bytes: usize,
    text_done: bool,
}

/// Whether `name`, an interface as users write it (`--calls=`, `--ignore`), names event `e`
/// whose text (`#N` left out) is `text`: its lane (`wasi:clocks`, `stdout`, see
/// [`lane_name`]), a package of lanes (`wasi:io` for `wasi:io/streams` and `wasi:io/poll`), or
/// the start of its call (`wasi:random/insecure`; a subtask's `task N: ` left out).
pub fn names_event(name: &str, e: &Event, text: &str) -> bool {
    let lane = lane_name(e);
    let call = text
        .strip_prefix("task ")
        .and_then(|rest| rest.split_once(": "))
        .filter(|(task, _)| task.bytes().all(|b| b.is_ascii_digit()))
        .map_or(text, |(_, call)| call);
    lane == name
        || lane
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('/'))
        || call.starts_with(name)
}

/// The lane of an event: its interface (as a WIT package, or `wasi:io/streams` and
/// `wasi:io/poll`), or `stdin`, `stdout`, `stderr` for stdio's streams.
pub fn lane_name(e: &Event) -> &'static str {
    let stdio = |s: StreamId| match s.0 {
        0 => Some("stdin"),
        1 => Some("stdout"),
        2 => Some("stderr"),
        _ => None,
    };
    let stream = if let Some((c, _)) = e.get::<streams::Read>() {
        stdio(c.stream)
    } else if let Some((c, _)) = e.get::<streams::Write>() {
        stdio(c.stream)
    } else if let Some((c, _)) = e.get::<streams::Flush>() {
        stdio(c.stream)
    } else if let Some((c, _)) = e.get::<streams::CheckWrite>() {
        stdio(c.stream)
    } else {
        None
    };
    stream.unwrap_or(match e.call.interface() {
        "clocks" => "wasi:clocks",
        "random" => "wasi:random",
        "cli" => "wasi:cli",
        "poll" => "wasi:io/poll",
        "streams" => "wasi:io/streams",
        "fs" => "wasi:filesystem",
        "sockets" => "wasi:sockets",
        "http" => "wasi:http",
        other => other,
    })
}

impl TimelineBuilder {
    /// A timeline of the trace with `header`, before its events, for the page to hold events
    /// `from` to `to` (at most [`MAX_EVENTS`] of them: `to` is lowered to fit) and their text
    /// up to `text_budget` bytes.
    pub fn new(header: &Header, from: u64, to: u64, text_budget: usize) -> TimelineBuilder {
        TimelineBuilder {
            index: 0,
            from,
            to: to.min(from.saturating_add(MAX_EVENTS - 1)),
            text_budget,
            redactor: Redactor::new(&header.redacted),
            summary: Summary::new(header),
            exchanges: http::Exchanges::with_body_limit(1024),
            lanes: Vec::new(),
            lane: Vec::new(),
            ticks: Vec::new(),
            tick_stride: 1,
            readings: 0,
            origin_ns: None,
            text: Vec::new(),
            text_bytes: 0,
            text_done: false,
        }
    }

    /// The last event the page can hold.
    pub fn last_in_page(&self) -> u64 {
        self.to
    }

    /// Takes in the next event.
    pub fn push(&mut self, e: &Event) {
        let i = self.index;
        self.index += 1;
        self.summary.push(e);
        self.exchanges.push(e);
        if let Some((_, ns)) = e.get::<clocks::MonotonicClockNow>() {
            self.origin_ns.get_or_insert(*ns);
            if (self.from..=self.to).contains(&i) {
                self.tick(i, *ns);
            }
        }
        if !(self.from..=self.to).contains(&i) {
            return;
        }
        let name = lane_name(e);
        let lane = match self.lanes.iter().position(|l| *l == name) {
            Some(l) => l,
            None => {
                self.lanes.push(name);
                self.lanes.len() - 1
            }
        };
        self.lane.push(lane as u8);
        if !self.text_done {
            let mut e = e.clone();
            let mark = if !self.redactor.is_empty() && self.redactor.apply(&mut e) {
                "  [redacted]"
            } else {
                ""
            };
            let mut line = format!("#{i} {e}{mark}");
            if line.len() > MAX_EVENT_TEXT {
                let mut cut = MAX_EVENT_TEXT;
                while !line.is_char_boundary(cut) {
                    cut -= 1;
                }
                line.truncate(cut);
                line.push_str(&format!(
                    " … (cut at {MAX_EVENT_TEXT} bytes; `wasm-rr show TRACE --from {i} --to {i}` prints it whole)"
                ));
            }
            if self.text_bytes + line.len() > self.text_budget {
                self.text_done = true;
            } else {
                self.text_bytes += line.len();
                self.text.push(line);
            }
        }
    }

    /// Keeps every `tick_stride`-th reading, halving them when there are too many.
    fn tick(&mut self, event: u64, ns: u64) {
        if self.readings.is_multiple_of(self.tick_stride) {
            self.ticks.push((event, ns));
            if self.ticks.len() > MAX_TICKS {
                let mut n = 0;
                self.ticks.retain(|_| {
                    n += 1;
                    n % 2 == 1
                });
                self.tick_stride *= 2;
            }
        }
        self.readings += 1;
    }

    /// The timeline, with `storage` (how the trace is stored) for the summary.
    pub fn finish(self, storage: Storage) -> Timeline {
        let (from, to) = (self.from, self.to);
        let in_page = |a: u64, b: u64| a <= to && b >= from;
        let mut spans = Vec::new();
        let mut left_out = self.exchanges.untracked();
        let mut add = |spans: &mut Vec<Span>, kinds: &mut usize, span: Span| {
            if !in_page(span.from, span.to) {
                return;
            }
            if *kinds < MAX_SPANS {
                *kinds += 1;
                spans.push(span);
            } else {
                left_out += 1;
            }
        };
        let mut n = 0;
        for x in self.exchanges.finish() {
            let to = x.answered_at.map_or(x.started_at, |(at, _)| at);
            let span = Span {
                kind: "http",
                label: x.to_string(),
                from: x.started_at,
                to,
                detail: x.details(),
            };
            add(&mut spans, &mut n, span);
        }
        for (kind, list, units) in [
            ("file", self.summary.files(), ("read", "wrote")),
            ("net", self.summary.connections(), ("received", "sent")),
        ] {
            let mut n = 0;
            for (name, a) in list {
                let span = Span {
                    kind,
                    label: name.clone(),
                    from: a.first,
                    to: a.last,
                    detail: a.line(name, units),
                };
                add(&mut spans, &mut n, span);
            }
        }
        Timeline {
            events: self.index,
            first: self.from,
            lanes: self.lanes,
            lane: self.lane,
            ticks: self.ticks,
            origin_ns: self.origin_ns,
            spans,
            spans_left_out: left_out,
            text: self.text,
            summary: self.summary.display(storage).to_string(),
        }
    }
}
