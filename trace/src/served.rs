//! The requests a WASI 0.3 HTTP service's instance served, as its trace holds them: `wasmtime
//! serve` gives one instance many requests, some at once, and its trace holds them all,
//! interleaved. A request comes through `wasm-rr:serve/requests.take() -> request#N` and is
//! answered through `give(K, response#M)` (or `fail(K, error)`), where K numbers the requests
//! from 1 in the order they came; what the app asked of the request (`get-method`,
//! `get-path-with-query`) and put in the response (`response.new`, `set-status-code`, the
//! body it wrote) are generic events around them.
//!
//! [`Requests`] reads them off a stream of events (as `show --requests` and `replay --request`
//! do), keeping at most [`MAX_REQUESTS`] requests and the first bytes of each body.

use crate::abi::Val;
use crate::generic::{Called, Opened, StreamWrote, wave};
use crate::{Event, Header};
use std::collections::HashMap;

/// The most requests a [`Requests`] keeps, and responses it follows (a crafted trace must not
/// take unbounded memory).
pub const MAX_REQUESTS: usize = 100_000;

/// The most bytes of response bodies a [`Requests`] keeps in all.
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// wasm-rr's interface through which a service's requests pass (see `composer/src/serve.rs`).
pub const SERVE_REQUESTS: &str = "wasm-rr:serve/requests";

/// One request, as the trace holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Served {
    /// Its number, from 1, in the order the instance got them.
    pub number: u32,
    /// The event where it came (`take`).
    pub arrived: u64,
    /// The event where the app answered it (`give` or `fail`), if it did.
    pub answered: Option<u64>,
    /// Its method, in WAVE (`post`), if the app asked for it.
    pub method: Option<String>,
    /// Its path and query (`/hold?x=1`), if the app asked for them.
    pub path: Option<String>,
    /// The response's status code (200 unless the app set another), if it answered with a
    /// response.
    pub status: Option<u16>,
    /// The first bytes of the response's body the trace keeps (at most the body limit).
    pub body: Vec<u8>,
    /// The bytes of the response's body the trace keeps, in all.
    pub body_len: u64,
    /// The error the app returned instead of a response, in WAVE.
    pub error: Option<String>,
}

/// The function numbers of the header's `generic` table the view reads.
#[derive(Default)]
struct Numbers {
    take: Option<u32>,
    give: Option<u32>,
    fail: Option<u32>,
    method: Option<u32>,
    path: Option<u32>,
    response_new: Option<u32>,
    set_status: Option<u32>,
}

/// A response the app made: the subtask that carries its body, its status, its body.
#[derive(Default)]
struct Response {
    status: Option<u16>,
    body: Vec<u8>,
    body_len: u64,
}

/// The requests of a service's trace, read one event at a time.
pub struct Requests {
    numbers: Numbers,
    header: Header,
    body_limit: usize,
    list: Vec<Served>,
    /// By the request handle's number: the request's place in `list`.
    by_request: HashMap<u32, usize>,
    /// By the number of the request it answers: its response handle's number.
    answers: HashMap<u32, u32>,
    /// By response handle: what the app put in it.
    responses: HashMap<u32, Response>,
    /// By subtask: the response handle whose body it writes.
    bodies: HashMap<u32, u32>,
    /// The body bytes kept in all (at most [`MAX_BODY_BYTES`]).
    kept: usize,
}

impl Requests {
    /// A view of the trace whose header is `header`, keeping the first `body_limit` bytes of
    /// each response body.
    pub fn new(header: &Header, body_limit: usize) -> Requests {
        let mut numbers = Numbers::default();
        for (i, f) in header.generic.iter().enumerate() {
            let i = Some(i as u32);
            let http = f.interface.starts_with("wasi:http/types@0.3.");
            match (f.interface.as_str(), f.name.as_str()) {
                (SERVE_REQUESTS, "take") => numbers.take = i,
                (SERVE_REQUESTS, "give") => numbers.give = i,
                (SERVE_REQUESTS, "fail") => numbers.fail = i,
                (_, "[method]request.get-method") if http => numbers.method = i,
                (_, "[method]request.get-path-with-query") if http => numbers.path = i,
                (_, "[static]response.new") if http => numbers.response_new = i,
                (_, "[method]response.set-status-code") if http => numbers.set_status = i,
                _ => {}
            }
        }
        Requests {
            numbers,
            header: header.clone(),
            body_limit,
            list: Vec::new(),
            by_request: HashMap::new(),
            answers: HashMap::new(),
            responses: HashMap::new(),
            bodies: HashMap::new(),
            kept: 0,
        }
    }

    /// Whether the trace is a WASI 0.3 HTTP service's (its header lists `take`).
    pub fn is_service(&self) -> bool {
        self.numbers.take.is_some()
    }

