//! `wasm-rr`: record and replay WebAssembly components (WASI 0.2) by composition.
//!
//! A thin CLI over `wasm-rr-composer` (wrapping), `wasm-rr-trace` (the trace format) and an
//! embedded wasmtime ([`runtime`]). Every failure is one line on stderr, `wasm-rr: error: …`,
//! naming the file and the problem, and a non-zero exit status.

mod cache;
mod components;
mod debug;
mod diff;
mod files;
mod regress;
mod runtime;
mod view;
mod watch;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand};
use files::Format;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasm_rr_composer::{wrap_record, wrap_replay_answering, wrap_replay_open};
use wasm_rr_trace::protocol::{DEFAULT_TRACE_FILE as TRACE_FILE, RESERVED_ENV_PREFIX, TRACE_DIR};
use wasm_rr_trace::redact::{Redacted, Redactor};
/// The stem of the default trace file of `record` and `replay`.
const DEFAULT_TRACE_STEM: &str = "wasm-rr-trace";

#[derive(Parser)]
#[command(
    name = "wasm-rr",
    version,
    about = "Record and replay WebAssembly components (WASI 0.2)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write the recording component (or, with --replay, the self-replaying one) for APP.
    Wrap {
        /// The guest component.
        app: PathBuf,
        /// Where to write the wrapped component.
        #[arg(short, long)]
        output: PathBuf,
        /// Embed this trace and write a self-replaying component instead.
        #[arg(long, value_name = "TRACE")]
        replay: Option<PathBuf>,
        /// With --replay of a WASI 0.3 HTTP service's trace (one instance's requests): replay
        /// its history up to request K (from 1, as `show --requests` numbers them) and stop
        /// once the app has answered it.
        #[arg(long, value_name = "K", requires = "replay")]
        request: Option<u32>,
        /// Make the recording component compress each block of the trace it writes with zstd
        /// (smaller traces, slower recording; `wasm-rr` reads both).
        #[arg(long, conflicts_with = "replay")]
        compress: bool,
        /// Compose COMPONENT into the recording component to provide interfaces the app
        /// imports outside WASI's core (a platform's host API, `wasi:logging`) in place of the
        /// host; its calls are recorded, and the replay runs without it. Repeatable.
        #[arg(long, value_name = "COMPONENT", conflicts_with = "replay")]
        plug: Vec<PathBuf>,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Run APP on the embedded wasmtime and record a trace.
    Record {
        /// The guest component.
        app: PathBuf,
        /// Trace file to write [default: wasm-rr-trace.cbor, or .json with --format json].
        #[arg(short, long, value_name = "TRACE")]
        trace: Option<PathBuf>,
        /// Trace encoding [default: from the trace file's extension, else cbor].
        #[arg(long, value_enum)]
        format: Option<Format>,
        #[command(flatten)]
        guest: GuestArgs,
        /// Keep the trace's blocks as the recorder wrote them, uncompressed (by default the
        /// trace is compressed with zstd when the run ends).
        #[arg(long)]
        no_compress: bool,
        /// Start the guest's wall clock at SECONDS since the Unix epoch (it then advances in
        /// real time). Handy to record a time-dependent bug on demand.
        #[arg(long, value_name = "SECONDS")]
        wall_clock: Option<u64>,
        #[command(flatten)]
        redact: RecordRedactArgs,
        #[command(flatten)]
        output: OutputArgs,
        /// For a library component (one that exports functions but no `wasi:cli/run`): call
        /// this export, in WAVE, as `wasmtime run --invoke` does (`'stamp("hello")'`,
        /// `'acme:text/codec.stamp("hello")'`), and print its results. Repeat it to make
        /// several calls on one instance, in order; all are recorded.
        #[arg(long, value_name = "CALL")]
        invoke: Vec<String>,
        /// Arguments for the guest (after `--`).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Serve HTTP with APP (a `wasi:http/proxy` handler or a WASI 0.3 service) on the embedded
    /// wasmtime, like `wasmtime serve`, recording one trace per request (a 0.3 service: one
    /// per instance, holding every request it served). Outgoing HTTP is always on.
    Serve {
        /// The guest component (it exports `wasi:http/incoming-handler` or
        /// `wasi:http/handler@0.3`).
        app: PathBuf,
        /// Socket address to listen on (port 0: any free port, printed at start).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Directory for the traces: one per request, named `req-<wall-clock ns>-<tag>.cbor`
        /// (a 0.3 service: one per instance, `inst-<wall-clock ns>-<tag>.cbor`), so that `ls`
        /// lists them by arrival.
        #[arg(
            short = 't',
            long = "trace-dir",
            value_name = "DIR",
            default_value = "."
        )]
        trace_dir: PathBuf,
        /// A WASI 0.3 service's instance serves N requests in all, then is dropped (as
        /// `wasmtime serve`'s flag; default 128). 0.2 handlers serve one each.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        max_instance_reuse_count: Option<u32>,
        /// A WASI 0.3 service's instance serves at most N requests at once (as `wasmtime
        /// serve`'s flag; default 16).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        max_instance_concurrent_reuse_count: Option<u32>,
        #[command(flatten)]
        guest: GuestArgs,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Replay TRACE against APP on the embedded wasmtime (no stdin, env or args needed).
    Replay {
        /// The guest component the trace was recorded from.
        app: PathBuf,
        /// The trace [default: wasm-rr-trace.cbor, then wasm-rr-trace.json].
        trace: Option<PathBuf>,
        /// For a WASI 0.3 HTTP service's trace (one instance's requests): replay its history
        /// up to request K (from 1, as `show --requests` numbers them), stop once the app has
        /// answered it, and print that response (its status on stderr, its body on stdout).
        #[arg(long, value_name = "K")]
        request: Option<u32>,
        #[command(flatten)]
        watch: WatchArgs,
    },
    /// Debug the replay of TRACE in a source debugger: starts lldb (lldb-19 or lldb; it shows
    /// Rust locals) or gdb, whichever is found, on `wasm-rr replay` with wasmtime compiling the
    /// app unoptimised with its DWARF, so breakpoints in the app's source are hit in the
    /// recorded run (the app must be built with debug info).
    Debug {
        /// The guest component the trace was recorded from.
        app: PathBuf,
        /// The trace [default: wasm-rr-trace.cbor, then wasm-rr-trace.json].
        trace: Option<PathBuf>,
        /// The debugger to start [default: lldb if found, else gdb].
        #[arg(long, value_enum)]
        debugger: Option<debug::Debugger>,
        /// Stop while event N (the #N of `show`) is replayed, with the app's call that made it
        /// on the stack (`bt` lists the frames, `up` reaches the app's); without
        /// DEBUGGER-ARGS the replay starts at once.
        #[arg(long, value_name = "N")]
        event: Option<u64>,
        /// Arguments for the debugger, after wasm-rr's own setup commands (e.g. `-- -batch -ex
        /// 'break main.rs:60' -ex run -ex bt` for gdb).
        #[arg(last = true, value_name = "DEBUGGER-ARGS")]
        debugger_args: Vec<String>,
    },
    /// Convert a trace between CBOR and JSON (formats chosen by extension).
    Convert {
        /// The trace to read.
        input: PathBuf,
        /// The trace to write (.cbor or .json).
        output: PathBuf,
    },
    /// Print a trace's header and events, one event per line (or, with --summary, what the run
    /// did, in one screen; with --http, --files or --net, that subject in full).
    #[command(group(clap::ArgGroup::new("view").args(["summary", "http", "files", "net", "requests"])))]
    Show {
        /// The trace.
        trace: PathBuf,
        /// Print a summary instead: the app, the run's duration and end, events and bytes per
        /// interface, files, connections, HTTP, stdio and the trace's size.
        #[arg(long)]
        summary: bool,
        /// Print the HTTP exchanges instead, each in full: when it started and was answered
        /// (event numbers, the app's monotonic clock), the headers, and the first KiB of the
        /// response body (-v: the first MiB).
        #[arg(long)]
        http: bool,
        /// Print the files the app opened, read or wrote instead: for each, the bytes read and
        /// written, in how many calls, and the events it was used between.
        #[arg(long)]
        files: bool,
        /// Print the connections instead: for each, the address, the bytes each way, in how
        /// many calls, and the events it was used between.
        #[arg(long)]
        net: bool,
        /// Print the requests a WASI 0.3 HTTP service's instance served instead (its trace
        /// holds them all): for each, its number, the events it spans, its method and path
        /// (when the app asked), the response's status and body (the first KiB; -v: MiB).
        #[arg(long)]
        requests: bool,
        /// Print what the app wrote to STREAM instead (`stdout`, `stderr`, or a stream's
        /// number, as `show` names it), as the trace keeps it: the bytes, unchanged.
        #[arg(long, value_name = "STREAM", value_parser = parse_stream)]
        output: Option<wasm_rr_trace::StreamId>,
        /// Only the events (or with --http, --files or --net, what) containing TEXT.
        #[arg(long, value_name = "TEXT")]
        grep: Option<String>,
        /// Only events #N and later (or with --http, --files or --net, what was used at event
        /// N or later).
        #[arg(long, value_name = "N")]
        from: Option<u64>,
        /// Only events #M and earlier (or with --http, --files or --net, what was used at event
        /// M or earlier).
        #[arg(long, value_name = "M")]
        to: Option<u64>,
        /// With --http or --requests: more of each body.
        #[arg(short, long)]
        verbose: bool,
        /// Print JSON, for scripts: the summary or the view as one JSON document, or the header
        /// and then each event as JSON lines (`{"event": N, "call": …, "answer": …}`).
        #[arg(long)]
        json: bool,
    },
    /// Write a trace's timeline as one self-contained HTML page (no network needed to open it):
    /// events as marks in their interface's lane (counted in buckets when zoomed out), HTTP
    /// exchanges, files and connections as spans, the app's monotonic clock as time ticks;
    /// clicking a mark shows its call and answer and its number (#N, as `show` prints it).
    View {
        /// The trace (binary or JSON).
        trace: PathBuf,
        /// The page to write [default: TRACE with the extension .html].
        #[arg(short, long, value_name = "PAGE")]
        output: Option<PathBuf>,
        /// The first event in the page.
        #[arg(long, value_name = "N", default_value_t = 0)]
        from: u64,
        /// The last event in the page [default: the last, or the 10,000,000th from --from].
        #[arg(long, value_name = "M")]
        to: Option<u64>,
        /// How many bytes of the events' calls and answers, as text, the page holds (the first
        /// events' until it is spent; a click on a later one says how to print it).
        #[arg(long, value_name = "BYTES", default_value_t = wasm_rr_trace::timeline::DEFAULT_TEXT_BUDGET)]
        text_bytes: usize,
    },
    /// Compare two traces of one component (a good run and a bad one): prints the first
    /// difference (both events, and the events alike before it) and how many events of each
    /// interface only one of them has. The event sequences are aligned, so one extra event
    /// shows as one. Where both keep what the app wrote, stdout and stderr that differ follow
    /// as a unified diff. Exits 0 when they are the same, 1 when they differ, 2 on bad input.
    Diff {
        /// The first trace (binary or JSON).
        a: PathBuf,
        /// The second trace, of the same component.
        b: PathBuf,
        /// Leave out events of this interface (`wasi:clocks`, `wasi:io`, `stdout`, or the start
        /// of a call, `wasi:random/insecure`); repeatable.
        #[arg(long, value_name = "IFACE")]
        ignore: Vec<String>,
    },
    /// Test a component (a newer build, say) against recorded traces: each trace's inputs (the
    /// request or arguments, environment, stdin, clocks, random values) go to APP, its
    /// outgoing HTTP requests are answered from the recorded ones, and what it produces
    /// (response, stdout, stderr, exit status, requests) is compared with the recording,
    /// leaving out what the rules file says. One line per trace, the differences of those
    /// that fail, and `N passed, M failed`. Exits 0 when all pass, 1 when one fails, 2 on bad
    /// input.
    Test {
        /// The component to test, as built (not wrapped): a command or a wasi:http handler.
        app: PathBuf,
        /// Traces (binary or JSON) and directories of traces (their *.cbor and *.json files).
        #[arg(required = true, value_name = "TRACE")]
        traces: Vec<PathBuf>,
        /// The noise rules (TOML) [default: wasm-rr-test.toml in each trace's directory, when
        /// there is one].
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
        /// Also write a JUnit XML report here.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Take what APP produces now as what each trace expects (written beside it as
        /// TRACE.expected.json; the trace itself, its inputs, is left as it is).
        #[arg(long)]
        update: bool,
        /// How many traces to test at once [default: the number of cores].
        #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        jobs: Option<u32>,
        /// Stop a trace's run after this many seconds, failing it (an app that waits for a
        /// clock the test holds still, say).
        #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
        timeout: u64,
    },
    /// Take secrets out of a trace before sharing it: the values of the environment variables,
    /// HTTP headers and files named are replaced by `*`s of the same length (the headers
    /// authorization, cookie and set-cookie always, unless --keep-default-headers). The trace
    /// still replays: a redacted header the app sends matches any value.
    Redact {
        /// The trace to redact (binary or JSON).
        trace: PathBuf,
        /// Where to write the redacted trace (.cbor or .json; may be TRACE itself).
        #[arg(short, long, value_name = "SHAREABLE")]
        output: PathBuf,
        /// Redact this environment variable's value (case-sensitive).
        #[arg(long = "env", value_name = "NAME")]
        envs: Vec<String>,
        /// Redact this HTTP header's values (any case), sent or received.
        #[arg(long = "header", value_name = "NAME")]
        headers: Vec<String>,
        /// Redact what the app read from this file, or from every file below this directory
        /// (a path as the app saw it, e.g. /data/key.pem).
        #[arg(long = "file", value_name = "GUEST-PATH")]
        files: Vec<String>,
        /// Do not redact authorization, cookie and set-cookie unless named with --header.
        #[arg(long)]
        keep_default_headers: bool,
    },
}

