//! What a trace holds for `wasm-rr test`: the inputs the app was given (arguments, variables,
//! stdin, clock readings, random values, the incoming request, the answers to its outgoing
//! requests) and what it produced (stdout, stderr, its exit status, its response, the
//! requests it sent), read from the trace's events.

use crate::files::TraceInput;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use wasm_rr_trace::abi::Val;
use wasm_rr_trace::http::{Exchange, Exchanges, RequestHead};
use wasm_rr_trace::{StreamId, clocks, random, streams};

/// The most bytes of each body, and of stdout, stderr and stdin, `wasm-rr test` reads from a
/// trace (64 MiB).
pub const MAX_BYTES: usize = 64 << 20;

/// The inputs a trace recorded, as the test host serves them.
#[derive(Default)]
pub struct Inputs {
    /// `get-arguments`.
    pub args: Vec<String>,
    /// `get-environment`.
    pub env: Vec<(String, String)>,
    /// What the app read from stdin, in order.
    pub stdin: Vec<u8>,
    /// Wall-clock readings, in order, since the Unix epoch in ns.
    pub wall_ns: Vec<u128>,
    /// Monotonic-clock readings, in order, in ns.
    pub monotonic_ns: Vec<u64>,
    /// The secure random values the app was given, as the host's generator made them: one
    /// byte per byte asked for, 8 little-endian bytes per `u64`.
    pub random: Vec<u8>,
    /// The insecure ones, likewise.
    pub insecure: Vec<u8>,
    /// `insecure-seed`.
    pub seed: Option<u128>,
    /// The incoming request a handler was given, and its body as the app read it.
    pub incoming: Option<(RequestHead, Vec<u8>)>,
    /// The outgoing requests the app made, with the answers it got.
    pub outgoing: Vec<Exchange>,
    /// The preopened directories, and the files the app found and wrote.
    pub files: super::files::Files,
    /// The calls of the generic path's imports, with their results.
    pub calls: super::generic::Calls,
    /// The TCP connections the app made.
    pub sockets: super::sockets::Recorded,
    /// A library component's trace: the calls of its exports the host made, in order (the
    /// function, from the header's `generic` table, and the arguments).
    pub invocations: Vec<(
        wasm_rr_trace::generic::Function,
        Vec<wasm_rr_trace::abi::Val>,
    )>,
}

/// What the app produced: recorded in a trace, or produced again by a new version. Saved by
/// `wasm-rr test --update` as `TRACE.expected.json` beside the trace, which then takes the
/// place of what the trace recorded.
#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Produced {
    /// What the app wrote to stdout.
    pub stdout: Output,
    /// What the app wrote to stderr.
    pub stderr: Output,
    /// A command's exit status, as `wasmtime run` reports it (134 for a trap); none for a
    /// handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    /// A handler's response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Response>,
    /// The outgoing requests, `METHOD URL`, in the order they were sent.
    #[serde(default)]
    pub requests: Vec<String>,
    /// A library component's export calls, each `CALL -> RESULT` in WAVE (`-> trapped` for
    /// one that did not return).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub returns: Vec<String>,
    /// The files the app wrote under its preopens, by guest path, with their bytes (`null`
    /// when the trace does not keep them: written with `descriptor.write`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, Option<Output>>,
}

/// A handler's response.
#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// The status code; none when the handler answered with an error (see `error`).
    pub status: Option<u16>,
    /// The `error-code` the handler answered with, or why it gave no response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The header entries, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Output,
}

/// Bytes the app wrote: as text (UTF-8) or hex in JSON, and how many it wrote in all, of
/// which the trace may keep only the first.
#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// The bytes, as UTF-8 text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The bytes, in hex, when they are no UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    /// Bytes written in all (more than those kept when the trace kept only the first).
    pub len: u64,
}

impl Output {
    /// `data`, complete.
    pub fn of(data: &[u8]) -> Output {
        Output::kept(data, data.len() as u64)
    }

