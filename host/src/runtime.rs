//! The embedded wasmtime: runs a (wrapped) command component the way `wasmtime run` does,
//! with the same exit-code conventions.

use anyhow::{Result, anyhow};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::bindings::Command;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

/// Exit status `wasmtime run` uses for a trap on Unix (128 + SIGABRT).
pub const TRAP_EXIT_CODE: i32 = 134;

/// Network access, like `wasmtime run`'s `-S` options of the same names: none by default.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetworkOptions {
    /// `-S inherit-network`: every address may be bound and connected to; turns TCP and UDP on.
    pub inherit_network: bool,
    /// `-S allow-ip-name-lookup`: `wasi:sockets/ip-name-lookup` works.
    pub allow_ip_name_lookup: Option<bool>,
    /// `-S tcp`: TCP sockets may be created.
    pub tcp: Option<bool>,
    /// `-S udp`: UDP sockets may be created.
    pub udp: Option<bool>,
}

/// How to set up the guest's WASI context; the defaults give it nothing but stdout/stderr.
#[derive(Default)]
pub struct RunOptions {
    /// The component uses the component model's async ABI: run it with wasmtime's concurrency
    /// support on (slower calls between components, but the only way to run it).
    pub async_abi: bool,
    /// Network access.
    pub network: NetworkOptions,
    /// The guest's arguments, program name first.
    pub args: Vec<String>,
    /// Environment variables.
    pub envs: Vec<(String, String)>,
    /// Preopened directories: (host path, guest path).
    pub dirs: Vec<(PathBuf, String)>,
    /// Give the guest this process's stdin.
    pub inherit_stdin: bool,
    /// Start the wall clock at this time since the Unix epoch; it then advances in real time.
    pub wall_clock_start: Option<Duration>,
    /// Serve `wasm-rr:rr/embedded` from this trace (a component from
    /// `wasm_rr_composer::wrap_replay_open` imports it for the trace).
    pub embedded: Option<Arc<crate::files::TraceInput>>,
    /// What to watch of the replay of `embedded` (`replay --calls`, `--until`, `debug
    /// --event`): wasmtime then keeps DWARF for backtraces.
    pub watch: crate::watch::Watch,
    /// Compile for a source debugger: DWARF for the JIT code, no optimisation (`wasmtime run
    /// -D debug-info -O opt-level=0`).
    pub debug_info: bool,
    /// The variables `wasi:config/store` serves (`-S config-var=K=V`).
    pub config_vars: Vec<(String, String)>,
    /// What the in-memory `wasi:keyvalue` store holds at start (`-S
    /// keyvalue-in-memory-data=K=V`).
    pub keyvalue_data: Vec<(String, String)>,
    /// Calls of a library component's exports to make, in order, on one instance, instead of
    /// running `wasi:cli/run`: each a WAVE function call (`stamp("hello")`,
    /// `acme:text/codec.stamp("hello")`), as `wasmtime run --invoke` takes.
    pub invoke: Vec<String>,
}

struct Host {
    wasi: WasiCtx,
    http: wasmtime_wasi_http::WasiHttpCtx,
    table: ResourceTable,
    config: wasmtime_wasi_config::WasiConfigVariables,
    keyvalue: wasmtime_wasi_keyvalue::WasiKeyValueCtx,
}

impl wasmtime_wasi_http::WasiHttpView for Host {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        wasmtime_wasi_http::WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: wasmtime_wasi_http::default_hooks(),
        }
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

/// A wall clock that starts at a chosen time and then advances in real time.
struct StartedClock {
    start: Duration,
    since: Instant,
}

impl wasmtime_wasi::HostWallClock for StartedClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        self.start.saturating_add(self.since.elapsed())
    }
}

/// Converts a wasmtime error (its own type in wasmtime 48) into an anyhow one, with context.
fn context<T>(r: wasmtime::Result<T>, what: impl FnOnce() -> String) -> Result<T> {
    r.map_err(|e| anyhow!("{}: {e:#}", what()))
}