/// What `record` takes out of the trace as it saves it (see `wasm-rr redact`).
#[derive(clap::Args)]
struct RecordRedactArgs {
    /// Redact this environment variable's value in the trace (see `wasm-rr redact`).
    #[arg(long = "redact-env", value_name = "NAME")]
    redact_envs: Vec<String>,
    /// Redact this HTTP header's values in the trace (any case).
    #[arg(long = "redact-header", value_name = "NAME")]
    redact_headers: Vec<String>,
    /// Redact what the app read from this file, or from every file below this directory.
    #[arg(long = "redact-file", value_name = "GUEST-PATH")]
    redact_files: Vec<String>,
}

/// The redaction items of `--env`, `--header` and `--file` values.
fn redactions(envs: &[String], headers: &[String], files: &[String]) -> Vec<Redacted> {
    envs.iter()
        .map(|n| Redacted::Env(n.clone()))
        .chain(headers.iter().map(|n| Redacted::header(n)))
        .chain(files.iter().map(|p| Redacted::file(p)))
        .collect()
}

/// Which runs or requests a recording component records, and how full its trace directory may
/// get (`wrap`, `serve`); see [`wasm_rr_trace::RecordPolicy`].
#[derive(clap::Args)]
struct PolicyArgs {
    /// Record one run (under `wasmtime serve`: one request) in N, chosen at random; the others
    /// pass through unrecorded and write no trace [default: 1, every one].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    sample: Option<u32>,
    /// Cap on the number of traces (`*.cbor` files) in the trace directory, checked when a
    /// run or request starts (see --when-full).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_traces: Option<u64>,
    /// Cap on the bytes of the traces in the trace directory (e.g. 500MiB, 2GiB, or a number
    /// of bytes), checked when a run or request starts: a trace under way may take the
    /// directory past it by its own size.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_trace_bytes: Option<u64>,
    /// What a run or request does when the trace directory is at a cap: `pause` (it passes
    /// through unrecorded; a warning says so once) or `rotate` (the oldest traces are removed).
    #[arg(long, value_enum, default_value = "pause", value_name = "WHAT")]
    when_full: WhenFullArg,
    #[command(flatten)]
    output: OutputArgs,
}

/// How much of what the app writes a trace keeps (`wrap`, `record`, `serve`).
#[derive(clap::Args)]
struct OutputArgs {
    /// How many bytes of what the app writes (stdout, stderr, files, sockets, HTTP bodies) the
    /// trace keeps per stream, for `show`, `diff` and tests: `all`, `none`, or a size (e.g.
    /// 64KiB); the hash of every write covers the rest [default: 1MiB].
    #[arg(long, value_name = "all|none|SIZE", value_parser = parse_output_bytes)]
    output_bytes: Option<u64>,
}

impl OutputArgs {
    /// `--output-bytes` in bytes (`u64::MAX` for all).
    fn bytes(&self) -> u64 {
        self.output_bytes
            .unwrap_or(wasm_rr_trace::DEFAULT_OUTPUT_BYTES)
    }
}

/// What a recording component does without `wrap`'s policy flags: records every run, keeps
/// the first [`wasm_rr_trace::DEFAULT_OUTPUT_BYTES`] of each output stream.
fn default_policy() -> wasm_rr_trace::RecordPolicy {
    wasm_rr_trace::RecordPolicy {
        output_bytes: wasm_rr_trace::DEFAULT_OUTPUT_BYTES,
        ..Default::default()
    }
}

/// `--output-bytes`: `all` (`u64::MAX`), `none` (0) or a size.
fn parse_output_bytes(text: &str) -> std::result::Result<u64, String> {
    match text {
        "all" => Ok(u64::MAX),
        "none" => Ok(0),
        _ => parse_size(text).map_err(|e| format!("{e}; or `all`, or `none`")),
    }
}

/// `--when-full`'s values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum WhenFullArg {
    Pause,
    Rotate,
}

impl PolicyArgs {
    fn policy(&self) -> wasm_rr_trace::RecordPolicy {
        wasm_rr_trace::RecordPolicy {
            sample: self.sample.unwrap_or(0),
            max_traces: self.max_traces,
            max_trace_bytes: self.max_trace_bytes,
            when_full: match self.when_full {
                WhenFullArg::Pause => wasm_rr_trace::WhenFull::Pause,
                WhenFullArg::Rotate => wasm_rr_trace::WhenFull::Rotate,
            },
            output_bytes: self.output.bytes(),
        }
    }
}

/// A size in bytes, as `bytesize` reads it (`4096`, `500MiB`, `2GiB`, `1.5 GB`); at least 1.
fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let size = text
        .parse::<bytesize::ByteSize>()
        .map_err(|e| format!("{e} (sizes look like 4096, 500MiB or 2GiB)"))?
        .as_u64();
    if size == 0 {
        return Err("the size must be at least 1 byte".into());
    }
    Ok(size)
}