    /// The first bytes `data` of `len` written.
    pub fn kept(data: &[u8], len: u64) -> Output {
        match std::str::from_utf8(data) {
            Ok(t) => Output {
                text: Some(t.to_string()),
                hex: None,
                len,
            },
            Err(_) => Output {
                text: None,
                hex: Some(hex::encode(data)),
                len,
            },
        }
    }

    /// The bytes kept.
    pub fn bytes(&self) -> Vec<u8> {
        match (&self.text, &self.hex) {
            (Some(t), _) => t.as_bytes().to_vec(),
            (None, Some(h)) => hex::decode(h).unwrap_or_default(),
            (None, None) => Vec::new(),
        }
    }

    /// Whether every byte written is kept.
    pub fn complete(&self) -> bool {
        self.bytes().len() as u64 >= self.len
    }
}

/// A trace, read for `wasm-rr test`.
pub struct Recorded {
    /// What the app was given.
    pub inputs: Inputs,
    /// What it produced.
    pub produced: Produced,
    /// Why the test host cannot run it, when it cannot: an interface whose inputs it does not
    /// serve yet.
    pub unsupported: Option<String>,
    /// The trace keeps none of what the app wrote (recorded with `--output-bytes none`, or
    /// before format 7).
    pub keeps_no_output: bool,
}