/// The engine wasm-rr runs components on: components on, async host calls (as `wasmtime run`
/// does: file I/O runs on tokio), concurrency support off (which makes calls between
/// components roughly 30x cheaper in wasmtime 48) unless the component uses the async ABI
/// (`async_abi`), and wasmtime's compile cache.
pub fn engine(async_abi: bool) -> Result<Engine> {
    engine_with(async_abi, false, false)
}

/// [`engine`], keeping the app's DWARF for backtraces (`backtraces`: file and line of each
/// frame), or for a source debugger (`debug_info`: unoptimised code with DWARF registered
/// through the GDB JIT interface).
fn engine_with(async_abi: bool, backtraces: bool, debug_info: bool) -> Result<Engine> {
    let config = config(async_abi, backtraces, debug_info);
    context(Engine::new(&config), || "cannot start wasmtime".into())
}

/// The configuration of [`engine_with`], for callers that add to it (`wasm-rr test`'s time
/// limit).
pub fn config(async_abi: bool, backtraces: bool, debug_info: bool) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    if backtraces || debug_info {
        config.wasm_backtrace_details(wasmtime::WasmBacktraceDetails::Enable);
    }
    if debug_info {
        config.debug_info(true);
        config.cranelift_opt_level(wasmtime::OptLevel::None);
    }
    if async_abi {
        config.wasm_component_model_async(true);
    } else {
        config.concurrency_support(false);
    }
    // Reuse compiled code across runs, like `wasmtime run` (its default cache, in the user's
    // cache directory). Without a usable cache directory, compile every time. Not under a
    // debugger: its breakpoints are written into the code, and a cached copy of it would
    // carry them into later runs (a SIGTRAP where an earlier session had a breakpoint).
    if !debug_info && let Ok(cache) = wasmtime::Cache::from_file(None) {
        config.cache(Some(cache));
    }
    config
}

/// Serves `wasm-rr:rr/embedded` (`size`, `read`) from `trace`, read in place, and its hooks
/// (`first-watched`, `watched`) by `watch`.
fn link_embedded(
    linker: &mut Linker<Host>,
    trace: Arc<crate::files::TraceInput>,
    watch: &crate::watch::Watch,
) -> Result<()> {
    use wasm_rr_trace::Source;
    let mut embedded = context(
        linker.instance(wasm_rr_composer::EMBEDDED_INTERFACE),
        || "cannot set up the trace".into(),
    )?;
    let size = (&*trace).size();
    let watcher_trace = trace.clone();
    context(
        embedded.func_wrap("size", move |_, (): ()| Ok((size,))),
        || "cannot set up the trace".into(),
    )?;
    context(
        embedded.func_wrap("read", move |_, (offset, len): (u64, u64)| {
            let mut out = Vec::new();
            (&*trace).read(offset, len, &mut out);
            Ok((out,))
        }),
        || "cannot set up the trace".into(),
    )?;
    let watcher = if watch.any() {
        Some(crate::watch::Watcher::new(watch.clone(), watcher_trace)?)
    } else {
        None
    };
    let first = watcher.as_ref().map_or(u64::MAX, |w| w.first());
    let watcher = std::sync::Mutex::new(watcher);
    context(
        embedded.func_wrap("first-watched", move |_, (): ()| Ok((first,))),
        || "cannot set up the trace".into(),
    )?;
    context(
        embedded.func_wrap("watched", move |store, (event,): (u64,)| {
            let mut watcher = watcher.lock().unwrap_or_else(|e| e.into_inner());
            match watcher.as_mut() {
                Some(w) => Ok((w.watched(store, event)?,)),
                None => Ok((u64::MAX,)),
            }
        }),
        || "cannot set up the trace".into(),
    )?;
    Ok(())
}

