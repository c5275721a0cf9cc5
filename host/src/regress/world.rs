//! The test host of `wasm-rr test`: runs an app (the new version, as built: not wrapped) on
//! the embedded wasmtime with the inputs a trace recorded, and collects what it produces.
//!
//! Unlike a replay, nothing is checked call by call: the app gets the recorded values where
//! WASI hands out inputs, however it asks for them.
//! - clocks: the k-th reading of a clock returns the k-th recorded one, then the last one
//!   again (a clock the recording never read runs in real time);
//! - random: the recorded values first, in order, then values of a generator seeded with 0;
//! - arguments, environment and stdin as recorded;
//! - files: the preopens made again in a temporary directory with what the app found there
//!   (see [`super::files`]);
//! - an incoming request (for a handler): the recorded one, with its body;
//! - outgoing HTTP requests are answered from the recorded ones by matching (see
//!   [`Outgoing`]); nothing goes to the network;
//! - TCP connections likewise (see [`super::sockets`]);
//! - calls of other interfaces likewise (see [`super::generic`]).

use super::recorded::{Inputs, MAX_BYTES, Output, Produced, Response};
use super::rules::Rules;
use anyhow::{Result, anyhow};
use bytes::Bytes;
use http_body_util::BodyExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasm_rr_trace::http::{Exchange, RequestHead, method_name};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

/// What happened to one outgoing request of the app under test.
#[derive(Clone, Debug)]
pub struct Sent {
    /// `METHOD URL`.
    pub line: String,
    /// How it was answered.
    pub answer: Answered,
}

/// How an outgoing request was answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answered {
    /// By the recorded exchange with this index (among the outgoing ones).
    Recorded(usize),
    /// By a rule's configured response.
    Allowed,
    /// Not at all: no recorded exchange matches and no rule allows it. The closest recorded
    /// request, and how it differs, when there is one.
    Unmatched(Option<String>),
}

/// The recorded outgoing exchanges, and the requests the app under test sent.
///
/// A request is answered by the first recorded exchange not yet used with the same method,
/// URL and body; then, for a repeat, by the last such exchange again; then by the first rule
/// of `[[allow]]` that names it; otherwise not at all (the app gets `connection-refused`) and
/// the trace fails.
pub struct Outgoing {
    recorded: Vec<Exchange>,
    used: Vec<bool>,
    /// Every request sent, in order.
    pub sent: Vec<Sent>,
}

/// An answer to an outgoing request: status, headers and body, or the error the app gets.
type Reply = Result<(u16, Vec<(String, Vec<u8>)>, Vec<u8>), wasmtime_wasi_http::Error>;

impl Outgoing {
    /// The answer to the request `head` with `body`: from the recording, from a rule, or
    /// `connection-refused`; the request is noted in [`Outgoing::sent`].
    fn answer(&mut self, head: &RequestHead, body: &[u8], rules: &Rules) -> Reply {
        let line = head.line();
        let same = |x: &Exchange| x.head.line() == line && same_body(x, body);
        let unused = (0..self.recorded.len()).find(|&i| !self.used[i] && same(&self.recorded[i]));
        let found = unused.or_else(|| {
            (0..self.recorded.len())
                .rev()
                .find(|&i| same(&self.recorded[i]))
        });
        let (answer, reply) = match found {
            Some(i) => {
                self.used[i] = true;
                let x = &self.recorded[i];
                let reply = match &x.outcome {
                    Some(Ok(status)) => Ok((
                        status.unwrap_or(200),
                        x.response_headers
                            .iter()
                            .map(|(n, v)| (n.clone(), v.0.clone()))
                            .collect(),
                        x.body.clone(),
                    )),
                    Some(Err(e)) => Err(wasmtime_wasi_http::Error::InternalError(Some(format!(
                        "recorded: {e}"
                    )))),
                    None => Err(wasmtime_wasi_http::Error::ConnectionTerminated),
                };
                (Answered::Recorded(i), reply)
            }
            None => match rules.allowed(&method_name(&head.method), &url_of(&line)) {
                Some(a) => (
                    Answered::Allowed,
                    Ok((
                        a.status,
                        a.headers
                            .iter()
                            .map(|(n, v)| (n.clone(), v.clone().into_bytes()))
                            .collect(),
                        a.body.clone().into_bytes(),
                    )),
                ),
                None => (
                    Answered::Unmatched(self.closest(&line, body)),
                    Err(wasmtime_wasi_http::Error::ConnectionRefused),
                ),
            },
        };
        self.sent.push(Sent { line, answer });
        reply
    }