/// Reads the trace at `path`. Errors name the file.
pub fn read(path: &Path) -> Result<Recorded> {
    let (input, header) = TraceInput::open_with_header(path)?;
    let mut inputs = Inputs {
        calls: super::generic::Calls::new(header.generic.clone()),
        ..Inputs::default()
    };
    let mut exchanges = Exchanges::with_body_limit(MAX_BYTES);
    let mut stdout = (Vec::new(), 0u64);
    let mut stderr = (Vec::new(), 0u64);
    let mut exit = None;
    let mut ended = false;
    let mut unsupported = None;
    let mut returns: Vec<Option<String>> = Vec::new();
    // The subtasks of WASI 0.3's `stdin.read-via-stream`, whose chunks are stdin.
    let mut stdin_tasks = std::collections::BTreeSet::new();
    for e in input.events(path)? {
        let e = e?;
        exchanges.push(&e);
        inputs.files.push(&e);
        inputs.calls.push(&e);
        inputs.sockets.push(&e);
        if let Some((_, a)) = e.get::<wasm_rr_trace::cli::GetArguments>() {
            inputs.args = a.clone();
        } else if let Some((_, a)) = e.get::<wasm_rr_trace::cli::GetEnvironment>() {
            inputs.env = a.clone();
        } else if let Some((_, d)) = e.get::<clocks::WallClockNow>() {
            inputs
                .wall_ns
                .push(u128::from(d.seconds) * 1_000_000_000 + u128::from(d.nanoseconds));
        } else if let Some((_, ns)) = e.get::<clocks::MonotonicClockNow>() {
            inputs.monotonic_ns.push(*ns);
        } else if let Some((_, b)) = e.get::<random::GetRandomBytes>() {
            inputs.random.extend_from_slice(&b.0);
        } else if let Some((_, v)) = e.get::<random::GetRandomU64>() {
            inputs.random.extend_from_slice(&v.0.to_le_bytes());
        } else if let Some((_, b)) = e.get::<random::GetInsecureRandomBytes>() {
            inputs.insecure.extend_from_slice(&b.0);
        } else if let Some((_, v)) = e.get::<random::GetInsecureRandomU64>() {
            inputs.insecure.extend_from_slice(&v.0.to_le_bytes());
        } else if let Some((_, (a, b))) = e.get::<random::InsecureSeed>() {
            inputs.seed = Some(u128::from(a.0) | (u128::from(b.0) << 64));
        } else if let Some((c, Ok(data))) = e.get::<streams::Read>() {
            if c.stream == StreamId::STDIN {
                keep(&mut inputs.stdin, &data.0);
            }
        } else if let Some((c, _)) = e.get::<streams::Wrote>() {
            match c.stream {
                StreamId::STDOUT => keep(&mut stdout.0, &c.data.0),
                StreamId::STDERR => keep(&mut stderr.0, &c.data.0),
                _ => {}
            }
        } else if let Some((c, Ok(()))) = e.get::<streams::Write>() {
            match c.stream {
                StreamId::STDOUT => stdout.1 += c.len,
                StreamId::STDERR => stderr.1 += c.len,
                _ => {}
            }
        } else if let wasm_rr_trace::Call::Cli(c) = &e.call {
            use wasm_rr_trace::cli::Call as C;
            if c.ends_run() && !ended {
                ended = true;
                exit = Some(match c {
                    C::Exit(x) => i32::from(x.status == wasm_rr_trace::Status::Err),
                    C::RunReturned(x) => i32::from(x.status == wasm_rr_trace::Status::Err),
                    C::ExitWithCode(x) => i32::from(x.code),
                    _ => 0,
                });
            }
        } else if let Some((c, _)) = e.get::<wasm_rr_trace::generic::Invoked>() {
            if let Some(f) = header.generic.get(c.function as usize) {
                inputs.invocations.push((f.clone(), c.args.clone()));
                returns.push(None);
            }
        } else if let Some((c, _)) = e.get::<wasm_rr_trace::generic::Returned>() {
            if let (Some(f), Some(slot)) =
                (header.generic.get(c.function as usize), returns.last_mut())
            {
                *slot = Some(f.result_text(&c.result));
            }
        } else if let Some((c, Some(v))) = e.get::<wasm_rr_trace::generic::Called>() {
            if let Some(f) = header.generic.get(c.function as usize) {
                p3_input(&mut inputs, f, v);
            }
        } else if let Some((c, _)) = e.get::<wasm_rr_trace::generic::Started>() {
            let stdin = header.generic.get(c.function as usize).is_some_and(|f| {
                wasm_rr_composer::is_wasi_p3(&f.interface)
                    && wasm_rr_composer::split_version(&f.interface).0 == "wasi:cli/stdin"
                    && f.name == "read-via-stream"
            });
            if stdin {
                stdin_tasks.insert(c.task);
            }
        } else if let Some((c, _)) = e.get::<wasm_rr_trace::generic::StreamRead>() {
            if stdin_tasks.contains(&c.task) {
                keep(&mut inputs.stdin, &c.data.0);
            }
        } else if unsupported.is_none() {
            unsupported = unsupported_reason(&e);
        }
    }
    let all = exchanges.finish();
    inputs.files.finish();
    let mut produced = Produced {
        stdout: Output::kept(&stdout.0, stdout.1),
        stderr: Output::kept(&stderr.0, stderr.1),
        files: inputs.files.written_outputs(),
        ..Produced::default()
    };
    for x in all {
        if x.incoming {
            inputs.incoming = Some((x.head.clone(), x.request_body.clone()));
            produced.response = Some(response_of(&x));
        } else {
            produced.requests.push(x.head.line());
            inputs.outgoing.push(x);
        }
    }
    produced.returns = inputs
        .invocations
        .iter()
        .zip(&returns)
        .map(|((f, args), r)| returned_text(f, args, r.as_deref()))
        .collect();
    if produced.response.is_none() && inputs.invocations.is_empty() {
        // A command: a run that did not end trapped (or was killed).
        produced.exit = Some(exit.unwrap_or(crate::runtime::TRAP_EXIT_CODE));
    }
    Ok(Recorded {
        inputs,
        produced,
        unsupported,
        keeps_no_output: header.output_bytes == 0,
    })
}