/// WASI 0.2 and 0.3, outgoing HTTP (as `wasmtime run -S http`: a recording component of an
/// app that imports `wasi:http` imports it; other components ignore it), `wasi:config` and the in-memory
/// `wasi:keyvalue` (as `-S config` and `-S keyvalue`, for apps whose recording component
/// imports them).
fn linker(engine: &Engine) -> Result<Linker<Host>> {
    let mut linker = Linker::new(engine);
    context(wasmtime_wasi::p2::add_to_linker_async(&mut linker), || {
        "cannot set up WASI".into()
    })?;
    // WASI 0.3 (as `wasmtime run` serves it by default), when the engine can run it.
    if engine.get_concurrency_support() {
        context(wasmtime_wasi::p3::add_to_linker(&mut linker), || {
            "cannot set up WASI 0.3".into()
        })?;
    }
    context(
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker),
        || "cannot set up WASI HTTP".into(),
    )?;
    // WASI 0.3's HTTP client (`wasi:http/client@0.3`), as `wasmtime run -S http` serves it.
    if engine.get_concurrency_support() {
        context(wasmtime_wasi_http::p3::add_to_linker(&mut linker), || {
            "cannot set up WASI 0.3 HTTP".into()
        })?;
    }
    context(
        wasmtime_wasi_config::add_to_linker(&mut linker, |h: &mut Host| {
            wasmtime_wasi_config::WasiConfig::from(&h.config)
        }),
        || "cannot set up wasi:config".into(),
    )?;
    context(
        wasmtime_wasi_keyvalue::add_to_linker(&mut linker, |h: &mut Host| {
            wasmtime_wasi_keyvalue::WasiKeyValue::new(&h.keyvalue, &mut h.table)
        }),
        || "cannot set up wasi:keyvalue".into(),
    )?;
    Ok(linker)
}

/// A store's state for a guest set up by `opts`: its WASI context, an HTTP context and an
/// empty resource table.
///
/// Errors: a directory cannot be opened.
fn host_state(opts: &RunOptions) -> Result<Host> {
    let mut builder = WasiCtx::builder();
    // Like `wasmtime run`: file I/O on the calling thread, not handed to a thread pool (which
    // costs about 100 µs per call, and the recorder writes the trace after every output write).
    builder
        .inherit_stdout()
        .inherit_stderr()
        .args(&opts.args)
        .allow_blocking_current_thread(true);
    if opts.inherit_stdin {
        builder.inherit_stdin();
    }
    for (k, v) in &opts.envs {
        builder.env(k, v);
    }
    let net = opts.network;
    if net.inherit_network {
        builder.inherit_network();
        builder.allow_tcp(true).allow_udp(true);
    }
    if let Some(enable) = net.allow_ip_name_lookup {
        builder.allow_ip_name_lookup(enable);
    }
    if let Some(enable) = net.tcp {
        builder.allow_tcp(enable);
    }
    if let Some(enable) = net.udp {
        builder.allow_udp(enable);
    }
    for (host, guest) in &opts.dirs {
        context(
            builder.preopened_dir(host, guest, FsPerms::ReadWrite),
            || format!("cannot open directory {}", host.display()),
        )?;
    }
    if let Some(start) = opts.wall_clock_start {
        builder.wall_clock(StartedClock {
            start,
            since: Instant::now(),
        });
    }
    Ok(Host {
        wasi: builder.build(),
        http: wasmtime_wasi_http::WasiHttpCtx::new(),
        table: ResourceTable::new(),
        config: opts.config_vars.iter().cloned().collect(),
        keyvalue: wasmtime_wasi_keyvalue::WasiKeyValueCtxBuilder::new()
            .in_memory_data(opts.keyvalue_data.iter().cloned())
            .build(),
    })
}

/// The multi-threaded tokio runtime the embedded wasmtime runs on.
///
/// Errors: it cannot be started (no threads).
pub fn async_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow!("cannot start the async runtime: {e}"))
}

/// Serves HTTP on `addr` like `wasmtime serve`: every request gets a new instance of
/// `component` (which exports `wasi:http/incoming-handler`), set up by `opts`. Prints
/// `wasm-rr: serving HTTP on http://ADDR/` on stderr once it listens (with the port the
/// system picked, for port 0), then runs until Ctrl-C (SIGINT), when it stops accepting,
/// waits for the instances handling requests to finish and returns exit status 0.
///
/// Errors: the component cannot be compiled or is no HTTP handler; the address cannot be bound.
pub fn serve(
    component: &[u8],
    opts: RunOptions,
    addr: std::net::SocketAddr,
    note: &str,
) -> Result<i32> {
    let runtime = async_runtime()?;
    runtime.block_on(serve_async(component, opts, addr, note))
}