    /// The recorded request most like `line` with `body`, and how it differs.
    fn closest(&self, line: &str, body: &[u8]) -> Option<String> {
        let best = self.recorded.iter().max_by(|a, b| {
            let ra = similar::TextDiff::from_chars(a.head.line().as_str(), line).ratio();
            let rb = similar::TextDiff::from_chars(b.head.line().as_str(), line).ratio();
            ra.total_cmp(&rb)
        })?;
        let recorded = best.head.line();
        Some(if recorded == line {
            format!(
                "{recorded}, whose body was {} (now {})",
                preview(&best.request_body),
                preview(body)
            )
        } else {
            recorded
        })
    }

    /// The recorded requests no request of the app used, `METHOD URL` each.
    pub fn unused(&self) -> Vec<String> {
        (0..self.recorded.len())
            .filter(|&i| !self.used[i])
            .map(|i| self.recorded[i].head.line())
            .collect()
    }
}

/// Whether `body` is the body of the recorded request `x`: the same bytes, or, where the trace
/// keeps only its first bytes (`--output-bytes`), those first and the same length.
fn same_body(x: &Exchange, body: &[u8]) -> bool {
    let kept = &x.request_body;
    if (kept.len() as u64) < x.request_body_bytes {
        body.len() as u64 == x.request_body_bytes && body.starts_with(kept)
    } else {
        kept == body
    }
}

/// The URL of a `METHOD URL` line.
fn url_of(line: &str) -> String {
    line.split_once(' ').map_or(line, |(_, u)| u).to_string()
}

/// A body, shown short: `4 B "ping"`.
pub fn preview(body: &[u8]) -> String {
    format!("{} B {}", body.len(), wasm_rr_trace::text_preview(body))
}

/// The `wasi:http` hooks of the test host: outgoing requests go to [`Outgoing`].
struct Hooks {
    outgoing: Arc<Mutex<Outgoing>>,
    rules: Arc<Rules>,
}

impl WasiHttpHooks for Hooks {
    fn send_request(
        &mut self,
        request: hyper::http::Request<WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        hyper::http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        let outgoing = self.outgoing.clone();
        let rules = self.rules.clone();
        Box::new(async move {
            let (parts, body) = request.into_parts();
            let body = http_body_util::Limited::new(body, MAX_BYTES)
                .collect()
                .await
                .map_err(|_| wasmtime_wasi_http::Error::HttpRequestBodySize(None))?
                .to_bytes();
            let head = head_of(&parts);
            let (status, headers, data) = outgoing
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .answer(&head, &body, &rules)?;
            let mut response = hyper::http::Response::builder().status(status);
            for (n, v) in headers {
                response = response.header(n, v);
            }
            let body = http_body_util::Full::new(Bytes::from(data))
                .map_err(|never| match never {})
                .boxed_unsync();
            let response = response
                .body(body)
                .map_err(|e| wasmtime_wasi_http::Error::InternalError(Some(e.to_string())))?;
            let done: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send> =
                Box::new(async { Ok(()) });
            Ok((response, done))
        })
    }
}