/// What the guest is given on the embedded host (`record`, `serve`), as `wasmtime` takes it.
#[derive(clap::Args)]
struct GuestArgs {
    /// Preopen a host directory for the guest: HOST::GUEST (or DIR for DIR::DIR).
    #[arg(long = "dir", value_name = "HOST::GUEST")]
    dirs: Vec<String>,
    /// Set an environment variable for the guest: KEY=VALUE.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    envs: Vec<String>,
    /// WASI options, as `wasmtime run` takes them: network access (`inherit-network`: every
    /// address, TCP and UDP on; `allow-ip-name-lookup`, `tcp`, `udp`), each with `=y` or `=n`
    /// (default y), and the values of interfaces beyond WASI's core (`config-var=KEY=VALUE`
    /// for `wasi:config`, `keyvalue-in-memory-data=KEY=VALUE` for the in-memory
    /// `wasi:keyvalue`; `config` and `keyvalue` are accepted, both are always served);
    /// comma-separated or repeated. Without any, the guest has no network.
    #[arg(short = 'S', value_name = "OPTION[=VALUE]")]
    wasi: Vec<String>,
    /// Compose COMPONENT in to provide interfaces the app imports outside WASI's core in place
    /// of the host, as `wrap --plug` does. Repeatable.
    #[arg(long = "plug", value_name = "COMPONENT")]
    plugs: Vec<PathBuf>,
}

impl GuestArgs {
    /// The guest's run options: these directories, variables and network, the arguments
    /// `args` (program name first), and `trace_dir` preopened at [`TRACE_DIR`].
    ///
    /// Errors: a bad `--dir`, `--env` or `-S`, each named.
    fn run_options(&self, args: Vec<String>, trace_dir: &Path) -> Result<runtime::RunOptions> {
        let mut dirs: Vec<(PathBuf, String)> = self
            .dirs
            .iter()
            .map(|d| parse_dir(d))
            .collect::<Result<_>>()?;
        dirs.push((trace_dir.to_path_buf(), TRACE_DIR.to_string()));
        Ok(runtime::RunOptions {
            args,
            envs: self
                .envs
                .iter()
                .map(|e| parse_env(e))
                .collect::<Result<_>>()?,
            dirs,
            network: parse_network(&self.wasi)?,
            config_vars: parse_pairs(&self.wasi, "config-var")?,
            keyvalue_data: parse_pairs(&self.wasi, "keyvalue-in-memory-data")?,
            ..Default::default()
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("wasm-rr: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(command: Command) -> Result<i32> {
    match command {
        Command::Wrap {
            app,
            output,
            replay,
            request,
            compress,
            plug,
            policy,
        } => {
            let set = policy.output.output_bytes.is_some();
            let policy = policy.policy();
            if replay.is_some() && (policy != default_policy() || set) {
                bail!(
                    "--sample, --max-traces, --max-trace-bytes, --when-full and --output-bytes are for recording components, not with --replay"
                );
            }
            // With --request, the trace cut after that request's answer (a temporary file),
            // and the response the component prints at the end.
            let prefix = match (&replay, request) {
                (Some(trace), Some(k)) => {
                    let input = files::TraceInput::open(trace)?;
                    input.scan(trace)?;
                    Some(files::request_prefix(trace, &input, k, ANSWER_BYTES)?)
                }
                _ => None,
            };
            let answer = prefix.as_ref().map(|(_, served)| wasm_rr_composer::Answer {
                line: served.line(),
                body: served.body.clone(),
            });
            let replay = prefix.as_ref().map(|p| p.0.path()).or(replay.as_deref());
            wrap(&app, &output, replay, answer, compress, &plug, &policy)
        }
        Command::Record {
            app,
            trace,
            format,
            guest,
            no_compress,
            wall_clock,
            redact,
            output,
            invoke,
            args,
        } => record(
            &app,
            RecordOptions {
                trace,
                format,
                guest: &guest,
                compress: !no_compress,
                wall_clock_start: wall_clock.map(Duration::from_secs),
                redact: redactions(
                    &redact.redact_envs,
                    &redact.redact_headers,
                    &redact.redact_files,
                ),
                invoke,
                output_bytes: output.bytes(),
            },
            args,
        ),
        Command::Serve {
            app,
            addr,
            trace_dir,
            max_instance_reuse_count,
            max_instance_concurrent_reuse_count,
            guest,
            policy,
        } => serve(
            &app,
            addr,
            &trace_dir,
            [
                max_instance_reuse_count,
                max_instance_concurrent_reuse_count,
            ],
            &guest,
            &policy.policy(),
        ),
        Command::Replay {
            app,
            trace,
            request,
            watch,
        } => replay(&app, trace, request, &watch),
        Command::Debug {
            app,
            trace,
            debugger,
            event,
            debugger_args,
        } => {
            let trace = trace_or_default(trace)?;
            let request = debug::DebugRequest {
                app: &app,
                trace: &trace,
                debugger,
                event,
                args: &debugger_args,
            };
            debug::debug(&request, || {
                let replay = Replay::prepare(&app, &trace)?;
                if let Some(n) = event {
                    check_event(&trace, "--event", n, replay.events)?;
                }
                Ok(())
            })
        }
        Command::Convert { input, output } => convert(&input, &output),
        Command::Show {
            trace,
            summary,
            http,
            files,
            net,
            requests,
            output,
            grep,
            from,
            to,
            verbose,
            json,
        } => {
            if let Some(stream) = output {
                return show_output(&trace, stream);
            }
            let filter = ViewFilter {
                grep,
                from: from.unwrap_or(0),
                to: to.unwrap_or(u64::MAX),
                body_limit: if verbose { 1024 * 1024 } else { 1024 },
                json,
            };
            if summary {
                show_summary(&trace, json)
            } else if requests {
                show_requests(&trace, &filter)
            } else if http {
                show_http(&trace, &filter)
            } else if files || net {
                show_activity(&trace, files, &filter)
            } else {
                show(&trace, &filter)
            }
        }
        Command::View {
            trace,
            output,
            from,
            to,
            text_bytes,
        } => {
            let output = output.unwrap_or_else(|| trace.with_extension("html"));
            view(&trace, &output, from, to, text_bytes)
        }
        Command::Diff { a, b, ignore } => diff::diff(&a, &b, &ignore),
        Command::Test {
            app,
            traces,
            rules,
            junit,
            update,
            jobs,
            timeout,
        } => regress::test(&regress::TestOptions {
            app,
            traces,
            rules,
            junit,
            update,
            jobs: jobs.map_or_else(
                || std::thread::available_parallelism().map_or(1, |n| n.get()),
                |j| j as usize,
            ),
            timeout: Duration::from_secs(timeout),
        }),
        Command::Redact {
            trace,
            output,
            envs,
            headers,
            files,
            keep_default_headers,
        } => {
            let mut items = redactions(&envs, &headers, &files);
            if !keep_default_headers {
                items.extend(
                    wasm_rr_trace::redact::DEFAULT_HEADERS
                        .iter()
                        .map(|h| Redacted::header(h)),
                );
            }
            redact(&trace, &output, &items)
        }
    }
}

/// Reads the guest component; the error names the file.
fn read_app(app: &Path) -> Result<Vec<u8>> {
    files::read(app)
}

fn wrap_err(app: &Path) -> impl FnOnce(wasm_rr_composer::WrapError) -> anyhow::Error + '_ {
    move |e| anyhow!("cannot wrap {}: {e}", app.display())
}

/// [`wrap_err`], naming the plug (one of `plugs`) that provides nothing the app needs.
fn plug_err<'a>(
    app: &'a Path,
    plugs: &'a [PathBuf],
) -> impl FnOnce(wasm_rr_composer::WrapError) -> anyhow::Error + 'a {
    move |e| match e {
        wasm_rr_composer::WrapError::UselessPlug { index, wanted } => anyhow!(
            "cannot plug {} into {}: it exports none of the interfaces the app imports outside WASI's core ({wanted})",
            plugs[index - 1].display(),
            app.display()
        ),
        e => wrap_err(app)(e),
    }
}

/// The components given with `--plug`, each read and validated; the error names the file.
fn read_plugs(plugs: &[PathBuf]) -> Result<Vec<Vec<u8>>> {
    plugs
        .iter()
        .map(|plug| {
            let bytes = files::read(plug)?;
            wasm_rr_composer::validate(&bytes)
                .map_err(|e| anyhow!("cannot plug in {}: {e}", plug.display()))?;
            Ok(bytes)
        })
        .collect()
}

/// `wasm-rr wrap`: the recording component, or with `replay` the self-replaying one (printing
/// `answer` at the end, with `--request`).
fn wrap(
    app: &Path,
    output: &Path,
    replay: Option<&Path>,
    answer: Option<wasm_rr_composer::Answer>,
    compress: bool,
    plugs: &[PathBuf],
    policy: &wasm_rr_trace::RecordPolicy,
) -> Result<i32> {
    let (bytes, what) = match replay {
        Some(trace_path) => (
            self_replaying(app, trace_path, answer)?,
            "self-replaying component: `wasmtime run` it with no flags".to_string(),
        ),
        None => {
            let guest = read_app(app)?;
            let plugged = read_plugs(plugs)?;
            let (bytes, generic) = wrap_record(
                &guest,
                &components::interposers(),
                compress,
                policy.clone(),
                &plugged,
            )
            .map_err(plug_err(app, plugs))?;
            // wrap_record validated the guest: no need to again.
            let (http, handler, library, service) =
                wasm_rr_composer::component_world_unchecked(&guest)
                    .map(|(imports, exports)| {
                        (
                            wasm_rr_composer::imports_http(&imports),
                            wasm_rr_composer::is_http_handler(&exports),
                            wasm_rr_composer::is_library(&exports),
                            wasm_rr_composer::service_version(&exports).is_some(),
                        )
                    })
                    .unwrap_or((false, false, false, false));
            // What the plugs provide needs no flag.
            let provided: Vec<String> = plugged
                .iter()
                .filter_map(|p| wasm_rr_composer::component_world_unchecked(p).ok())
                .flat_map(|(_, exports)| exports)
                .collect();
            let from_host: Vec<String> = generic
                .interfaces
                .iter()
                .filter(|i| {
                    !provided.iter().any(|e| {
                        wasm_rr_composer::split_version(e).0 == wasm_rr_composer::split_version(i).0
                    })
                })
                // wasm-rr's own (a service's requests) come from within; `wasmtime serve`
                // provides `wasi:http` itself.
                .filter(|i| {
                    let own = i.starts_with("wasm-rr:");
                    let served = service && i.starts_with("wasi:http/");
                    !(own || served)
                })
                .cloned()
                .collect();
            let (flags, unserved) = stock_flags(&from_host);
            let flags: String = flags.iter().map(|f| format!("{f} ")).collect();
            let how = if service {
                format!(
                    "serve it with `wasmtime serve -Scli {flags}--dir <trace-dir>::/wasm-rr`; every instance writes one trace of the requests it serves"
                )
            } else if handler {
                format!(
                    "serve it with `wasmtime serve -Scli {flags}--dir <trace-dir>::/wasm-rr`; every request writes its own trace"
                )
            } else if library {
                let http = if http { "-S http " } else { "" };
                format!(
                    "call one of its exports with `wasmtime run {http}{flags}--dir <trace-dir>::/wasm-rr --invoke 'FUNCTION(ARGS)'`, or several with `wasm-rr record --invoke … --invoke …`"
                )
            } else if http {
                format!("run it with `wasmtime run -S http {flags}--dir <trace-dir>::/wasm-rr`")
            } else {
                format!("run it with `wasmtime run {flags}--dir <trace-dir>::/wasm-rr`")
            };
            let exported: Vec<String> = generic
                .functions
                .iter()
                .filter(|f| f.export)
                .map(|f| f.qualified_name())
                .collect();
            if !exported.is_empty() {
                eprintln!(
                    "wasm-rr: a library component: every call of its exports is recorded ({})",
                    exported.join(", ")
                );
            }
            if !generic.interfaces.is_empty() {
                let list: Vec<String> = generic
                    .interfaces
                    .iter()
                    .filter(|i| !i.starts_with("wasm-rr:"))
                    .map(|i| {
                        let n = generic
                            .functions
                            .iter()
                            .filter(|f| &f.interface == i)
                            .count();
                        format!("{i} ({n} function{})", if n == 1 { "" } else { "s" })
                    })
                    .collect();
                eprintln!(
                    "wasm-rr: recorded from their WIT alone (the generic path): {}",
                    list.join(", ")
                );
            }
            if !unserved.is_empty() {
                eprintln!(
                    "wasm-rr: note: no stock wasmtime flag provides {}: give a component that exports {} with `--plug COMPONENT` (or compose one in with `wac plug`); the replay needs none",
                    unserved.join(", "),
                    if unserved.len() == 1 { "it" } else { "them" }
                );
            }
            (bytes, format!("recording component: {how}"))
        }
    };
    if wasm_rr_composer::uses_async_abi(&bytes) {
        eprintln!(
            "wasm-rr: note: {} uses the component model's async ABI: run it with wasmtime's default settings (not `-S p3=n -W concurrency-support=n`, which cannot run it)",
            app.display()
        );
    }
    wasm_rr_composer::validate(&bytes).map_err(|e| {
        anyhow!(
            "internal error: the wrapped component for {} is invalid: {e}",
            app.display()
        )
    })?;
    files::write_atomic(output, &bytes)?;
    eprintln!("wasm-rr: wrote {} ({what})", output.display());
    Ok(0)
}

/// The `wasmtime run` flags that provide the generic path's `interfaces` (`-S config` for
/// `wasi:config`, `-S keyvalue` for `wasi:keyvalue`, none for WASI 0.3's), and the interfaces
/// no flag provides.
fn stock_flags(interfaces: &[String]) -> (Vec<&'static str>, Vec<String>) {
    let mut flags = Vec::new();
    let mut unserved = Vec::new();
    for interface in interfaces {
        let flag = if wasm_rr_composer::is_wasi_p3(interface) {
            // WASI 0.3: served by default (`-S p3=n` turns it off).
            continue;
        } else if interface.starts_with("wasi:config/") {
            "-S config"
        } else if interface.starts_with("wasi:keyvalue/") {
            "-S keyvalue"
        } else {
            unserved.push(interface.clone());
            continue;
        };
        if !flags.contains(&flag) {
            flags.push(flag);
        }
    }
    (flags, unserved)
}

/// The self-replaying component for `app` and the trace at `trace_path` (`wrap --replay`);
/// it prints `answer` at the end (`wrap --replay --request K`).
fn self_replaying(
    app: &Path,
    trace_path: &Path,
    answer: Option<wasm_rr_composer::Answer>,
) -> Result<Vec<u8>> {
    let guest = read_app(app)?;
    // Read in place, block by block (checked whole first): only the packed trace and the
    // component that embeds it are held.
    let input = files::TraceInput::open(trace_path)?;
    input.scan(trace_path)?;
    wrap_replay_answering(&guest, &input, &components::interposers(), answer)
        .map_err(replay_err(app, trace_path))
}

/// What `wasm-rr replay` shows of the replay as it goes (issue: from a recorded failure to the
/// line of code behind it).
#[derive(clap::Args, Debug, Default)]
struct WatchArgs {
    /// Print each event on stderr as it is replayed, with the app's frame that made the call:
    /// function and file:line from the app's DWARF (or module offset without it), like
    /// `strace -k`. `--calls=wasi:random,wasi:clocks` prints only calls of interfaces starting
    /// with one of these.
    #[arg(
        long,
        value_name = "IFACE",
        num_args = 0..=1,
        require_equals = true,
        value_delimiter = ',',
        default_missing_value = ""
    )]
    calls: Option<Vec<String>>,
    /// With --calls: print the app's innermost frame that is its own code (`innermost`), or
    /// every frame of its stack (`all`).
    #[arg(long, value_name = "WHICH", requires = "calls", default_value = "innermost",
          value_parser = ["innermost", "all"])]
    frames: String,
    /// Replay events #0 to #N and stop: prints the event and the app's stack at that call, and
    /// exits 0.
    #[arg(long, value_name = "N")]
    until: Option<u64>,
    /// For `wasm-rr debug`: compile for a source debugger (DWARF for the JIT code, no
    /// optimisation).
    #[arg(long, hide = true)]
    debug_info: bool,
    /// For `wasm-rr debug --event N`: call `wasm_rr_event_breakpoint` while event N is
    /// replayed.
    #[arg(long, value_name = "N", hide = true)]
    break_at: Option<u64>,
}