/// How [`serve_service`] reuses an instance of a WASI 0.3 service, as `wasmtime serve` does
/// (its flags of the same names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reuse {
    /// Requests an instance serves in all before it is dropped
    /// (`--max-instance-reuse-count`; 128 by default).
    pub max_requests: usize,
    /// Requests an instance serves at once (`--max-instance-concurrent-reuse-count`; 16 by
    /// default).
    pub max_concurrent: usize,
    /// How long an idle instance is kept for the next request before it is dropped (1 s, as
    /// `wasmtime serve`'s `--idle-instance-timeout` by default; not a flag of `wasm-rr serve`).
    pub idle_timeout: Duration,
}

impl Default for Reuse {
    fn default() -> Self {
        Reuse {
            max_requests: 128,
            max_concurrent: 16,
            idle_timeout: Duration::from_secs(1),
        }
    }
}

/// Serves HTTP on `addr` like `wasmtime serve` serves a WASI 0.3 service (`component` exports
/// `wasi:http/handler@0.3.x`): an instance takes up to `reuse.max_concurrent` requests at once
/// and `reuse.max_requests` in all (wasmtime-wasi-http's `ProxyHandler`, which `wasmtime serve`
/// uses), set up by `opts`. Prints `wasm-rr: serving HTTP on http://ADDR/` followed by `note`
/// on stderr once it listens, runs until Ctrl-C (SIGINT), then stops accepting, waits for the
/// requests under way and for every instance to be dropped (an idle one after
/// `reuse.idle_timeout`), and returns exit status 0. A request the app fails (it returns an
/// error code or traps) gets a 500 answer and a line on stderr, as with `wasmtime serve`.
///
/// Errors: the component cannot be compiled or exports no 0.3 handler; the address cannot be
/// bound.
pub fn serve_service(
    component: &[u8],
    opts: RunOptions,
    addr: std::net::SocketAddr,
    note: &str,
    reuse: Reuse,
) -> Result<i32> {
    let runtime = async_runtime()?;
    runtime.block_on(serve_service_async(component, opts, addr, note, reuse))
}

async fn serve_service_async(
    component: &[u8],
    opts: RunOptions,
    addr: std::net::SocketAddr,
    note: &str,
    reuse: Reuse,
) -> Result<i32> {
    use http_body_util::BodyExt;
    use wasmtime_wasi_http::handler::{ProxyHandler, ProxyPre};
    let engine = engine(true)?;
    let pre = context(
        wasmtime_wasi_http::p3::bindings::ServicePre::new(instance_pre(&engine, component)?),
        || "the component is no wasi:http/handler@0.3 service".into(),
    )?;
    // The handler's state holds a sender, and every worker (instance) holds the handler: once
    // the connections under way have ended and every instance has been dropped (its trace
    // written), `finished` ends.
    let (alive, finished) = tokio::sync::mpsc::channel::<()>(1);
    let handler = ProxyHandler::new(Instances {
        engine,
        pre: ProxyPre::P3(pre),
        opts,
        reuse,
        _alive: alive,
    });
    accept_until_interrupted(addr, note, finished, move |client| {
        // As `wasmtime serve`: small response chunks are not held back (Nagle).
        let _ = client.set_nodelay(true);
        let handler = handler.clone();
        hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let handler = handler.clone();
            async move {
                let req =
                    req.map(|body| body.map_err(wasmtime_wasi_http::Error::from).boxed_unsync());
                match handler.handle((), req).await {
                    Ok(response) => Ok::<_, std::convert::Infallible>(response),
                    Err(e) => {
                        eprintln!("wasm-rr: a request failed: {e:#}");
                        let mut response = hyper::Response::new(
                            http_body_util::Empty::new()
                                .map_err(|never| match never {})
                                .boxed_unsync(),
                        );
                        *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                        Ok(response)
                    }
                }
            }
        })
    })
    .await
}

/// [`serve_service`]'s state: how to make an instance and how long to keep it.
struct Instances {
    engine: Engine,
    pre: wasmtime_wasi_http::handler::ProxyPre<Host>,
    opts: RunOptions,
    reuse: Reuse,
    _alive: tokio::sync::mpsc::Sender<()>,
}