/// The head of an outgoing request, as the trace records heads.
fn head_of(parts: &hyper::http::request::Parts) -> RequestHead {
    use wasm_rr_trace::http::{Method, Scheme};
    let method = match parts.method.as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "CONNECT" => Method::Connect,
        "OPTIONS" => Method::Options,
        "TRACE" => Method::Trace,
        "PATCH" => Method::Patch,
        other => Method::Other(other.to_string()),
    };
    let scheme = parts.uri.scheme_str().map(|s| match s {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.to_string()),
    });
    RequestHead {
        method,
        scheme,
        authority: parts.uri.authority().map(|a| a.to_string()),
        path_with_query: parts.uri.path_and_query().map(|p| p.to_string()),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), wasm_rr_trace::Bytes(v.as_bytes().to_vec())))
            .collect(),
    }
}

/// A clock that gives the recorded readings in order, then the last one again; `None`
/// when there are none.
struct Readings<T> {
    values: Vec<T>,
    next: AtomicUsize,
}

impl<T: Copy> Readings<T> {
    fn new(values: &[T]) -> Option<Readings<T>> {
        (!values.is_empty()).then(|| Readings {
            values: values.to_vec(),
            next: AtomicUsize::new(0),
        })
    }

    fn take(&self) -> T {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.values[i.min(self.values.len() - 1)]
    }
}

impl wasmtime_wasi::HostWallClock for Readings<u128> {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        let ns = self.take();
        Duration::new((ns / 1_000_000_000) as u64, (ns % 1_000_000_000) as u32)
    }
}

impl wasmtime_wasi::HostMonotonicClock for Readings<u64> {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        self.take()
    }
}

/// A random generator that gives the recorded values first (a byte per `next_u32`, as the
/// host's `get-random-bytes` takes one per byte; 8 bytes per `next_u64`), then those of a
/// generator seeded with 0.
struct Recorded {
    bytes: Vec<u8>,
    at: usize,
    then: rand::rngs::StdRng,
}

impl Recorded {
    fn new(bytes: &[u8]) -> Recorded {
        use rand::SeedableRng;
        Recorded {
            bytes: bytes.to_vec(),
            at: 0,
            then: rand::rngs::StdRng::seed_from_u64(0),
        }
    }
}

impl rand::TryRng for Recorded {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        use rand::Rng;
        Ok(match self.bytes.get(self.at) {
            Some(&b) => {
                self.at += 1;
                u32::from(b)
            }
            None => self.then.next_u32(),
        })
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        use rand::Rng;
        Ok(match self.bytes.get(self.at..self.at + 8) {
            Some(b) => {
                self.at += 8;
                u64::from_le_bytes(b.try_into().expect("8 bytes"))
            }
            None => {
                self.at = self.bytes.len();
                self.then.next_u64()
            }
        })
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for b in dst {
            *b = self.try_next_u32()? as u8;
        }
        Ok(())
    }
}

/// The store's state: WASI, `wasi:http` with the trace's answers, and the trace's generic
/// calls.
pub struct Host {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: Hooks,
    calls: Arc<Mutex<super::generic::Calls>>,
    connections: Arc<Mutex<super::sockets::Connections>>,
}