/// Takes into `inputs` what a WASI 0.3 call of the generic path (function `f`, which returned
/// `v`) gave the app, as the 0.2 call it stands for gives it: `wasi:cli/environment`'s
/// arguments and variables, `wasi:clocks`' readings, `wasi:random`'s values. Other calls give
/// nothing the test host serves.
fn p3_input(inputs: &mut Inputs, f: &wasm_rr_trace::generic::Function, v: &Val) {
    if !wasm_rr_composer::is_wasi_p3(&f.interface) {
        return;
    }
    let text = |v: &Val| match v {
        Val::String(s) => Some(s.clone()),
        _ => None,
    };
    let bytes = |items: &[Val]| -> Vec<u8> {
        items
            .iter()
            .filter_map(|b| match b {
                Val::U8(b) => Some(*b),
                _ => None,
            })
            .collect()
    };
    let (base, _) = wasm_rr_composer::split_version(&f.interface);
    match (base, f.name.as_str(), v) {
        ("wasi:cli/environment", "get-arguments", Val::List(args)) => {
            inputs.args = args.iter().filter_map(text).collect();
        }
        ("wasi:cli/environment", "get-environment", Val::List(vars)) => {
            inputs.env = vars
                .iter()
                .filter_map(|pair| match pair {
                    Val::Record(kv) => match &kv[..] {
                        [k, v] => Some((text(k)?, text(v)?)),
                        _ => None,
                    },
                    _ => None,
                })
                .collect();
        }
        ("wasi:clocks/monotonic-clock", "now", Val::U64(ns)) => inputs.monotonic_ns.push(*ns),
        ("wasi:clocks/system-clock", "now", Val::Record(instant)) => {
            if let [Val::S64(s), Val::U32(ns)] = &instant[..]
                && let Ok(s) = u128::try_from(*s)
            {
                inputs.wall_ns.push(s * 1_000_000_000 + u128::from(*ns));
            }
        }
        ("wasi:random/random", "get-random-u64", Val::U64(x)) => {
            inputs.random.extend_from_slice(&x.to_le_bytes());
        }
        ("wasi:random/random", "get-random-bytes", Val::List(b)) => {
            inputs.random.extend(bytes(b));
        }
        ("wasi:random/insecure", "get-insecure-random-u64", Val::U64(x)) => {
            inputs.insecure.extend_from_slice(&x.to_le_bytes());
        }
        ("wasi:random/insecure", "get-insecure-random-bytes", Val::List(b)) => {
            inputs.insecure.extend(bytes(b));
        }
        ("wasi:random/insecure-seed", "get-insecure-seed", Val::Record(pair)) => {
            if let [Val::U64(a), Val::U64(b)] = &pair[..] {
                inputs.seed = Some(u128::from(*a) | (u128::from(*b) << 64));
            }
        }
        _ => {}
    }
}

/// Appends `data` to `out`, up to [`MAX_BYTES`] in all.
pub fn keep(out: &mut Vec<u8>, data: &[u8]) {
    let room = MAX_BYTES.saturating_sub(out.len());
    out.extend_from_slice(&data[..data.len().min(room)]);
}

/// The response a handler gave, as the trace recorded it.
fn response_of(x: &Exchange) -> Response {
    let headers = x
        .response_headers
        .iter()
        .map(|(n, v)| (n.clone(), String::from_utf8_lossy(&v.0).into_owned()))
        .collect();
    let (status, error) = match &x.outcome {
        Some(Ok(status)) => (*status, None),
        Some(Err(e)) => (None, Some(e.to_string())),
        None => (None, Some("no response".to_string())),
    };
    Response {
        status,
        error,
        headers,
        body: Output::kept(&x.body, x.body_bytes),
    }
}

/// Why the test host cannot serve the inputs of the event `e`, if it cannot.
fn unsupported_reason(e: &wasm_rr_trace::Event) -> Option<String> {
    match e.call.interface() {
        "sockets" => super::sockets::unsupported(e),
        _ => None,
    }
}

/// One export call and what it returned, as `wasm-rr test` compares them: `CALL -> RESULT`
/// in WAVE, `CALL` alone for a function that returns nothing, `CALL -> trapped` when it did not
/// return.
pub fn returned_text(
    f: &wasm_rr_trace::generic::Function,
    args: &[wasm_rr_trace::abi::Val],
    result: Option<&str>,
) -> String {
    let call = f.call_text(args);
    match result {
        None => format!("{call} -> trapped"),
        Some("") => call,
        Some(r) => format!("{call} -> {r}"),
    }
}