impl wasmtime_wasi_http::handler::HandlerState for Instances {
    type StoreData = Host;
    type WorkerExpiration = IdleExpiration;
    type WorkerState = Limits;

    async fn instantiate(
        &self,
    ) -> wasmtime::Result<wasmtime_wasi_http::handler::Instance<Host, IdleExpiration, Limits>> {
        let host = host_state(&self.opts).map_err(|e| wasmtime::format_err!("{e:#}"))?;
        let mut store = Store::new(&self.engine, host);
        let proxy = self.pre.instantiate_async(&mut store).await?;
        Ok(wasmtime_wasi_http::handler::Instance {
            store,
            proxy,
            view: wasmtime_wasi_http::WasiHttpView::http,
            expiration: IdleExpiration {
                idle_timeout: self.reuse.idle_timeout,
                sleep: Box::pin(tokio::time::sleep(Duration::MAX)),
            },
            state: Limits(self.reuse),
        })
    }
}

/// An instance is dropped once it has been idle for [`Reuse::idle_timeout`]; a request has no
/// time limit (as `wasmtime serve` without `--wasm timeout`).
struct IdleExpiration {
    idle_timeout: Duration,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl wasmtime_wasi_http::handler::WorkerExpiration for IdleExpiration {
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        status: wasmtime_wasi_http::handler::WorkerStatus,
        start: Instant,
    ) -> std::task::Poll<()> {
        use std::future::Future;
        let me = self.get_mut();
        if status != wasmtime_wasi_http::handler::WorkerStatus::Idle {
            return std::task::Poll::Pending;
        }
        let Some(deadline) = start.checked_add(me.idle_timeout) else {
            return std::task::Poll::Pending;
        };
        let deadline = tokio::time::Instant::from_std(deadline);
        if me.sleep.deadline() != deadline {
            me.sleep.as_mut().reset(deadline);
        }
        me.sleep.as_mut().poll(cx)
    }
}

/// An instance's request limits, [`Reuse`]'s.
struct Limits(Reuse);

impl wasmtime_wasi_http::handler::WorkerState for Limits {
    type StoreData = Host;
    type RequestData = ();

    fn should_accept_request(
        &self,
        concurrent: usize,
        total: usize,
    ) -> wasmtime_wasi_http::handler::ShouldAccept {
        use wasmtime_wasi_http::handler::ShouldAccept;
        if total >= self.0.max_requests {
            ShouldAccept::Never
        } else if concurrent >= self.0.max_concurrent {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        _store: wasmtime::StoreContextMut<'_, Host>,
        _data: (),
        _task: wasmtime::component::GuestTaskId,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'static + Send + Sync>> {
        Box::pin(std::future::pending())
    }

    fn drop(&self, store: Store<Host>, result: wasmtime::Result<()>) {
        if let Err(e) = result {
            eprintln!("wasm-rr: an instance failed: {e:#}");
        }
        drop(store);
    }
}

async fn serve_async(
    component: &[u8],
    opts: RunOptions,
    addr: std::net::SocketAddr,
    note: &str,
) -> Result<i32> {
    use wasmtime_wasi_http::p2::bindings::ProxyPre;
    let engine = engine(opts.async_abi)?;
    let pre = context(ProxyPre::new(instance_pre(&engine, component)?), || {
        "the component is no wasi:http/proxy handler".into()
    })?;
    // Every instance holds a sender; once every instance has finished (and written its
    // trace), `finished` ends, as `wasmtime serve` waits.
    let (alive, finished) = tokio::sync::mpsc::channel::<()>(1);
    let shared = Arc::new((pre, opts));
    accept_until_interrupted(addr, note, finished, move |_| {
        let shared = shared.clone();
        let alive = alive.clone();
        hyper::service::service_fn(move |req| {
            let shared = shared.clone();
            let alive = alive.clone();
            async move { handle_request(&shared.0, &shared.1, req, alive).await }
        })
    })
    .await
}

/// `component` compiled for `engine` and linked with [`linker`].
///
/// Errors: it cannot be compiled or linked.
fn instance_pre(
    engine: &Engine,
    component: &[u8],
) -> Result<wasmtime::component::InstancePre<Host>> {
    let component = context(Component::new(engine, component), || {
        "cannot compile the component".into()
    })?;
    let linker = linker(engine)?;
    context(linker.instantiate_pre(&component), || {
        "cannot link the component".into()
    })
}

/// Listens on `addr`, prints `wasm-rr: serving HTTP on http://ADDR/` and `note` on stderr, and
/// serves every connection with the HTTP/1 service `service` makes for it, until Ctrl-C
/// (SIGINT); then stops accepting, drops `service` (and what it holds), waits until
/// `finished` ends (every sender dropped) and returns exit status 0.
///
/// Errors: the address cannot be bound; the signal handler cannot be installed.
async fn accept_until_interrupted<S, B>(
    addr: std::net::SocketAddr,
    note: &str,
    mut finished: tokio::sync::mpsc::Receiver<()>,
    service: impl Fn(&tokio::net::TcpStream) -> S,
) -> Result<i32>
where
    S: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = hyper::Response<B>,
        > + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow!("cannot listen on {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| anyhow!("cannot listen on {addr}: {e}"))?;
    // One Ctrl-C listener for the whole run, made before the address is printed: a client that
    // sends SIGINT as soon as it reads that line is never missed (a listener made anew for
    // every accepted connection, as before, let one through now and then under load).
    let ctrl_c = interrupted()?;
    tokio::pin!(ctrl_c);
    eprintln!("wasm-rr: serving HTTP on http://{bound}/{note}");
    loop {
        let client = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => client,
                Err(_) => continue,
            },
            _ = &mut ctrl_c => break,
        };
        let service = service(&client);
        tokio::task::spawn(async move {
            // A client that goes away mid-request is its own business.
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(wasmtime_wasi_http::io::TokioIo::new(client), service)
                .await;
        });
    }
    eprintln!("wasm-rr: stopping: waiting for the requests being handled to finish");
    drop(service);
    let _ = finished.recv().await;
    Ok(0)
}