impl super::generic::HasCalls for Host {
    fn calls(&self) -> Arc<Mutex<super::generic::Calls>> {
        self.calls.clone()
    }
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// The app, compiled once for every trace.
pub struct App {
    engine: Engine,
    component: Component,
    linker: Linker<Host>,
    /// It is a `wasi:http` handler (rather than a command or a library).
    handler: bool,
}

/// Why the test host cannot serve the WASI 0.3 import `import` (`wasi:filesystem/types@0.3.2`),
/// if it cannot: it serves 0.3's `wasi:cli` (but output through 0.3's stdout and stderr
/// streams, which traces do not hold), `wasi:clocks` and `wasi:random`, with the inputs the
/// trace recorded, as it serves 0.2's.
pub fn p3_unserved(import: &str) -> Option<String> {
    let (base, _) = wasm_rr_composer::split_version(import);
    match base {
        "wasi:cli/stdout" | "wasi:cli/stderr" => Some(format!(
            "`wasm-rr test` cannot compare what an app prints through `{base}`'s WASI 0.3 stream yet (its traces do not hold it)"
        )),
        _ if base.starts_with("wasi:cli/")
            || base.starts_with("wasi:clocks/")
            || base.starts_with("wasi:random/") =>
        {
            None
        }
        _ => Some(format!(
            "`wasm-rr test` serves WASI 0.3's `wasi:cli`, `wasi:clocks` and `wasi:random` only, not `{base}` yet"
        )),
    }
}

impl App {
    /// Compiles `wasm` (a command or a `wasi:http` handler) and links it to WASI 0.2 with
    /// outgoing HTTP, and, with `p3`, to WASI 0.3 (see [`p3_unserved`]).
    ///
    /// Errors: it does not compile, or imports what the test host does not provide.
    pub fn new(wasm: &[u8], p3: bool) -> Result<App> {
        let mut config = crate::runtime::config(p3, false, false);
        // For the time limit of each run: the engine's epoch advances every EPOCH_TICK.
        config.epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|e| anyhow!("cannot start wasmtime: {e:#}"))?;
        let ticking = engine.weak();
        std::thread::spawn(move || {
            while let Some(engine) = ticking.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
        let component = Component::new(&engine, wasm)
            .map_err(|e| anyhow!("cannot compile the component: {e:#}"))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| anyhow!("cannot set up WASI: {e:#}"))?;
        if p3 {
            wasmtime_wasi::p3::add_to_linker(&mut linker)
                .map_err(|e| anyhow!("cannot set up WASI 0.3: {e:#}"))?;
        }
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(|e| anyhow!("cannot set up WASI HTTP: {e:#}"))?;
        // TCP sockets connect to the recording (see `super::sockets`), in place of
        // wasmtime-wasi's.
        linker.allow_shadowing(true);
        fn view(h: &mut Host) -> super::sockets::SocketsView<'_> {
            super::sockets::SocketsView {
                table: &mut h.table,
                connections: &h.connections,
            }
        }
        wasmtime_wasi::p2::bindings::sockets::tcp::add_to_linker::<Host, super::sockets::HasSockets>(
            &mut linker,
            view,
        )
        .map_err(|e| anyhow!("cannot set up sockets: {e:#}"))?;
        wasmtime_wasi::p2::bindings::sockets::tcp_create_socket::add_to_linker::<
            Host,
            super::sockets::HasSockets,
        >(&mut linker, view)
        .map_err(|e| anyhow!("cannot set up sockets: {e:#}"))?;
        wasmtime_wasi::p2::bindings::sockets::udp::add_to_linker::<Host, super::sockets::HasSockets>(
            &mut linker,
            view,
        )
        .map_err(|e| anyhow!("cannot set up sockets: {e:#}"))?;
        wasmtime_wasi::p2::bindings::sockets::udp_create_socket::add_to_linker::<
            Host,
            super::sockets::HasSockets,
        >(&mut linker, view)
        .map_err(|e| anyhow!("cannot set up sockets: {e:#}"))?;
        wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::add_to_linker::<
            Host,
            super::sockets::HasSockets,
        >(&mut linker, view)
        .map_err(|e| anyhow!("cannot set up sockets: {e:#}"))?;
        linker.allow_shadowing(false);
        super::generic::define(&mut linker, &engine, &component)
            .map_err(|e| anyhow!("cannot set up its other imports: {e:#}"))?;
        let handler = component
            .component_type()
            .exports(&engine)
            .any(|(name, _)| name.starts_with("wasi:http/incoming-handler@"));
        Ok(App {
            engine,
            component,
            linker,
            handler,
        })
    }

    /// Whether the app is a `wasi:http` handler (rather than a command or a library).
    pub fn is_handler(&self) -> bool {
        self.handler
    }