    /// Reads event number `index`.
    pub fn push(&mut self, index: u64, e: &Event) {
        let n = &self.numbers;
        if let Some((call, answer)) = e.get::<Called>() {
            let f = Some(call.function);
            let handle = |v: Option<&Val>| match v {
                Some(Val::Handle(h)) => Some(*h),
                _ => None,
            };
            let number = |v: Option<&Val>| match v {
                Some(Val::U32(k)) => Some(*k),
                _ => None,
            };
            if f == n.take {
                if self.list.len() >= MAX_REQUESTS {
                    return;
                }
                if let Some(h) = handle(answer.as_ref()) {
                    self.by_request.insert(h, self.list.len());
                }
                self.list.push(Served {
                    number: self.list.len() as u32 + 1,
                    arrived: index,
                    ..Served::default()
                });
            } else if f == n.give {
                if let (Some(k), Some(r)) = (number(call.args.first()), handle(call.args.get(1)))
                    && let Some(s) = self.served(k)
                {
                    s.answered = Some(index);
                    self.answers.insert(k, r);
                }
            } else if f == n.fail {
                let text = self.text(call.function, call.args.get(1), 1);
                if let Some(s) = number(call.args.first()).and_then(|k| self.served(k)) {
                    s.answered = Some(index);
                    s.error = text;
                }
            } else if f == n.method || f == n.path {
                let Some(&at) = handle(call.args.first()).and_then(|h| self.by_request.get(&h))
                else {
                    return;
                };
                if f == n.method {
                    let text = self.result_text(call.function, answer.as_ref());
                    self.list[at].method = text;
                } else if let Some(Val::Variant(1, Some(path))) = answer
                    && let Val::String(path) = path.as_ref()
                {
                    self.list[at].path = Some(path.clone());
                }
            } else if f == n.set_status
                && let (Some(r), Some(Val::U16(code))) =
                    (handle(call.args.first()), call.args.get(1))
                && let Some(response) = self.responses.get_mut(&r)
            {
                response.status = Some(*code);
            }
        } else if let Some((opened, answer)) = e.get::<Opened>() {
            if Some(opened.function) == n.response_new
                && let Some(Val::Handle(r)) = answer
                && self.responses.len() < MAX_REQUESTS
            {
                self.bodies.insert(opened.task, *r);
                self.responses.entry(*r).or_default();
            }
        } else if let Some((wrote, ())) = e.get::<StreamWrote>()
            && let Some(r) = self.bodies.get(&wrote.task)
            && let Some(response) = self.responses.get_mut(r)
        {
            let room = self
                .body_limit
                .saturating_sub(response.body.len())
                .min(MAX_BODY_BYTES - self.kept);
            let data = &wrote.data.0;
            let take = room.min(data.len());
            response.body.extend_from_slice(&data[..take]);
            self.kept += take;
            response.body_len += data.len() as u64;
        }
    }

    /// The request numbered `k`, if it was kept.
    fn served(&mut self, k: u32) -> Option<&mut Served> {
        self.list.get_mut((k as usize).checked_sub(1)?)
    }

    /// Argument number `arg` of function `function`, in WAVE.
    fn text(&self, function: u32, v: Option<&Val>, arg: usize) -> Option<String> {
        let f = self.header.generic.get(function as usize)?;
        Some(wave(&f.params.get(arg)?.1, v?))
    }

    /// The result of function `function`, in WAVE.
    fn result_text(&self, function: u32, v: Option<&Val>) -> Option<String> {
        let f = self.header.generic.get(function as usize)?;
        Some(wave(f.result.as_ref()?, v?))
    }

    /// The requests read, with what their responses hold.
    pub fn list(&self) -> Vec<Served> {
        let mut list = self.list.clone();
        for s in &mut list {
            if let Some(r) = self
                .answers
                .get(&s.number)
                .and_then(|r| self.responses.get(r))
            {
                s.status = Some(r.status.unwrap_or(200));
                s.body = r.body.clone();
                s.body_len = r.body_len;
            }
        }
        list
    }

    /// The event where request `k` (from 1) was answered, if it was.
    pub fn answered(&self, k: u32) -> Option<u64> {
        self.list.get((k as usize).checked_sub(1)?)?.answered
    }

    /// How many requests came.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether none came.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

impl Served {
    /// One line: `request 2: #203 to #213, post /release, 200, 42 body bytes`.
    pub fn line(&self) -> String {
        let mut line = format!("request {}: #{}", self.number, self.arrived);
        match self.answered {
            Some(a) => line += &format!(" to #{a}"),
            None => line += ", not answered",
        }
        if let Some(m) = &self.method {
            line += &format!(", {m}");
            if let Some(p) = &self.path {
                line += &format!(" {p}");
            }
        } else if let Some(p) = &self.path {
            line += &format!(", {p}");
        }
        if let Some(status) = self.status {
            let plural = if self.body_len == 1 { "" } else { "s" };
            line += &format!(", {status}, {} body byte{plural}", self.body_len);
        }
        if let Some(e) = &self.error {
            line += &format!(", error {e}");
        }
        line
    }
}