impl WatchArgs {
    /// The watch these flags ask for, checked against the trace at `path` of `events` events.
    fn watch(&self, path: &Path, events: u64) -> Result<watch::Watch> {
        if let Some(n) = self.until {
            check_event(path, "--until", n, events)?;
        }
        if let Some(n) = self.break_at {
            check_event(path, "--event", n, events)?;
        }
        Ok(watch::Watch {
            calls: self
                .calls
                .as_ref()
                .map(|c| c.iter().filter(|f| !f.is_empty()).cloned().collect()),
            all_frames: self.frames == "all",
            until: self.until,
            breakpoint: self.break_at,
        })
    }
}

/// Refuses event `n` (given as `flag`) when the trace at `path` has no such event.
fn check_event(path: &Path, flag: &str, n: u64, events: u64) -> Result<()> {
    if n >= events {
        let range = match events {
            0 => "no events".to_string(),
            1 => "1 event, #0".to_string(),
            _ => format!("{events} events, #0 to #{}", events - 1),
        };
        bail!("{flag} {n}: {} has {range}", path.display());
    }
    Ok(())
}

fn replay_err<'a>(
    app: &'a Path,
    trace_path: &'a Path,
) -> impl FnOnce(wasm_rr_composer::WrapError) -> anyhow::Error + 'a {
    move |e| {
        anyhow!(
            "cannot replay {} with {}: {e}",
            trace_path.display(),
            app.display()
        )
    }
}

/// Parses `--dir HOST::GUEST` (or `DIR`, meaning `DIR::DIR`), as `wasmtime run` does.
fn parse_dir(spec: &str) -> Result<(PathBuf, String)> {
    let (host, guest) = spec.split_once("::").unwrap_or((spec, spec));
    if guest == TRACE_DIR || guest.starts_with(&format!("{TRACE_DIR}/")) {
        bail!("--dir {spec}: the guest path {TRACE_DIR} is reserved for the trace");
    }
    Ok((PathBuf::from(host), guest.to_string()))
}

/// Parses `--env KEY=VALUE` (or `KEY`, taking the value from this process, as wasmtime does).
fn parse_env(spec: &str) -> Result<(String, String)> {
    if spec.starts_with(RESERVED_ENV_PREFIX) {
        bail!(
            "--env {spec}: {RESERVED_ENV_PREFIX}* variables configure the recorder; name the trace with -t"
        );
    }
    match spec.split_once('=') {
        Some((k, v)) => Ok((k.to_string(), v.to_string())),
        None => std::env::var(spec)
            .map(|v| (spec.to_string(), v))
            .map_err(|_| anyhow!("--env {spec}: not KEY=VALUE, and {spec} is not set here")),
    }
}