    /// Runs the app with `inputs`, for at most `limit`, and returns what it produced, the requests it sent, and a
    /// trap's message, if it trapped.
    ///
    /// Errors: it cannot be instantiated (it imports what the test host lacks).
    pub async fn run(&self, inputs: &Inputs, rules: Arc<Rules>, limit: Duration) -> Result<Run> {
        let stdout = MemoryOutputPipe::new(MAX_BYTES);
        let stderr = MemoryOutputPipe::new(MAX_BYTES);
        let mut builder = WasiCtx::builder();
        builder
            .args(&inputs.args)
            .envs(&inputs.env)
            .stdin(MemoryInputPipe::new(inputs.stdin.clone()))
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .secure_random(Recorded::new(&inputs.random))
            .insecure_random(Recorded::new(&inputs.insecure))
            .insecure_random_seed(inputs.seed.unwrap_or(0));
        if let Some(c) = Readings::new(&inputs.wall_ns) {
            builder.wall_clock(c);
        }
        if let Some(c) = Readings::new(&inputs.monotonic_ns) {
            builder.monotonic_clock(c);
        }
        // The preopens, made again in a directory of their own.
        let root =
            tempfile::tempdir().map_err(|e| anyhow!("cannot create a temporary directory: {e}"))?;
        let made = inputs.files.make(root.path())?;
        for (host, guest) in &made {
            builder
                .preopened_dir(host, guest, wasmtime_wasi::FsPerms::ReadWrite)
                .map_err(|e| anyhow!("cannot open {}: {e:#}", host.display()))?;
        }
        let calls = Arc::new(Mutex::new(inputs.calls.clone()));
        let connections = Arc::new(Mutex::new(super::sockets::Connections::new(
            &inputs.sockets,
        )));
        let outgoing = Arc::new(Mutex::new(Outgoing {
            recorded: inputs.outgoing.clone(),
            used: vec![false; inputs.outgoing.len()],
            sent: Vec::new(),
        }));
        let host = Host {
            wasi: builder.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: Hooks {
                outgoing: outgoing.clone(),
                rules,
            },
            calls: calls.clone(),
            connections: connections.clone(),
        };
        let mut store = Store::new(&self.engine, host);
        store.set_epoch_deadline((limit.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64);
        store.epoch_deadline_trap();
        let mut produced = Produced::default();
        let mut trap = None;
        let started = Instant::now();
        match &inputs.incoming {
            Some((head, body)) => {
                let (response, trapped) = self.handle(store, head, body).await?;
                produced.response = Some(response);
                trap = trapped;
            }
            None if !inputs.invocations.is_empty() => {
                let (returns, trapped) = self.invoke(&mut store, &inputs.invocations).await?;
                produced.returns = returns;
                trap = trapped;
            }
            None => {
                // A command: WASI 0.3's run, if it exports it, else 0.2's.
                let result =
                    crate::runtime::call_run(&mut store, &self.component, &self.linker).await?;
                let code = crate::runtime::exit_status(result).unwrap_or_else(|e| {
                    trap = Some(trap_text(&e));
                    crate::runtime::TRAP_EXIT_CODE
                });
                produced.exit = Some(code);
            }
        }
        produced.files = inputs
            .files
            .changed(&made)
            .into_iter()
            .map(|(p, o)| (p, Some(o)))
            .collect();
        produced.stdout = Output::of(&stdout.contents());
        produced.stderr = Output::of(&stderr.contents());
        let mut outgoing = outgoing.lock().unwrap_or_else(|e| e.into_inner());
        produced.requests = outgoing.sent.iter().map(|s| s.line.clone()).collect();
        let calls = calls.lock().unwrap_or_else(|e| e.into_inner());
        let connections = connections.lock().unwrap_or_else(|e| e.into_inner());
        Ok(Run {
            connections_made: connections
                .made
                .iter()
                .map(|(remote, answered, _)| (remote.clone(), answered.is_some()))
                .collect(),
            connections_unused: connections.unused(),
            lookups_made: connections.looked_up.clone(),
            lookups_unused: connections.lookups_unused(),
            udp_made: connections
                .udp_made
                .iter()
                .map(|(remote, answered, _)| (remote.clone(), answered.is_some()))
                .collect(),
            udp_unused: connections.udp_unused(),
            udp_sent: connections.udp_sent(),
            connections_sent: connections.sent(),
            calls_made: calls.made.clone(),
            calls_unused: calls.unused(),
            produced,
            unused: outgoing.unused(),
            sent: std::mem::take(&mut outgoing.sent),
            trap,
            elapsed: started.elapsed(),
        })
    }

    /// Makes a library component's recorded export calls, in order, on one instance; returns
    /// each call with what it returned (see [`super::recorded::returned_text`]), up to the one
    /// that trapped, and the trap's message.
    async fn invoke(
        &self,
        store: &mut Store<Host>,
        calls: &[(
            wasm_rr_trace::generic::Function,
            Vec<wasm_rr_trace::abi::Val>,
        )],
    ) -> Result<(Vec<String>, Option<String>)> {
        use super::generic::{to_trace, to_wasmtime};
        use super::recorded::returned_text;
        let instance = self
            .linker
            .instantiate_async(&mut *store, &self.component)
            .await
            .map_err(|e| anyhow!("cannot instantiate the component: {e:#}"))?;
        let mut out = Vec::new();
        let no_resources = std::collections::HashMap::new();
        for (f, args) in calls {
            let iface = (!f.interface.is_empty()).then_some(f.interface.as_str());
            let Some(func) = crate::runtime::exported_func(&instance, &mut *store, iface, &f.name)
            else {
                out.push(format!(
                    "{}: the app exports no such function",
                    f.call_text(args)
                ));
                return Ok((out, None));
            };
            let params = f
                .params
                .iter()
                .zip(args)
                .map(|((_, t), v)| to_wasmtime(t, v, &no_resources, &mut *store))
                .collect::<wasmtime::Result<Vec<_>>>()
                .map_err(|e| {
                    anyhow!("the recorded call {} does not fit: {e}", f.call_text(args))
                })?;
            let mut results =
                vec![wasmtime::component::Val::Bool(false); usize::from(f.result.is_some())];
            if let Err(e) = func.call_async(&mut *store, &params, &mut results).await {
                out.push(returned_text(f, args, None));
                return Ok((out, Some(trap_text(&e))));
            }
            let result = match (&f.result, results.first()) {
                (Some(t), Some(v)) => Some(to_trace(t, v, &mut *store).map_err(|e| {
                    anyhow!(
                        "{} returned a value of another type: {e}",
                        f.call_text(args)
                    )
                })?),
                _ => None,
            };
            out.push(returned_text(f, args, Some(&f.result_text(&result))));
        }
        Ok((out, None))
    }

    /// Hands the request `head` with `body` to the handler, and returns its response (read
    /// whole) and a trap's message.
    async fn handle(
        &self,
        mut store: Store<Host>,
        head: &RequestHead,
        body: &[u8],
    ) -> Result<(Response, Option<String>)> {
        use wasmtime_wasi_http::p2::bindings::Proxy;
        use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
        let scheme = match &head.scheme {
            Some(wasm_rr_trace::http::Scheme::Https) => "https",
            _ => "http",
        };
        let mut request = hyper::http::Request::builder()
            .method(method_name(&head.method).as_str())
            .uri(format!(
                "{scheme}://{}{}",
                head.authority.as_deref().unwrap_or("localhost"),
                head.path_with_query.as_deref().unwrap_or("/")
            ));
        for (n, v) in &head.headers {
            request = request.header(n.as_str(), v.0.as_slice());
        }
        let request = request
            .body(
                http_body_util::Full::new(Bytes::copy_from_slice(body))
                    .map_err(|never| -> wasmtime_wasi_http::Error { match never {} }),
            )
            .map_err(|e| anyhow!("the recorded request cannot be made again: {e}"))?;
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let req = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)
            .map_err(|e| anyhow!("cannot make the request: {e:#}"))?;
        let out = store
            .data_mut()
            .http()
            .new_response_outparam(sender)
            .map_err(|e| anyhow!("cannot make the request: {e:#}"))?;
        let proxy = Proxy::instantiate_async(&mut store, &self.component, &self.linker)
            .await
            .map_err(|e| anyhow!("cannot instantiate the component: {e:#}"))?;
        let task = tokio::task::spawn(async move {
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await
        });
        let mut response = Response::default();
        match receiver.await {
            Ok(Ok(resp)) => {
                let (parts, body) = resp.into_parts();
                response.status = Some(parts.status.as_u16());
                response.headers = parts
                    .headers
                    .iter()
                    .map(|(n, v)| {
                        (
                            n.to_string(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                match http_body_util::Limited::new(body, MAX_BYTES)
                    .collect()
                    .await
                {
                    Ok(b) => response.body = Output::of(&b.to_bytes()),
                    Err(e) => response.error = Some(format!("its body failed: {e}")),
                }
            }
            Ok(Err(e)) => response.error = Some(format!("{e:?}")),
            Err(_) => response.error = Some("no response".into()),
        }
        let trap = match task.await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(trap_text(&e)),
            Err(e) => Some(e.to_string()),
        };
        Ok((response, trap))
    }
}

/// What one run of the app produced.
pub struct Run {
    /// Its output, exit status or response, and requests.
    pub produced: Produced,
    /// Its outgoing requests and how each was answered.
    pub sent: Vec<Sent>,
    /// The recorded requests it did not make.
    pub unused: Vec<String>,
    /// Its calls of the generic path's imports, as text, each with the recorded call that
    /// answered it (none: no recorded call did, and it trapped).
    pub calls_made: Vec<(String, Option<String>)>,
    /// The recorded calls of the generic path it did not make.
    pub calls_unused: Vec<String>,
    /// Its TCP connections, by remote address, and whether a recorded one answered each.
    pub connections_made: Vec<(String, bool)>,
    /// The recorded TCP connections it did not make.
    pub connections_unused: Vec<String>,
    /// The names it looked up, and whether a recorded lookup answered each.
    pub lookups_made: Vec<(String, bool)>,
    /// The recorded name lookups it did not make.
    pub lookups_unused: Vec<String>,
    /// Its UDP datagram streams, by remote address, and whether a recorded one answered each.
    pub udp_made: Vec<(Option<String>, bool)>,
    /// The recorded UDP datagram streams it did not make.
    pub udp_unused: Vec<Option<String>>,
    /// For each answered UDP stream: its remote address, the datagrams the recording sent and
    /// those sent now (see [`super::sockets::datagram_line`]).
    pub udp_sent: Vec<(Option<String>, Vec<String>, Vec<String>)>,
    /// For each answered connection: the address, what the recording sent, what it sent now.
    pub connections_sent: Vec<(String, Output, Output)>,
    /// The trap's first line, when it trapped.
    pub trap: Option<String>,
    /// How long it took.
    pub elapsed: Duration,
}

/// How often the engine's epoch advances: the granularity of `--timeout`.
const EPOCH_TICK: Duration = Duration::from_millis(100);

/// What a trap says: the innermost error of its chain (the trap's kind, or the host
/// function's error), on one line.
fn trap_text(e: &wasmtime::Error) -> String {
    if matches!(
        e.downcast_ref::<wasmtime::Trap>(),
        Some(wasmtime::Trap::Interrupt)
    ) {
        return "it ran longer than the time limit (--timeout)".into();
    }
    e.chain()
        .last()
        .map(|c| c.to_string())
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}