/// A future that ends at the next Ctrl-C (SIGINT), listening from now on.
///
/// Errors: the signal handler cannot be installed.
fn interrupted() -> Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())
            .map_err(|e| anyhow!("cannot listen for Ctrl-C: {e}"))?;
        Ok(async move {
            interrupt.recv().await;
        })
    }
    #[cfg(not(unix))]
    {
        // (tokio's `ctrl_c` listens from its first poll, in the serving loop's first round.)
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// One request, in a new instance, as `wasmtime serve` handles it. The instance holds `alive`
/// until it finishes.
async fn handle_request(
    pre: &wasmtime_wasi_http::p2::bindings::ProxyPre<Host>,
    opts: &RunOptions,
    req: hyper::Request<hyper::body::Incoming>,
    alive: tokio::sync::mpsc::Sender<()>,
) -> Result<hyper::Response<wasmtime_wasi_http::p2::body::HyperOutgoingBody>> {
    use wasmtime_wasi_http::WasiHttpView;
    use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
    let mut store = Store::new(pre.engine(), host_state(opts)?);
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let req = store
        .data_mut()
        .http()
        .new_incoming_request(Scheme::Http, req)?;
    let out = store.data_mut().http().new_response_outparam(sender)?;
    let pre = pre.clone();
    let task = tokio::task::spawn(async move {
        let _alive = alive;
        let proxy = pre.instantiate_async(&mut store).await?;
        proxy
            .wasi_http_incoming_handler()
            .call_handle(store, req, out)
            .await
    });
    match receiver.await {
        Ok(Ok(resp)) => Ok(resp),
        Ok(Err(e)) => Err(anyhow!("the handler answered with an error: {e:?}")),
        Err(_) => {
            let why = match task.await {
                Ok(Ok(())) => "it returned without setting a response".to_string(),
                Ok(Err(e)) => format!("{e:#}"),
                Err(e) => format!("{e}"),
            };
            eprintln!("wasm-rr: a request failed: {why}");
            Err(anyhow!("the handler failed: {why}"))
        }
    }
}

/// Runs `component` (a command) and returns the process exit code `wasmtime run` would give:
/// 0 on success, 1 when `run` returns an error, the code passed to `exit`, or
/// [`TRAP_EXIT_CODE`] after printing the trap to stderr.
///
/// Errors: the component cannot be compiled or instantiated, or a directory cannot be opened.
pub fn run(component: &[u8], opts: &RunOptions) -> Result<i32> {
    let runtime = async_runtime()?;
    runtime.block_on(run_async(component, opts))
}

async fn run_async(component: &[u8], opts: &RunOptions) -> Result<i32> {
    let engine = engine_with(opts.async_abi, opts.watch.any(), opts.debug_info)?;
    let component = context(Component::new(&engine, component), || {
        "cannot compile the component".into()
    })?;
    let mut linker = linker(&engine)?;
    if let Some(blob) = &opts.embedded {
        link_embedded(&mut linker, blob.clone(), &opts.watch)?;
    }

    let mut store = Store::new(&engine, host_state(opts)?);
    if !opts.invoke.is_empty() {
        return invoke(&mut store, &component, &linker, &opts.invoke).await;
    }
    let status = call_run(&mut store, &component, &linker).await?;
    match exit_status(status) {
        Ok(code) => Ok(code),
        Err(e) if e.downcast_ref::<crate::watch::Stopped>().is_some() => Ok(0),
        Err(e) => {
            eprintln!("Error: {e:?}");
            Ok(TRAP_EXIT_CODE)
        }
    }
}

/// Instantiates `component` (a command) in `store` and calls its `wasi:cli/run`: WASI 0.3's
/// when it exports it (see [`exports_p3_run`]; an async function, run as `wasmtime run` runs
/// it: its tasks run concurrently until `run` returns), else 0.2's. Returns what `run` gave,
/// or its trap (see [`exit_status`]).
///
/// Errors: it cannot be instantiated.
pub async fn call_run<T: Send + 'static>(
    store: &mut Store<T>,
    component: &Component,
    linker: &Linker<T>,
) -> Result<wasmtime::Result<Result<(), ()>>> {
    let instantiate = || "cannot instantiate the component".into();
    if exports_p3_run(store.engine(), component) {
        let command = context(
            wasmtime_wasi::p3::bindings::Command::instantiate_async(&mut *store, component, linker)
                .await,
            instantiate,
        )?;
        Ok(store
            .run_concurrent(async move |store| command.wasi_cli_run().call_run(store).await)
            .await
            .and_then(|r| r))
    } else {
        let command = context(
            Command::instantiate_async(&mut *store, component, linker).await,
            instantiate,
        )?;
        Ok(command.wasi_cli_run().call_run(&mut *store).await)
    }
}