/// The program name the guest sees as its first argument: the file name, like `wasmtime run`.
fn program_name(app: &Path) -> String {
    app.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| app.display().to_string())
}

/// Parses `-S` options (`inherit-network`, `allow-ip-name-lookup`, `tcp`, `udp`, each with an
/// optional `=y`/`=n`), as `wasmtime run` does.
fn parse_network(specs: &[String]) -> Result<runtime::NetworkOptions> {
    let mut net = runtime::NetworkOptions::default();
    for spec in specs.iter().flat_map(|s| s.split(',')) {
        let (name, value) = spec.split_once('=').unwrap_or((spec, "y"));
        if PAIR_OPTIONS.contains(&name) {
            continue;
        }
        let on = match value {
            "y" | "yes" | "true" => true,
            "n" | "no" | "false" => false,
            _ => bail!("-S {spec}: the value must be y or n"),
        };
        match name {
            "inherit-network" => net.inherit_network = on,
            "allow-ip-name-lookup" => net.allow_ip_name_lookup = Some(on),
            "tcp" => net.tcp = Some(on),
            "udp" => net.udp = Some(on),
            // Always served.
            "config" | "keyvalue" => {}
            _ => bail!(
                "-S {spec}: unknown option; wasm-rr record knows inherit-network, allow-ip-name-lookup, tcp, udp, config, config-var, keyvalue and keyvalue-in-memory-data"
            ),
        }
    }
    Ok(net)
}

/// The `-S` options whose value is a `KEY=VALUE` pair.
const PAIR_OPTIONS: &[&str] = &["config-var", "keyvalue-in-memory-data"];

/// The `KEY=VALUE` pairs of the `-S` option `option` (`-S config-var=seed=42`), in order.
///
/// Errors: a value that is not `KEY=VALUE`, named.
fn parse_pairs(specs: &[String], option: &str) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for spec in specs.iter().flat_map(|s| s.split(',')) {
        let Some((name, value)) = spec.split_once('=') else {
            continue;
        };
        if name != option {
            continue;
        }
        let Some((key, value)) = value.split_once('=') else {
            bail!("-S {spec}: the value must be KEY=VALUE");
        };
        pairs.push((key.to_string(), value.to_string()));
    }
    Ok(pairs)
}

/// Set by whichever saves the recorded trace first: the end of the run, or Ctrl-C.
static SAVING: AtomicBool = AtomicBool::new(false);

/// The options of `wasm-rr record`.
struct RecordOptions<'a> {
    trace: Option<PathBuf>,
    format: Option<Format>,
    guest: &'a GuestArgs,
    compress: bool,
    wall_clock_start: Option<Duration>,
    /// What to take out of the trace as it is saved.
    redact: Vec<Redacted>,
    /// A library component's export calls to make (`--invoke`).
    invoke: Vec<String>,
    /// How much of each output stream the trace keeps (`--output-bytes`).
    output_bytes: u64,
}

fn record(app: &Path, o: RecordOptions, args: Vec<String>) -> Result<i32> {
    let RecordOptions {
        trace,
        format,
        guest: guest_args,
        compress,
        wall_clock_start,
        redact,
        invoke,
        output_bytes,
    } = o;
    let format = format
        .or_else(|| trace.as_deref().and_then(Format::from_path))
        .unwrap_or(Format::Cbor);
    let trace_path = trace
        .unwrap_or_else(|| PathBuf::from(format!("{DEFAULT_TRACE_STEM}.{}", format.extension())));
    let guest = read_app(app)?;
    // Not validated here: the composition validates it (or was cached from a valid one).
    if let Ok((_, exports)) = wasm_rr_composer::component_world_unchecked(&guest) {
        if wasm_rr_composer::is_http_handler(&exports) {
            bail!(
                "{} is an HTTP handler (it exports wasi:http/incoming-handler): record it with `wasm-rr serve`",
                app.display()
            );
        }
        if let Some(v) = wasm_rr_composer::service_version(&exports) {
            bail!(
                "{} is a WASI 0.3 HTTP service (it exports wasi:http/handler@{v}): record it with `wasm-rr serve`",
                app.display()
            );
        }
        let library = wasm_rr_composer::is_library(&exports);
        if library && invoke.is_empty() && !exports.is_empty() {
            bail!(
                "{} is a library component (it exports no wasi:cli/run): say which of its exports to call with --invoke 'FUNCTION(ARGS)'",
                app.display()
            );
        }
        if !library && !invoke.is_empty() {
            bail!(
                "--invoke calls a library component's exports, but {} is a command (it exports wasi:cli/run): give its arguments after `--`",
                app.display()
            );
        }
    }
    let policy = wasm_rr_trace::RecordPolicy {
        output_bytes,
        ..Default::default()
    };
    let wrapped = recording_component(app, &guest, &policy, &guest_args.plugs)?;

    // The raw trace is written beside the trace it becomes: a path that cannot be written is
    // refused before the app runs, and a disk that fills up keeps the raw trace in place.
    if trace_path.is_dir() {
        bail!(
            "cannot write the trace {}: it is a directory",
            trace_path.display()
        );
    }
    let dest_dir = files::parent_dir(&trace_path);
    let cannot = |why: String| anyhow!("cannot write the trace {}: {why}", trace_path.display());
    match std::fs::metadata(&dest_dir) {
        Err(e) => return Err(cannot(format!("{}: {e}", dest_dir.display()))),
        Ok(m) if !m.is_dir() => {
            return Err(cannot(format!("{} is not a directory", dest_dir.display())));
        }
        Ok(_) => {}
    }
    let trace_dir = tempfile::Builder::new()
        .prefix(".wasm-rr-")
        .tempdir_in(&dest_dir)
        .map_err(|e| cannot(e.to_string()))?;
    let mut opts = guest_args.run_options(
        std::iter::once(program_name(app)).chain(args).collect(),
        trace_dir.path(),
    )?;
    opts.inherit_stdin = true;
    opts.wall_clock_start = wall_clock_start;
    opts.async_abi = wasm_rr_composer::uses_async_abi(&guest);
    opts.invoke = invoke;
    let raw = trace_dir.path().join(TRACE_FILE);

    // Ctrl-C: keep the trace so far. The recorder writes the trace out before every call that
    // may block, so an app waiting for input or sleeping has its whole trace on disk.
    // Only one of the handler and the end of the run saves the trace (see SAVING).
    let (partial_raw, partial_path) = (raw.clone(), trace_path.clone());
    let partial_redact = redact.clone();
    let partial_dir = trace_dir.path().to_path_buf();
    ctrlc::set_handler(move || {
        if SAVING.swap(true, Ordering::SeqCst) {
            // The run is over and its trace is being saved: let that finish.
            return;
        }
        let status = match keep_trace(
            &partial_raw,
            &partial_path,
            format,
            compress,
            &partial_redact,
        ) {
            Ok(events) => {
                eprintln!(
                    "wasm-rr: interrupted; kept the {events} events recorded so far in {}",
                    partial_path.display()
                );
                130
            }
            Err(e) => {
                eprintln!("wasm-rr: error: interrupted, and the trace could not be kept: {e:#}");
                2
            }
        };
        // `exit` runs no destructors: remove the raw trace's directory here.
        let _ = std::fs::remove_dir_all(&partial_dir);
        std::process::exit(status);
    })
    .context("cannot handle Ctrl-C")?;

    let code = runtime::run(&wrapped, &opts)?;
    if SAVING.swap(true, Ordering::SeqCst) {
        // Ctrl-C came first: the handler is saving the trace, and exits.
        loop {
            std::thread::park();
        }
    }

    if !raw.exists() {
        bail!(
            "{} produced no trace (it stopped before its first WASI call)",
            app.display()
        );
    }
    let events = match keep_trace(&raw, &trace_path, format, compress, &redact) {
        Ok(events) => events,
        Err(e) if format == Format::Cbor => {
            // Keep what was recorded as it is (a rename needs no space on a full disk), so
            // that it can be replayed or reported.
            if let Err(r) = std::fs::rename(&raw, &trace_path) {
                bail!(
                    "{e:#}; and the raw trace cannot be kept in {}: {r}",
                    trace_path.display()
                );
            }
            let scan = files::TraceInput::open(&trace_path)?.scan(&trace_path)?;
            let unredacted = if redact.is_empty() {
                ""
            } else {
                ", NOT redacted: run `wasm-rr redact` on it before sharing it"
            };
            eprintln!(
                "wasm-rr: warning: {}: cannot compress the trace ({}); kept it as it was recorded instead ({} events{unredacted})",
                trace_path.display(),
                e.root_cause(),
                scan.events
            );
            scan.events
        }
        Err(e) => return Err(e),
    };
    eprintln!(
        "wasm-rr: recorded {events} events to {} (exit status {code})",
        trace_path.display()
    );
    Ok(code)
}

/// Checks the trace the recorder wrote and saves it in `format`, compressed when `compress`
/// (always when values are redacted), with the values of `redact` taken out; returns the
/// number of events.
fn keep_trace(
    raw: &Path,
    dest: &Path,
    format: Format,
    compress: bool,
    redact: &[Redacted],
) -> Result<u64> {
    if !redact.is_empty() {
        let input = files::TraceInput::open(raw)?;
        input.scan(raw)?;
        let mut redactor = Redactor::new(redact);
        let events = files::save_events(raw, &input, dest, format, Some(&mut redactor))?;
        warn_unredacted(dest, &redactor, "--redact-");
        return Ok(events);
    }
    match format {
        // Block by block, checking each block's checksum, without decoding the events and
        // without holding the trace in memory.
        Format::Cbor => {
            let input = files::TraceInput::open(raw)?;
            // Check it first, so that a damaged recording is not reported as a write error.
            wasm_rr_trace::block::scan_blocks(&input)
                .map_err(|e| anyhow!("the recorded trace is damaged: {e}"))?;
            let scan = files::write_atomic_with(dest, |f| {
                let mut out = std::io::BufWriter::new(f);
                let scan = wasm_rr_trace::block::repack(
                    &input,
                    &mut out,
                    compress.then_some(wasm_rr_composer::zstd_block as _),
                )?;
                out.flush()?;
                Ok(scan)
            })?;
            files::warn_torn(dest, scan.torn_tail_bytes as usize);
            Ok(scan.events)
        }
        Format::Json => {
            let input = files::TraceInput::open(raw)?;
            input.scan(raw)?;
            files::save_events(raw, &input, dest, format, None)
        }
    }
}

/// The trace `replay` and `debug` were given, else the default: `wasm-rr-trace.cbor`, then
/// `wasm-rr-trace.json` in the current directory.
fn trace_or_default(given: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(t) = given {
        return Ok(t);
    }
    [Format::Cbor, Format::Json]
        .iter()
        .map(|f| PathBuf::from(format!("{DEFAULT_TRACE_STEM}.{}", f.extension())))
        .find(|p| p.exists())
        .ok_or_else(|| {
            anyhow!(
                "no trace given, and neither {DEFAULT_TRACE_STEM}.cbor nor {DEFAULT_TRACE_STEM}.json is in this directory"
            )
        })
}

/// The recording component of `guest` (the app at `app`) with `policy` and the components at
/// `plugs` composed in (`--plug`), from the cache of compositions.
fn recording_component(
    app: &Path,
    guest: &[u8],
    policy: &wasm_rr_trace::RecordPolicy,
    plugs: &[PathBuf],
) -> Result<Vec<u8>> {
    let sha = wasm_rr_composer::component_sha256(guest);
    let plugged = read_plugs(plugs)?;
    // (The cache holds one composition per policy and set of plugs; its name says which, by a
    // hash.)
    let kind = if *policy == default_policy() && plugged.is_empty() {
        "record".to_string()
    } else {
        let plugs: Vec<String> = plugged
            .iter()
            .map(|p| wasm_rr_composer::component_sha256(p))
            .collect();
        let hash = wasm_rr_trace::sha256_hex(format!("{policy:?} {plugs:?}").as_bytes());
        format!("record-{}", &hash[..16])
    };
    cache::composed(&kind, &sha, || {
        wrap_record(
            guest,
            &components::interposers(),
            false,
            policy.clone(),
            &plugged,
        )
        .map(|(composed, _)| composed)
    })
    .map_err(plug_err(app, plugs))
}

/// The most bytes of request K's response body that `replay --request K` and the component
/// of `wrap --replay … --request K` print (1 MiB).
const ANSWER_BYTES: usize = 1024 * 1024;

/// `wasm-rr serve`: the guest gets what `guest_args` give it, as with `record`; every request
/// (a WASI 0.3 service: every instance) writes its own trace into `trace_dir`. `reuse`: the
/// `--max-instance-reuse-count` and `--max-instance-concurrent-reuse-count` given, for 0.3
/// services only.
fn serve(
    app: &Path,
    addr: std::net::SocketAddr,
    trace_dir: &Path,
    reuse: [Option<u32>; 2],
    guest_args: &GuestArgs,
    policy: &wasm_rr_trace::RecordPolicy,
) -> Result<i32> {
    let guest = read_app(app)?;
    let (_, exports) = wasm_rr_composer::component_world(&guest).map_err(wrap_err(app))?;
    let service = wasm_rr_composer::service_version(&exports).is_some();
    if !service && !wasm_rr_composer::is_http_handler(&exports) {
        bail!(
            "cannot serve {}: it exports no wasi:http/incoming-handler or wasi:http/handler@0.3 (record a command with `wasm-rr record`)",
            app.display()
        );
    }
    if !service && reuse.iter().any(Option::is_some) {
        bail!(
            "cannot serve {} with --max-instance-reuse-count or --max-instance-concurrent-reuse-count: it is a WASI 0.2 handler, whose instances serve one request each",
            app.display()
        );
    }
    std::fs::create_dir_all(trace_dir)
        .with_context(|| format!("cannot create {}", trace_dir.display()))?;
    let wrapped = recording_component(app, &guest, policy, &guest_args.plugs)?;
    let mut opts = guest_args.run_options(vec![program_name(app)], trace_dir)?;
    opts.async_abi = wasm_rr_composer::uses_async_abi(&guest);
    if service {
        let mut limits = runtime::Reuse::default();
        if let Some(n) = reuse[0] {
            limits.max_requests = n as usize;
        }
        if let Some(n) = reuse[1] {
            limits.max_concurrent = n as usize;
        }
        let note = format!(", one trace per instance in {}", trace_dir.display());
        return runtime::serve_service(&wrapped, opts, addr, &note, limits);
    }
    let note = format!(", one trace per request in {}", trace_dir.display());
    runtime::serve(&wrapped, opts, addr, &note)
}

fn replay(
    app: &Path,
    trace: Option<PathBuf>,
    request: Option<u32>,
    watch_args: &WatchArgs,
) -> Result<i32> {
    let trace_path = trace_or_default(trace)?;
    // With --request, the trace cut after that request's answer (a temporary file).
    let prefix = match request {
        Some(k) => {
            let input = files::TraceInput::open(&trace_path)?;
            input.scan(&trace_path)?;
            Some(files::request_prefix(&trace_path, &input, k, ANSWER_BYTES)?)
        }
        None => None,
    };
    let replay = match &prefix {
        Some((tmp, _)) => Replay::prepare(app, tmp.path()),
        None => Replay::prepare(app, &trace_path),
    }?;
    let watch = watch_args.watch(&trace_path, replay.events)?;
    let opts = runtime::RunOptions {
        embedded: Some(std::sync::Arc::new(replay.input)),
        async_abi: replay.async_abi,
        watch,
        debug_info: watch_args.debug_info,
        ..Default::default()
    };
    let status = runtime::run(&replay.wrapped, &opts)?;
    if let (0, Some((_, served))) = (status, &prefix) {
        // The response, as the replayed app gave it (the replay checked each of its calls).
        eprintln!("wasm-rr: {}", served.line());
        let mut out = std::io::stdout().lock();
        out.write_all(&served.body)?;
        out.flush()?;
    }
    Ok(status)
}

/// `wasm-rr show --requests`: the requests of a WASI 0.3 HTTP service's trace, one line each
/// and the first bytes of each response body.
fn show_requests(path: &Path, filter: &ViewFilter) -> Result<i32> {
    let input = files::TraceInput::open(path)?;
    input.scan(path)?;
    let requests = files::served_requests(path, &input, filter.body_limit)?;
    let list = requests.list();
    let shown = |s: &&wasm_rr_trace::served::Served| {
        filter.shows(&s.line(), s.arrived, s.answered.unwrap_or(s.arrived))
    };
    if filter.json {
        let listed: Vec<serde_json::Value> = list
            .iter()
            .filter(shown)
            .map(|s| {
                serde_json::json!({
                    "request": s.number,
                    "arrived": s.arrived,
                    "answered": s.answered,
                    "method": s.method,
                    "path": s.path,
                    "status": s.status,
                    "body": String::from_utf8_lossy(&s.body),
                    "body_bytes": s.body_len,
                    "error": s.error,
                })
            })
            .collect();
        return print_json(&serde_json::json!({
            "requests": listed,
            "complete": list.len() < wasm_rr_trace::served::MAX_REQUESTS,
        }));
    }
    let lines: Vec<String> = list
        .iter()
        .filter(shown)
        .map(|s| {
            let mut text = format!(
                "{}
",
                s.line()
            );
            if !s.body.is_empty() {
                let more = if (s.body.len() as u64) < s.body_len {
                    "…"
                } else {
                    ""
                };
                text += &format!(
                    "  body: {:?}{more}
",
                    String::from_utf8_lossy(&s.body)
                );
            }
            text
        })
        .collect();
    let more = (list.len() == wasm_rr_trace::served::MAX_REQUESTS).then(|| {
        format!(
            "(a view lists the first {} requests)",
            wasm_rr_trace::served::MAX_REQUESTS
        )
    });
    print_view("requests", &lines, more)
}

/// A replay on the embedded wasmtime, ready to run.
struct Replay {
    /// The replayer in front of the app, importing `wasm-rr:rr/embedded` for the trace.
    wrapped: Vec<u8>,
    /// The trace, read in place.
    input: files::TraceInput,
    /// How many events it holds.
    events: u64,
    /// The app uses the component model's async ABI.
    async_abi: bool,
}

impl Replay {
    /// Checks the trace at `trace_path` whole and that it is of `app`, and composes the
    /// replay (or takes it from the composition cache).
    fn prepare(app: &Path, trace_path: &Path) -> Result<Replay> {
        let guest = read_app(app)?;
        // Read in place, block by block: a trace of any size replays in little memory.
        let input = files::TraceInput::open(trace_path)?;
        let scan = input.scan(trace_path)?;
        let sha = wasm_rr_composer::component_sha256(&guest);
        if scan.header.component_sha256 != sha {
            // Refused before the cache is looked at (wrap_replay_open says why).
            wrap_replay_open(&guest, &scan.header, &components::interposers())
                .map_err(replay_err(app, trace_path))?;
        }
        let wrapped = cache::composed("replay", &sha, || {
            wrap_replay_open(&guest, &scan.header, &components::interposers())
        })
        .map_err(replay_err(app, trace_path))?;
        Ok(Replay {
            wrapped,
            input,
            events: scan.events,
            async_abi: wasm_rr_composer::uses_async_abi(&guest),
        })
    }
}