/// Whether `component` exports WASI 0.3's `wasi:cli/run` (any `0.3.x`): `wasmtime run` calls
/// that one when a component exports both it and 0.2's (as `wasip3` commands built on
/// `wasm32-wasip2` do), and so does wasm-rr.
fn exports_p3_run(engine: &Engine, component: &Component) -> bool {
    engine.get_concurrency_support()
        && component
            .component_type()
            .exports(engine)
            .any(|(name, _)| name.starts_with("wasi:cli/run@0.3."))
}

/// The exit status of a command whose `wasi:cli/run.run` gave `result`, as `wasmtime run`
/// reports it: 0 when it returned `ok`, 1 for `err`, the code passed to `exit`.
///
/// Errors: it trapped (or a host function failed): the error, for the caller to report.
pub fn exit_status(result: wasmtime::Result<Result<(), ()>>) -> wasmtime::Result<i32> {
    match result {
        Ok(Ok(())) => Ok(0),
        Ok(Err(())) => Ok(1),
        Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(e),
        },
    }
}

/// The export `name` of `component` names, for an `--invoke` call: a function of the
/// component itself (`tally`), one of an exported interface by its full name with or without
/// the version (`acme:text/codec.stamp`), or by its name alone when only one exported
/// interface has it (`stamp`). Returns the exported interface (if any) and the function.
///
/// Errors: no such function, or more than one, in one line naming them.
fn find_export(
    engine: &Engine,
    component: &Component,
    name: &str,
) -> Result<(Option<String>, String)> {
    use wasmtime::component::types::ComponentItem;
    let ty = component.component_type();
    let mut found = Vec::new();
    let (wanted_iface, wanted_func) = match name.rsplit_once('.') {
        Some((i, f)) if i.contains('/') => (Some(i), f),
        _ => (None, name),
    };
    for (export, item) in ty.exports(engine) {
        match (&item.ty, wanted_iface) {
            (ComponentItem::ComponentFunc(_), None) if export == wanted_func => {
                found.push((None, export.to_string()));
            }
            (ComponentItem::ComponentInstance(inst), _) => {
                let unversioned = export.split_once('@').map_or(export, |(i, _)| i);
                if wanted_iface.is_some_and(|w| w != export && w != unversioned) {
                    continue;
                }
                for (f, item) in inst.exports(engine) {
                    if f == wanted_func && matches!(item.ty, ComponentItem::ComponentFunc(_)) {
                        found.push((Some(export.to_string()), f.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(anyhow!("the component exports no function `{name}`")),
        _ => {
            let names: Vec<String> = found
                .iter()
                .map(|(i, f)| format!("{}.{f}", i.as_deref().unwrap_or_default()))
                .collect();
            Err(anyhow!(
                "`{name}` is ambiguous: the component exports {}; name its interface",
                names.join(" and ")
            ))
        }
    }
}

/// The function `name` that `instance` exports, of its exported interface `iface` or, for
/// `None`, of the component itself; `None` when there is no such function.
pub fn exported_func(
    instance: &wasmtime::component::Instance,
    mut store: impl wasmtime::AsContextMut,
    iface: Option<&str>,
    name: &str,
) -> Option<wasmtime::component::Func> {
    let parent = match iface {
        Some(i) => Some(instance.get_export_index(&mut store, None, i)?),
        None => None,
    };
    let index = instance.get_export_index(&mut store, parent.as_ref(), name)?;
    instance.get_func(&mut store, index)
}

/// Makes the calls `calls` (see [`RunOptions::invoke`]) of `component`'s exports on one
/// instance, printing each call's results in WAVE, one per line, as `wasmtime run --invoke`
/// does. Returns 0, or [`TRAP_EXIT_CODE`] after a trap (the calls after it are not made).
///
/// Errors: a call that does not parse or names no export, or arguments that do not fit the
/// function's parameters (before any call is made); the component cannot be instantiated.
async fn invoke(
    store: &mut Store<Host>,
    component: &Component,
    linker: &Linker<Host>,
    calls: &[String],
) -> Result<i32> {
    use wasmtime::component::wasm_wave::untyped::UntypedFuncCall;
    use wasmtime::component::{Type, Val};
    let engine = store.engine().clone();
    let instance = context(
        linker.instantiate_async(&mut *store, component).await,
        || "cannot instantiate the component".into(),
    )?;
    // Every call is checked before the first is made.
    let mut prepared = Vec::new();
    for call in calls {
        let bad = |e: &dyn std::fmt::Display| anyhow!("--invoke `{call}`: {e}");
        let parsed = UntypedFuncCall::parse(call).map_err(|e| bad(&e))?;
        let (iface, name) = find_export(&engine, component, parsed.name()).map_err(|e| bad(&e))?;
        let func = exported_func(&instance, &mut *store, iface.as_deref(), &name)
            .ok_or_else(|| bad(&"the export is not a function"))?;
        let ty = func.ty(&*store);
        let types: Vec<Type> = ty.params().map(|(_, t)| t).collect();
        let params: Vec<Val> = parsed.to_wasm_params(types.iter()).map_err(|e| bad(&e))?;
        let results = vec![Val::Bool(false); ty.results().len()];
        prepared.push((func, params, results));
    }
    for (func, params, mut results) in prepared {
        if let Err(e) = func.call_async(&mut *store, &params, &mut results).await {
            if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                return Ok(exit.0);
            }
            eprintln!("Error: {e:?}");
            return Ok(TRAP_EXIT_CODE);
        }
        for r in &results {
            let text = wasmtime::component::wasm_wave::to_string(r)
                .map_err(|e| anyhow!("cannot print a result: {e}"))?;
            println!("{text}");
        }
    }
    Ok(0)
}