fn convert(input: &Path, output: &Path) -> Result<i32> {
    let format = Format::from_path(output).ok_or_else(|| {
        anyhow!(
            "cannot tell the format of {} from its extension (use .cbor or .json)",
            output.display()
        )
    })?;
    let trace = files::TraceInput::open(input)?;
    // Checked whole first: a damaged trace writes nothing.
    trace.scan(input)?;
    let events = files::save_events(input, &trace, output, format, None)?;
    eprintln!("wasm-rr: wrote {} ({events} events)", output.display());
    Ok(0)
}

/// `wasm-rr show`: reads the trace twice, one event at a time (the HTTP exchanges it lists
/// first, then every event), so that a trace of any size shows in bounded memory.
/// `show --output`'s stream: `stdout`, `stderr` or a number.
fn parse_stream(text: &str) -> std::result::Result<wasm_rr_trace::StreamId, String> {
    use wasm_rr_trace::StreamId;
    match text {
        "stdout" => Ok(StreamId::STDOUT),
        "stderr" => Ok(StreamId::STDERR),
        "stdin" => Err("stdin is an input: `show` lists what the app read of it".into()),
        n => n
            .parse()
            .map(StreamId)
            .map_err(|_| "a stream is `stdout`, `stderr` or a number, as `show` names it".into()),
    }
}

/// `show --output STREAM`: the bytes the app wrote to `stream`, as the trace keeps them
/// (`streams.wrote` events), on stdout; a note on stderr when it keeps less than was written.
///
/// Errors: the trace keeps no output (recorded with `--output-bytes none`, or before format 7).
fn show_output(path: &Path, stream: wasm_rr_trace::StreamId) -> Result<i32> {
    use wasm_rr_trace::streams::{Write as Written, Wrote};
    let (input, header) = files::TraceInput::open_with_header(path)?;
    if header.output_bytes == 0 {
        bail!(
            "{} keeps no output (it was recorded with --output-bytes none, or by a wasm-rr older than trace format 7): only the length and hash of each write",
            path.display()
        );
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut written, mut kept) = (0u64, 0u64);
    for e in input.events(path)? {
        let e = e?;
        if let Some((w, _)) = e.get::<Wrote>()
            && w.stream == stream
        {
            kept += w.data.0.len() as u64;
            if let Err(e) = out.write_all(&w.data.0) {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    return Ok(0);
                }
                return Err(e.into());
            }
        } else if let Some((w, Ok(()))) = e.get::<Written>()
            && w.stream == stream
        {
            written += w.len;
        }
    }
    out.flush()?;
    if kept < written {
        eprintln!(
            "wasm-rr: note: the app wrote {written} bytes to {stream}; the trace keeps the first {kept} (--output-bytes)"
        );
    }
    Ok(0)
}

fn show(path: &Path, filter: &ViewFilter) -> Result<i32> {
    let (input, header) = files::TraceInput::open_with_header(path)?;
    let scan = input.scan(path)?;
    let mut exchanges = wasm_rr_trace::http::Exchanges::default();
    for e in input.events(path)? {
        exchanges.push(&e?);
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let shown = (|| -> Result<()> {
        if filter.json {
            return show_json_lines(&mut out, path, &input, &header, filter);
        }
        write_header(&mut out, &header)?;
        let untracked = exchanges.untracked();
        let listed = exchanges.finish();
        if !listed.is_empty() {
            let all = listed.len() as u64 + untracked;
            writeln!(out, "HTTP exchanges ({all}):")?;
            for x in &listed {
                writeln!(out, "  {x}")?;
            }
            if untracked > 0 {
                writeln!(out, "  … and {untracked} more, not listed")?;
            }
        }
        writeln!(out, "{} events:", scan.events)?;
        for chosen in chosen_events(&input, path, &header, filter)? {
            let (i, e, redacted) = chosen?;
            // Marks the events that hold a redacted value (replacing nothing: it is redacted).
            let mark = if redacted { "  [redacted]" } else { "" };
            let line = format!("#{i} {e}{mark}");
            if filter.shows(&line, i, i) {
                writeln!(out, "{line}")?;
            }
        }
        out.flush()?;
        Ok(())
    })();
    match shown {
        Ok(()) => Ok(0),
        // `wasm-rr show trace | head` is fine.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(0)
        }
        Err(e) if e.downcast_ref::<std::io::Error>().is_some() => {
            Err(anyhow!("cannot write to stdout: {e}"))
        }
        Err(e) => Err(e),
    }
}

/// `wasm-rr view`: writes the page, then says what it holds.
fn view(trace: &Path, output: &Path, from: u64, to: Option<u64>, text_bytes: usize) -> Result<i32> {
    if to.is_some_and(|to| to < from) {
        bail!(
            "--to ({}) is before --from ({from})",
            to.unwrap_or_default()
        );
    }
    let options = view::ViewOptions {
        from,
        to: to.unwrap_or(u64::MAX),
        text_budget: text_bytes,
    };
    let t = view::write_page(trace, output, &options)?;
    let shown = t.lane.len() as u64;
    let window = if shown == t.events {
        format!("{} events", t.events)
    } else {
        format!(
            "events #{} to #{} of {}",
            t.first,
            (t.first + shown).saturating_sub(1),
            t.events
        )
    };
    let spans = match t.spans.len() {
        1 => "1 span".to_string(),
        n => format!("{n} spans"),
    };
    eprintln!(
        "wasm-rr: wrote {} ({window}, {spans}; open it in a browser)",
        output.display()
    );
    if shown < t.events && to.is_none() && from + shown < t.events {
        eprintln!(
            "wasm-rr: a page holds at most {} events: --from and --to choose others",
            wasm_rr_trace::timeline::MAX_EVENTS
        );
    }
    if (t.text.len() as u64) < shown {
        eprintln!(
            "wasm-rr: the page holds the calls and answers of its first {} events as text (--text-bytes {text_bytes}); the others are marks",
            t.text.len()
        );
    }
    Ok(0)
}

/// The events `filter` chooses by number (`--from`, `--to`; reading stops after `--to`), each
/// with its number and whether it holds a redacted value (see [`Redactor::apply`]).
fn chosen_events<'a>(
    input: &'a files::TraceInput,
    path: &'a Path,
    header: &wasm_rr_trace::Header,
    filter: &ViewFilter,
) -> Result<impl Iterator<Item = Result<(u64, wasm_rr_trace::Event, bool)>> + 'a> {
    let mut redactor = Redactor::new(&header.redacted);
    let (from, to) = (filter.from, filter.to);
    Ok(input
        .events(path)?
        .zip(0u64..)
        .take_while(move |(_, i)| *i <= to)
        .filter(move |(_, i)| *i >= from)
        .map(move |(e, i)| {
            let mut e = e?;
            let redacted = !redactor.is_empty() && redactor.apply(&mut e);
            Ok((i, e, redacted))
        }))
}

/// `wasm-rr show --json`: the header (`{"header": …}`), then each event (with --from, --to,
/// --grep: each chosen one) as a JSON line `{"answer": …, "call": …, "event": N}`, redacted
/// events with `"redacted": true`.
fn show_json_lines(
    out: &mut impl Write,
    path: &Path,
    input: &files::TraceInput,
    header: &wasm_rr_trace::Header,
    filter: &ViewFilter,
) -> Result<()> {
    serde_json::to_writer(&mut *out, &serde_json::json!({ "header": header }))?;
    writeln!(out)?;
    for chosen in chosen_events(input, path, header, filter)? {
        let (i, e, redacted) = chosen?;
        let mut v = serde_json::to_value(&e)?;
        v["event"] = i.into();
        if redacted {
            v["redacted"] = true.into();
        }
        let line = serde_json::to_string(&v)?;
        if filter.shows(&line, i, i) {
            writeln!(out, "{line}")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Prints `value` as pretty JSON on stdout; a closed pipe is not an error.
fn print_json(value: &serde_json::Value) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    let written = serde_json::to_writer_pretty(&mut out, value)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow!("cannot write to stdout: {e}"))
        }
        _ => Ok(0),
    }
}

/// What `show --http`, `--files` and `--net` print: what contains `grep` and was used between
/// events `from` and `to`, and (`--http`) how much of each body.
struct ViewFilter {
    grep: Option<String>,
    from: u64,
    to: u64,
    body_limit: usize,
    /// JSON rather than text.
    json: bool,
}

impl ViewFilter {
    /// Whether `text`, about something used from event `first` to `last`, is shown.
    fn shows(&self, text: &str, first: u64, last: u64) -> bool {
        first <= self.to
            && last >= self.from
            && self.grep.as_ref().is_none_or(|g| text.contains(g.as_str()))
    }
}

/// Writes `lines` to stdout under `title: N`; a closed pipe is not an error.
fn print_view(title: &str, lines: &[String], more: Option<String>) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    let written = (|| -> std::io::Result<()> {
        writeln!(out, "{title}: {}", lines.len())?;
        for l in lines {
            write!(out, "{l}")?;
        }
        if let Some(more) = more {
            writeln!(out, "{more}")?;
        }
        out.flush()
    })();
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow!("cannot write to stdout: {e}"))
        }
        _ => Ok(0),
    }
}

/// `wasm-rr show --files` (`files`) or `--net`: reads the trace once, one event at a time.
fn show_activity(path: &Path, files: bool, filter: &ViewFilter) -> Result<i32> {
    let (input, header) = files::TraceInput::open_with_header(path)?;
    input.scan(path)?;
    let mut summary = wasm_rr_trace::summary::Summary::new(&header);
    for e in input.events(path)? {
        summary.push(&e?);
    }
    let (title, list, unit) = if files {
        ("files", summary.files(), ("read", "wrote"))
    } else {
        ("connections", summary.connections(), ("received", "sent"))
    };
    if filter.json {
        let (key, units) = if files {
            ("path", ["read", "written"])
        } else {
            ("name", ["received", "sent"])
        };
        let listed: Vec<serde_json::Value> = list
            .iter()
            .map(|(name, a)| a.to_json(key, name, units))
            .filter(|v| {
                let at = |key: &str| v[key].as_u64().unwrap_or_default();
                filter.shows(&v.to_string(), at("first"), at("last"))
            })
            .collect();
        return print_json(&serde_json::json!({
            title: listed,
            "complete": list.len() < wasm_rr_trace::summary::MAX_LISTED,
        }));
    }
    let lines: Vec<String> = list
        .iter()
        .map(|(name, a)| (format!("{}\n", a.line(name, unit)), a))
        .filter(|(line, a)| filter.shows(line, a.first, a.last))
        .map(|(line, _)| line)
        .collect();
    let more = (list.len() == wasm_rr_trace::summary::MAX_LISTED).then(|| {
        format!(
            "(a view lists the first {} {title})",
            wasm_rr_trace::summary::MAX_LISTED
        )
    });
    print_view(title, &lines, more)
}

/// `wasm-rr show --http`: reads the trace once, one event at a time, keeping the exchanges
/// (at most `wasm_rr_trace::http::MAX_TRACKED`, and their bodies' first bytes).
fn show_http(path: &Path, filter: &ViewFilter) -> Result<i32> {
    let input = files::TraceInput::open(path)?;
    input.scan(path)?;
    let mut exchanges = wasm_rr_trace::http::Exchanges::with_body_limit(filter.body_limit);
    for e in input.events(path)? {
        exchanges.push(&e?);
    }
    let untracked = exchanges.untracked();
    if filter.json {
        let listed: Vec<serde_json::Value> = exchanges
            .finish()
            .iter()
            .map(exchange_json)
            .filter(|v| {
                let last = v["answered_at"]
                    .as_u64()
                    .unwrap_or(v["started_at"].as_u64().unwrap_or(0));
                filter.shows(&v.to_string(), v["started_at"].as_u64().unwrap_or(0), last)
            })
            .collect();
        return print_json(&serde_json::json!({
            "exchanges": listed,
            "untracked": untracked,
        }));
    }
    let shown: Vec<String> = exchanges
        .finish()
        .iter()
        .map(|x| {
            let last = x.answered_at.map_or(x.started_at, |(at, _)| at);
            (x.details(), x.started_at, last)
        })
        .filter(|(d, first, last)| filter.shows(d, *first, *last))
        .map(|(d, _, _)| d)
        .collect();
    let more = (untracked > 0).then(|| format!("… and {untracked} more, not tracked"));
    print_view("HTTP exchanges", &shown, more)
}

/// One HTTP exchange as JSON, for `show --http --json`: `{incoming, method, url, status (or
/// null), error (or null), request_headers, response_headers: [[name, value]], body_bytes,
/// chunks, body (text, or null), body_hex (when not UTF-8), request_body_bytes, request_body,
/// request_body_hex (likewise), started_at, started_ns, answered_at, answered_ns}`; header
/// values as text (lossy UTF-8), times in ns.
fn exchange_json(x: &wasm_rr_trace::http::Exchange) -> serde_json::Value {
    let headers = |entries: &wasm_rr_trace::http::Entries| -> Vec<(String, String)> {
        entries
            .iter()
            .map(|(n, v)| (n.clone(), String::from_utf8_lossy(&v.0).into_owned()))
            .collect()
    };
    let (status, error) = match &x.outcome {
        Some(Ok(status)) => (*status, None),
        Some(Err(e)) => (None, Some(e.to_string())),
        None => (None, None),
    };
    let text = std::str::from_utf8(&x.body).ok();
    let request_text = std::str::from_utf8(&x.request_body).ok();
    serde_json::json!({
        "incoming": x.incoming,
        "method": wasm_rr_trace::http::method_name(&x.head.method),
        "url": x.head.line().split_once(' ').map(|(_, u)| u.to_string()),
        "status": status,
        "error": error,
        "request_headers": headers(&x.head.headers),
        "response_headers": headers(&x.response_headers),
        "body_bytes": x.body_bytes,
        "chunks": x.chunks,
        "body": text,
        "body_hex": if text.is_none() { Some(hex::encode(&x.body)) } else { None },
        "request_body_bytes": x.request_body_bytes,
        "request_body": request_text,
        "request_body_hex": if request_text.is_none() { Some(hex::encode(&x.request_body)) } else { None },
        "started_at": x.started_at,
        "started_ns": x.started_ns,
        "answered_at": x.answered_at.map(|(at, _)| at),
        "answered_ns": x.answered_at.and_then(|(_, ns)| ns),
    })
}

/// `wasm-rr show --summary`: reads the trace once, one event at a time.
fn show_summary(path: &Path, json: bool) -> Result<i32> {
    let (input, header) = files::TraceInput::open_with_header(path)?;
    let scan = input.scan(path)?;
    let mut summary = wasm_rr_trace::summary::Summary::new(&header);
    for e in input.events(path)? {
        summary.push(&e?);
    }
    let storage = files::storage(path, &scan)?;
    if json {
        return print_json(&summary.to_json(storage));
    }
    print!("{}", summary.display(storage));
    Ok(0)
}

fn write_header(out: &mut impl Write, header: &wasm_rr_trace::Header) -> std::io::Result<()> {
    writeln!(
        out,
        "trace format {}, recorded by wasm-rr {}",
        header.format, header.wasm_rr
    )?;
    writeln!(out, "component sha256 {}", header.component_sha256)?;
    writeln!(out, "WASI {}; the guest imports:", header.wasi)?;
    for import in &header.guest_imports {
        writeln!(out, "  {import}")?;
    }
    if !header.redacted.is_empty() {
        let items: Vec<String> = header.redacted.iter().map(Redacted::to_string).collect();
        writeln!(
            out,
            "redacted (`*`s of the same length stand in for the values): {}",
            items.join(", ")
        )?;
    }
    Ok(())
}

/// Warns about what `redactor` left in the trace at `path` that looks secret: variables named
/// like secrets, and headers carrying a redacted value. `flag` prefixes the flags it suggests
/// (`--` for `redact`, `--redact-` for `record`).
fn warn_unredacted(path: &Path, redactor: &Redactor, flag: &str) {
    let path = path.display();
    for name in redactor.unredacted_secrets() {
        eprintln!(
            "wasm-rr: warning: {path}: the app read the environment variable {name}, which looks like a secret, and it is kept: add {flag}env {name} to redact it"
        );
    }
    for (header, item) in redactor.leaks() {
        eprintln!(
            "wasm-rr: warning: {path}: the app sent the header {header} holding a redacted value ({item}), and it is kept: add {flag}header {header} to redact it"
        );
    }
}

/// `wasm-rr redact`: writes `trace` to `output` with the values of `items` taken out, one
/// event at a time; says what it replaced, and warns about variables that look like secrets.
fn redact(trace: &Path, output: &Path, items: &[Redacted]) -> Result<i32> {
    let format = Format::from_path(output).unwrap_or(Format::Cbor);
    let input = files::TraceInput::open(trace)?;
    // Checked whole first: a damaged trace writes nothing.
    input.scan(trace)?;
    let mut redactor = Redactor::new(items);
    let events = files::save_events(trace, &input, output, format, Some(&mut redactor))?;
    warn_unredacted(trace, &redactor, "--");
    let counts = redactor.counts();
    let replaced: Vec<String> = counts
        .iter()
        .map(|(item, n)| format!("{n} × {item}"))
        .collect();
    let missing: Vec<String> = redactor
        .items()
        .filter(|i| !counts.contains_key(*i))
        .map(Redacted::to_string)
        .collect();
    let mut what = if replaced.is_empty() {
        "no value redacted".to_string()
    } else {
        format!("redacted {}", replaced.join(", "))
    };
    if !missing.is_empty() {
        what.push_str(&format!("; not in the trace: {}", missing.join(", ")));
    }
    eprintln!(
        "wasm-rr: wrote {} ({events} events; {what})",
        output.display()
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    /// The CLI reference in the book (`docs/src/reference.md`) is generated from the clap
    /// definitions above, so that it cannot go stale: this test fails when it differs, and
    /// `WASM_RR_BLESS=1 cargo test -p wasm-rr --bin wasm-rr` writes it anew.
    #[test]
    fn the_cli_reference_is_generated_from_the_definitions() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/src/reference.md");
        let options = clap_markdown::MarkdownOptions::new()
            .title("CLI reference".into())
            .show_footer(false)
            .show_table_of_contents(true);
        let now = clap_markdown::help_markdown_custom::<super::Cli>(&options);
        if std::env::var_os("WASM_RR_BLESS").is_some() {
            std::fs::write(&path, &now).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == now,
            "{} is not what the CLI's definitions give; run `WASM_RR_BLESS=1 cargo test -p wasm-rr --bin wasm-rr`",
            path.display()
        );
    }
}
