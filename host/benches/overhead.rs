//! Record and replay overhead against plain `wasmtime run`, trace sizes and peak memory.
//!
//! `cargo bench -p wasm-rr --bench overhead [-- --runs N] [--quick] [--no-files] [--io-only]
//! [--http-only] [--serve] [--toolchains] [--trace-tools] [--generic] [--p3]`
//!
//! Workloads (`fixtures/src/bin/workload.rs`): W1 = 1,000,000 `get-random-u64`; W2 =
//! 1,000,000 `monotonic-clock.now`; W3 = 200,000 of each, interleaved; W4 = a compute-bound
//! loop with a handful of host calls; W5 = 100,000 small stdout writes. Every time is the
//! median of N whole-process runs (5 by default), the variants of a workload alternating
//! round by round, compilation cache warm (as for a user who runs twice). Ratios are against
//! plain `wasmtime run` with the same flags. Needs a `wasmtime` 48.0.x on PATH
//! (`scripts/setup`); set `WASM_RR_BENCH_WASMTIME2` to another wasmtime CLI to add its rows.
//!
//! A second table measures file access (`fixtures/src/bin/fs_cat.rs`): F1 = reading a 1 GiB
//! file in 64 KiB reads, F2 = stat and read 10,000 small files; recorded on stock `wasmtime
//! run --dir`, replayed by `wasm-rr replay` (which streams the trace from disk). A third measures
//! sockets (`fixtures/src/bin/net_ops.rs` against a server in this process): N1 = 10,000 TCP
//! round trips of 16 bytes, N2 = a 1 GiB TCP download; recorded on stock `wasmtime run -S
//! inherit-network`. A fourth measures HTTP (`fixtures/src/bin/http_client.rs` against a hyper
//! server in this process): H1 = 1,000 small GETs one after another, H2 = a 1 GiB download;
//! recorded on stock `wasmtime run -S http`. The serve table (`--serve`, or part of a full run)
//! loads the wstd server fixture under stock `wasmtime serve`, plain and recording, with `wrk`
//! (see `serve_table`). A fifth (`--toolchains`, or part of a full run)
//! takes each toolchain's fixture (as `host/tests/runtimes.rs` runs it): plain `wasmtime run`,
//! recording on it, and the self-replaying component on wasmtime 48, on the second wasmtime
//! (`target/tools/wasmtime-49`, when set up) and on Node.js (`scripts/replay-node`, which
//! transpiles the component with jco every run). The trace tools (`--trace-tools`, or part of a
//! full run): the memory of `show`, `convert`, `replay` and `wrap --replay` on a big trace, and
//! `wasm-rr view` on 1,000,000 events: the time to write the page, its size, and the time
//! headless Chromium takes to render it (goal: under 3 s). The WASI 0.3 table (`--p3`, or part
//! of a full run or of `--generic`): a `wasip3` command making 200,000 clock reads and 200,000
//! random draws of WASI 0.3 (`fixtures/src/bin/p3_workload.rs`), plain, recording, replaying;
//! and its streams (`--p3`, or part of a full run): S1 = reading a 1 GiB file through
//! `read-via-stream`, S2 = writing 1 GiB through `write-via-stream` (`p3_copy.rs`), whose
//! recording and replay must stay within plain `wasmtime run`'s peak RSS + 64 MiB; a WASI 0.3
//! TCP server taking 100 and 1,000 connections (`--p3`, `--p3-listener`, or part of a full run; see
//! `p3_listener_table`), whose memory must not grow with them. And a WASI
//! 0.3 HTTP service under stock `wasmtime serve` (`--p3`, `--p3-serve`, or part of a full
//! run), plain and recording (see `p3_serve_table`).

#[path = "../tests/common/http_server.rs"]
mod http_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run cost.
#[derive(Clone, Copy)]
struct Cost {
    time: Duration,
    /// Peak resident set size, in KiB.
    rss_kib: i64,
}

/// Runs `cmd` to completion with stdout discarded; asserts success.
fn measure(cmd: &mut Command) -> Cost {
    let (cost, status, err) = measure_any(cmd);
    if status != Some(0) {
        panic!("{cmd:?} failed ({status:?}): {err}");
    }
    cost
}

/// Runs `cmd` to completion with stdout discarded; returns its cost, exit status and stderr.
// The child is waited for with `wait4`, which also gives its peak memory.
#[allow(clippy::zombie_processes)]
fn measure_any(cmd: &mut Command) -> (Cost, Option<i32>, String) {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    let start = Instant::now();
    let child = cmd.spawn().expect("start benchmark command");
    let (cost, code) = wait_cost(&child, start);
    let mut err = String::new();
    if let Some(mut e) = child.stderr {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    (cost, code, err)
}

/// Waits for `child` (started at `start`) with `wait4`, which also gives its peak memory:
/// what it cost and its exit status.
fn wait_cost(child: &std::process::Child, start: Instant) -> (Cost, Option<i32>) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, once; `usage` is a valid rusage.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let time = start.elapsed();
    assert_eq!(waited, pid, "wait4 failed");
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let cost = Cost {
        time,
        rss_kib: usage.ru_maxrss,
    };
    (cost, code)
}

fn median(mut v: Vec<Cost>) -> Cost {
    v.sort_by_key(|c| c.time);
    let mid = v[v.len() / 2];
    let mut rss: Vec<i64> = v.iter().map(|c| c.rss_kib).collect();
    rss.sort();
    Cost {
        time: mid.time,
        rss_kib: rss[rss.len() / 2],
    }
}

struct Workload {
    name: &'static str,
    kind: &'static str,
    n: u64,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "W1",
        kind: "random",
        n: 1_000_000,
    },
    Workload {
        name: "W2",
        kind: "clock",
        n: 1_000_000,
    },
    Workload {
        name: "W3",
        kind: "mixed",
        n: 200_000,
    },
    Workload {
        name: "W4",
        kind: "compute",
        n: 300_000_000,
    },
    Workload {
        name: "W5",
        kind: "print",
        n: 100_000,
    },
];

const FAST: [&str; 4] = ["-S", "p3=n", "-W", "concurrency-support=n"];

/// The variants measured for every workload, in table order.
#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Plain,
    PlainFast,
    Record,
    RecordFast,
    RecordCompress,
    Embedded,
    Replay,
    ReplayFast,
    EmbeddedReplay,
    Plain2,
    Record2,
}

impl Variant {
    fn label(self) -> &'static str {
        match self {
            Variant::Plain => "plain `wasmtime run` (ms)",
            Variant::PlainFast => "plain, -S p3=n -W concurrency-support=n (ms)",
            Variant::Record => "record on stock `wasmtime run`",
            Variant::RecordFast => "record on stock wasmtime, fast flags (vs plain fast)",
            Variant::RecordCompress => "record on stock, `wrap --compress`",
            Variant::Embedded => "`wasm-rr record` (embedded)",
            Variant::Replay => "self-replaying on stock `wasmtime run`",
            Variant::ReplayFast => "self-replaying, fast flags (vs plain fast)",
            Variant::EmbeddedReplay => "`wasm-rr replay` (embedded)",
            Variant::Plain2 => "plain, second wasmtime (ms)",
            Variant::Record2 => "record on the second wasmtime (vs its plain)",
        }
    }

    /// The variant this one is a ratio against (`None`: an absolute time).
    fn base(self) -> Option<Variant> {
        match self {
            Variant::Plain | Variant::PlainFast | Variant::Plain2 => None,
            Variant::RecordFast | Variant::ReplayFast => Some(Variant::PlainFast),
            Variant::Record2 => Some(Variant::Plain2),
            _ => Some(Variant::Plain),
        }
    }
}

struct Paths {
    wasm_rr: PathBuf,
    app: PathBuf,
    dir: PathBuf,
    wasmtime2: Option<PathBuf>,
}

impl Paths {
    fn wl(&self, w: &Workload, what: &str) -> PathBuf {
        self.dir.join(format!("{}-{what}", w.name))
    }
}

fn command(p: &Paths, w: &Workload, v: Variant) -> Option<Command> {
    let n = w.n.to_string();
    let traces = p.wl(w, "traces");
    let preopen = format!("{}::/wasm-rr", traces.display());
    let stock = |program: &Path, flags: &[&str], component: &Path, trace_dir: bool| {
        let mut c = Command::new(program);
        c.arg("run").args(flags);
        if trace_dir {
            c.arg("--dir").arg(&preopen);
        }
        c.arg(component).arg(w.kind).arg(&n);
        c
    };
    let wasmtime = Path::new("wasmtime");
    Some(match v {
        Variant::Plain => stock(wasmtime, &[], &p.app, false),
        Variant::PlainFast => stock(wasmtime, &FAST, &p.app, false),
        Variant::Record => stock(wasmtime, &[], &p.wl(w, "rec.wasm"), true),
        Variant::RecordFast => stock(wasmtime, &FAST, &p.wl(w, "rec.wasm"), true),
        Variant::RecordCompress => stock(
            wasmtime,
            &["--env", "WASM_RR_TRACE=compressed.cbor"],
            &p.wl(w, "recz.wasm"),
            true,
        ),
        Variant::Embedded => {
            let mut c = Command::new(&p.wasm_rr);
            c.arg("record")
                .arg(&p.app)
                .arg("-t")
                .arg(p.wl(w, "embedded.cbor"))
                .arg("--")
                .arg(w.kind)
                .arg(&n);
            c
        }
        Variant::Replay => {
            let mut c = Command::new(wasmtime);
            c.arg("run").arg(p.wl(w, "replay.wasm"));
            c
        }
        Variant::ReplayFast => {
            let mut c = Command::new(wasmtime);
            c.arg("run").args(FAST).arg(p.wl(w, "replay.wasm"));
            c
        }
        Variant::EmbeddedReplay => {
            let mut c = Command::new(&p.wasm_rr);
            c.arg("replay").arg(&p.app).arg(traces.join("trace.cbor"));
            c
        }
        Variant::Plain2 => stock(p.wasmtime2.as_ref()?, &[], &p.app, false),
        Variant::Record2 => stock(
            p.wasmtime2.as_ref()?,
            &["--env", "WASM_RR_TRACE=second.cbor"],
            &p.wl(w, "rec.wasm"),
            true,
        ),
    })
}

/// Wraps `app` into the recording component `rec` (with `wasm-rr wrap`'s `flags`) and creates
/// `traces` for its traces; returns the `--dir` value that preopens `traces` as `/wasm-rr`.
fn wrap_for_recording(p: &Paths, app: &Path, rec: &Path, traces: &Path, flags: &[&str]) -> String {
    std::fs::create_dir_all(traces).unwrap();
    run_ok(
        Command::new(&p.wasm_rr)
            .arg("wrap")
            .arg(app)
            .arg("-o")
            .arg(rec)
            .args(flags),
    );
    format!("{}::/wasm-rr", traces.display())
}

fn run_ok(cmd: &mut Command) {
    measure(cmd);
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let runs: usize = argv
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| argv.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    let quick = argv.iter().any(|a| a == "--quick");
    let only_io = argv.iter().any(|a| a == "--io-only");
    let files = !argv.iter().any(|a| a == "--no-files");
    let http_only = argv.iter().any(|a| a == "--http-only");
    let toolchains_only = argv.iter().any(|a| a == "--toolchains");
    let tools_only = argv.iter().any(|a| a == "--trace-tools");
    let serve_only = argv.iter().any(|a| a == "--serve");
    let generic_only = argv.iter().any(|a| a == "--generic");
    let p3_only = argv.iter().any(|a| a == "--p3");
    let dir = tempfile::tempdir().unwrap();
    let p = Paths {
        wasm_rr: PathBuf::from(env!("CARGO_BIN_EXE_wasm-rr")),
        app: PathBuf::from(wasm_rr_fixtures_artifacts::WORKLOAD),
        dir: dir.path().to_path_buf(),
        wasmtime2: std::env::var_os("WASM_RR_BENCH_WASMTIME2").map(PathBuf::from),
    };
    if http_only {
        http_table(&p, runs);
        return;
    }
    if toolchains_only {
        toolchains_table(&p, runs);
        return;
    }
    if serve_only {
        serve_table(&p, runs);
        return;
    }
    if p3_only {
        p3_table(&p, runs);
        p3_streams_table(&p, runs);
        p3_listener_table(&p, runs);
        p3_serve_table(&p, runs);
        return;
    }
    if argv.iter().any(|a| a == "--p3-listener") {
        p3_listener_table(&p, runs);
        return;
    }
    if argv.iter().any(|a| a == "--p3-serve") {
        p3_serve_table(&p, runs);
        return;
    }
    if generic_only {
        generic_table(&p, runs);
        keyvalue_table(&p, runs);
        p3_table(&p, runs);
        return;
    }
    if tools_only {
        trace_tools_table(&p, runs);
        view_table(&p, runs);
        return;
    }
    let mut variants = vec![
        Variant::Plain,
        Variant::PlainFast,
        Variant::Record,
        Variant::RecordFast,
        Variant::RecordCompress,
        Variant::Embedded,
        Variant::Replay,
        Variant::ReplayFast,
        Variant::EmbeddedReplay,
    ];
    if p.wasmtime2.is_some() {
        variants.extend([Variant::Plain2, Variant::Record2]);
    }
    if only_io {
        files_table(&p, runs);
        network_table(&p, runs);
        http_table(&p, runs);
        toolchains_table(&p, runs);
        return;
    }
    let workloads: Vec<&Workload> = WORKLOADS
        .iter()
        .filter(|w| !quick || w.name != "W4")
        .collect();

    // Set up: the recording components, a trace recorded on stock wasmtime, the self-replaying
    // component; one warm-up run of everything (fills the compile caches).
    for w in &workloads {
        std::fs::create_dir_all(p.wl(w, "traces")).unwrap();
        let wrap = |out: &str, extra: &[&str]| {
            let mut c = Command::new(&p.wasm_rr);
            c.arg("wrap")
                .arg(&p.app)
                .arg("-o")
                .arg(p.wl(w, out))
                .args(extra);
            run_ok(&mut c);
        };
        wrap("rec.wasm", &[]);
        wrap("recz.wasm", &["--compress"]);
        run_ok(&mut command(&p, w, Variant::Record).unwrap());
        let trace = p.wl(w, "traces").join("trace.cbor");
        run_ok(&mut wrap_replay_command(
            &p,
            &trace,
            &p.app,
            &p.wl(w, "replay.wasm"),
        ));
        for &v in &variants {
            if v != Variant::Record {
                run_ok(&mut command(&p, w, v).unwrap());
            }
        }
    }

    let mut results: Vec<Vec<Cost>> = Vec::new();
    for w in &workloads {
        let mut costs: Vec<Vec<Cost>> = vec![Vec::new(); variants.len()];
        for _ in 0..runs {
            for (i, &v) in variants.iter().enumerate() {
                costs[i].push(measure(&mut command(&p, w, v).unwrap()));
            }
        }
        results.push(costs.into_iter().map(median).collect());
        eprintln!("bench: {} done", w.name);
    }

    println!(
        "wasm-rr {} on wasmtime {}; median of {runs} alternating runs; ratios against plain `wasmtime run` with the same flags",
        env!("CARGO_PKG_VERSION"),
        wasmtime_version(Path::new("wasmtime"))
    );
    if let Some(w2) = &p.wasmtime2 {
        println!("second wasmtime: {}", wasmtime_version(w2));
    }
    print!("\n| figure |");
    for w in &workloads {
        print!(" {} |", w.name);
    }
    print!("\n|---|");
    for _ in &workloads {
        print!("---|");
    }
    println!();
    for (i, &v) in variants.iter().enumerate() {
        print!("| {} |", v.label());
        for r in &results {
            let c = r[i];
            match v.base() {
                None => print!(" {:.0} |", c.time.as_secs_f64() * 1e3),
                Some(b) => {
                    let base = r[variants.iter().position(|&x| x == b).unwrap()];
                    print!(" {:.2}x |", c.time.as_secs_f64() / base.time.as_secs_f64());
                }
            }
        }
        println!();
    }
    let row = |label: &str, f: &dyn Fn(&Workload, &[Cost]) -> String| {
        print!("| {label} |");
        for (w, r) in workloads.iter().zip(&results) {
            print!(" {} |", f(w, r));
        }
        println!();
    };
    let events = |w: &Workload| {
        wasm_rr_trace::scan(&std::fs::read(p.wl(w, "traces").join("trace.cbor")).unwrap())
            .unwrap()
            .events as f64
    };
    let header_len = |path: &Path| {
        let (h, _) = wasm_rr_trace::Reader::new(&std::fs::read(path).unwrap()[..]).unwrap();
        let mut out = Vec::new();
        wasm_rr_trace::encode_header(&h, &mut out);
        out.len() as u64
    };
    let per_event = |w: &Workload, path: PathBuf| {
        format!(
            "{:.2}",
            (size(&path) - header_len(&path)) as f64 / events(w)
        )
    };
    row("events in the trace", &|w, _| format!("{}", events(w)));
    row("trace bytes/event, as recorded", &|w, _| {
        per_event(w, p.wl(w, "traces").join("trace.cbor"))
    });
    row("trace bytes/event, `wrap --compress`", &|w, _| {
        per_event(w, p.wl(w, "traces").join("compressed.cbor"))
    });
    row("trace bytes/event, `wasm-rr record`", &|w, _| {
        per_event(w, p.wl(w, "embedded.cbor"))
    });
    row("self-replaying component (MB)", &|w, _| {
        format!("{:.2}", size(&p.wl(w, "replay.wasm")) as f64 / 1e6)
    });
    row(
        "self-replaying component / 8 B per random number",
        &|w, _| match w.kind {
            "random" => format!(
                "{:.3}",
                size(&p.wl(w, "replay.wasm")) as f64 / (8.0 * w.n as f64)
            ),
            _ => "".into(),
        },
    );
    let rss = |r: &[Cost], v: Variant| r[variants.iter().position(|&x| x == v).unwrap()].rss_kib;
    row("peak RSS plain (MiB)", &|_, r| {
        format!("{:.1}", rss(r, Variant::Plain) as f64 / 1024.0)
    });
    for v in [Variant::Record, Variant::Replay, Variant::EmbeddedReplay] {
        row(
            &format!("peak RSS, {} (MiB over plain)", v.label()),
            &|_, r| {
                format!(
                    "{:+.1}",
                    (rss(r, v) - rss(r, Variant::Plain)) as f64 / 1024.0
                )
            },
        );
    }
    if files {
        files_table(&p, runs);
        network_table(&p, runs);
        http_table(&p, runs);
        serve_table(&p, runs);
        toolchains_table(&p, runs);
    }
    trace_tools_table(&p, runs);
    view_table(&p, runs);
    generic_table(&p, runs);
    keyvalue_table(&p, runs);
    p3_table(&p, runs);
    if files {
        p3_streams_table(&p, runs);
    }
    p3_listener_table(&p, runs);
    p3_serve_table(&p, runs);
}

/// The generic path's wrap-time cost (`--generic`, or part of a full run): making the
/// recording forwarder (`wasm_rr_composer::forwarder`) of an interface of 100 functions, of the
/// kinds of types a platform API takes (strings, records, variants, options, results, lists),
/// for a 20 MB component importing it (a dummy component padded with a 20 MB custom section,
/// which decoding its WIT must skip), and the whole `wasm-rr wrap` of that component (which
/// also exports `wasi:cli/run`). Median of `runs` runs. Goal: a whole wrap under 1 s.
fn generic_table(p: &Paths, runs: usize) {
    let mut wit = String::from(
        "package acme:big@0.1.0;
interface api {
  record item { name: string, count: u32, price: f64, tags: list<string> }
  variant error { not-found, denied(string), other(tuple<u16, string>) }
",
    );
    for i in 0..100 {
        wit += &match i % 4 {
            0 => format!("  call{i}: func(key: string) -> result<option<string>, error>;\n"),
            1 => format!("  call{i}: func(item: item, n: u64) -> result<list<item>, error>;\n"),
            2 => format!("  call{i}: func(a: s32, b: f32, c: bool) -> option<tuple<u8, char>>;\n"),
            _ => format!("  call{i}: func(keys: list<string>);\n"),
        };
    }
    wit += "}\n";
    let mut resolve = wit_parser::Resolve::default();
    resolve.push_str("big.wit", &wit).unwrap();
    // WASI, for `wasi:cli/run`.
    resolve
        .push_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit"))
        .unwrap();
    let pkg = resolve
        .push_str(
            "app.wit",
            "package acme:app; world app { import acme:big/api@0.1.0; export wasi:cli/run@0.2.12; }",
        )
        .unwrap();
    let world = resolve.select_world(&[pkg], Some("app")).unwrap();
    let module =
        wit_component::dummy_module(&resolve, world, wit_parser::ManglingAndAbi::Standard32);
    let mut guest = wasm_rr_composer::componentize(module, &resolve, world).unwrap();
    let padding = wasm_encoder::CustomSection {
        name: "padding".into(),
        data: vec![0u8; 20 << 20].into(),
    };
    wasm_encoder::ComponentSection::append_to_component(&padding, &mut guest);
    let interfaces = ["acme:big/api@0.1.0".to_string()];
    let mut times = Vec::new();
    let mut forwarder_bytes = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let forwarder =
            wasm_rr_composer::forwarder(&guest, &interfaces, wasm_rr_composer::Forwarding::Record)
                .unwrap();
        times.push(start.elapsed());
        forwarder_bytes = forwarder.len();
    }
    times.sort();
    let app = p.dir.join("big.wasm");
    std::fs::write(&app, &guest).unwrap();
    let out = p.dir.join("big.recording.wasm");
    let wraps = median_of(runs, || wrap_command(p, &app, &out));
    println!("\n| generic path (wrap time) | guest | functions | forwarder | time |");
    println!("|---|---|---|---|---|");
    println!(
        "| recording forwarder of `acme:big/api` | {:.1} MB | 100 | {:.1} KB | {:.0} ms |",
        guest.len() as f64 / 1e6,
        forwarder_bytes as f64 / 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3
    );
    println!(
        "| whole `wasm-rr wrap` (recording component, {:.1} MB) | {:.1} MB | 100 | | {:.0} ms |",
        size(&out) as f64 / 1e6,
        guest.len() as f64 / 1e6,
        wraps.time.as_secs_f64() * 1e3
    );
}

/// The median cost of `runs` runs of the command `command` makes.
fn median_of(runs: usize, mut command: impl FnMut() -> Command) -> Cost {
    median((0..runs).map(|_| measure(&mut command())).collect())
}

/// `wasm-rr wrap APP -o OUT`.
fn wrap_command(p: &Paths, app: &Path, out: &Path) -> Command {
    let mut c = Command::new(&p.wasm_rr);
    c.arg("wrap").arg(app).arg("-o").arg(out);
    c
}

/// `wasm-rr wrap --replay TRACE APP -o OUT`: the self-replaying component.
fn wrap_replay_command(p: &Paths, trace: &Path, app: &Path, out: &Path) -> Command {
    let mut c = Command::new(&p.wasm_rr);
    c.arg("wrap")
        .arg("--replay")
        .arg(trace)
        .arg(app)
        .arg("-o")
        .arg(out);
    c
}

/// Prints a table's rows `(what, cost)`: time, ratio against the first row's (plain), peak
/// RSS.
fn cost_rows(rows: &[(&str, &Cost)]) {
    let ms = |c: &Cost| c.time.as_secs_f64() * 1e3;
    let plain = ms(rows[0].1);
    for (what, c) in rows {
        println!(
            "| {what} | {:.0} ms | {:.2}x | {:.1} MiB |",
            ms(c),
            ms(c) / plain,
            c.rss_kib as f64 / 1024.0
        );
    }
}

/// Gets through the generic path: the `keyvalue_app` fixture doing 100,000 `wasi:keyvalue`
/// `bucket.get`s on stock `wasmtime run -S keyvalue`, plain and recording, then replayed by its
/// self-replaying component (no flags): times, peak RSS, trace bytes per call, and the time
/// `wasm-rr wrap` takes for it.
fn keyvalue_table(p: &Paths, runs: usize) {
    const GETS: u64 = 100_000;
    let app = PathBuf::from(wasm_rr_fixtures_artifacts::KEYVALUE_APP);
    let recording = p.dir.join("kv.recording.wasm");
    let replaying = p.dir.join("kv.replay.wasm");
    let traces = p.dir.join("kv-traces");
    std::fs::create_dir_all(&traces).unwrap();
    let wrap = median_of(runs, || wrap_command(p, &app, &recording));
    let wasmtime = |component: &Path, flags: &[&str]| {
        let mut c = Command::new("wasmtime");
        c.arg("run")
            .args(["-S", "keyvalue", "-S", "keyvalue-in-memory-data=seed=42"])
            .args(flags)
            .arg(component)
            .args(["loop", &GETS.to_string()]);
        c
    };
    let preopen = format!("{}::/wasm-rr", traces.display());
    let plain = median_of(runs, || wasmtime(&app, &[]));
    let record = median_of(runs, || wasmtime(&recording, &["--dir", &preopen]));
    let trace = traces.join("trace.cbor");
    run_ok(&mut wrap_replay_command(p, &trace, &app, &replaying));
    let replay = median_of(runs, || {
        let mut c = Command::new("wasmtime");
        c.arg("run").arg(&replaying);
        c
    });
    let bytes = size(&trace);
    let ms = |c: &Cost| c.time.as_secs_f64() * 1e3;
    println!("\n| {GETS} `wasi:keyvalue` gets (generic path) | time | x plain | peak RSS |");
    println!("|---|---|---|---|");
    cost_rows(&[
        ("plain `wasmtime run -S keyvalue`", &plain),
        ("recording", &record),
        ("self-replaying, no flags", &replay),
    ]);
    println!(
        "\ntrace: {bytes} bytes, {:.2} bytes per get; `wasm-rr wrap` of keyvalue_app ({:.0} KB, 8 generic functions): {:.0} ms",
        bytes as f64 / GETS as f64,
        size(&app) as f64 / 1e3,
        ms(&wrap)
    );
}

/// A WASI 0.3 command (`fixtures/src/bin/p3_workload.rs`, the `wasip3` crate) making
/// 200,000 `monotonic-clock.now` and 200,000 `get-random-u64` calls of WASI 0.3, interleaved
/// (through the generic path): plain `wasmtime run`, recording on it, the self-replaying
/// component, and `wasm-rr replay`; the trace's size.
fn p3_table(p: &Paths, runs: usize) {
    const N: u64 = 200_000;
    let app = PathBuf::from(wasm_rr_fixtures_artifacts::P3_WORKLOAD);
    let recording = p.dir.join("p3.recording.wasm");
    let replaying = p.dir.join("p3.replay.wasm");
    let traces = p.dir.join("p3-traces");
    std::fs::create_dir_all(&traces).unwrap();
    run_ok(&mut wrap_command(p, &app, &recording));
    let wasmtime = |component: &Path, flags: &[&str]| {
        let mut c = Command::new("wasmtime");
        c.arg("run").args(flags).arg(component).arg(N.to_string());
        c
    };
    let preopen = format!("{}::/wasm-rr", traces.display());
    let trace = traces.join("trace.cbor");
    run_ok(&mut wasmtime(&recording, &["--dir", &preopen]));
    run_ok(&mut wrap_replay_command(p, &trace, &app, &replaying));
    let embedded = || {
        let mut c = Command::new(&p.wasm_rr);
        c.arg("replay").arg(&app).arg(&trace);
        c
    };
    // Warm the compile caches, then alternate the variants run by run.
    let variants: [Box<dyn Fn() -> Command>; 4] = [
        Box::new(|| wasmtime(&app, &[])),
        Box::new(|| wasmtime(&recording, &["--dir", &preopen])),
        Box::new(|| wasmtime(&replaying, &[])),
        Box::new(embedded),
    ];
    let mut costs: Vec<Vec<Cost>> = vec![Vec::new(); variants.len()];
    for v in &variants {
        run_ok(&mut v());
    }
    for _ in 0..runs {
        for (i, v) in variants.iter().enumerate() {
            costs[i].push(measure(&mut v()));
        }
    }
    let costs: Vec<Cost> = costs.into_iter().map(median).collect();
    let bytes = size(&trace);
    println!(
        "\n| WASI 0.3 command: {N} clock reads and {N} random draws | time | x plain | peak RSS |"
    );
    println!("|---|---|---|---|");
    cost_rows(&[
        ("plain `wasmtime run`", &costs[0]),
        ("recording", &costs[1]),
        ("self-replaying, no flags", &costs[2]),
        ("`wasm-rr replay`", &costs[3]),
    ]);
    println!(
        "\ntrace: {bytes} bytes, {:.2} bytes per call",
        bytes as f64 / (2 * N) as f64
    );
}

/// Records the workload app with `args` into the trace `name` (in the scratch directory) by
/// `wasm-rr record`.
fn record_workload(p: &Paths, name: &str, args: &[&str]) -> PathBuf {
    let trace = p.dir.join(name);
    run_ok(
        Command::new(&p.wasm_rr)
            .arg("record")
            .arg(&p.app)
            .arg("-t")
            .arg(&trace)
            .arg("--")
            .args(args),
    );
    trace
}

/// The memory of the commands that read a trace, on a big trace (5,000,000 random numbers
/// recorded by `wasm-rr record`, about 43 MiB) and on a tiny one of the same app: `show`,
/// `convert` and `replay` stream the trace (their peak should not grow with it), and
/// `wrap --replay` holds it about twice (the packed trace, then the component around it).
fn trace_tools_table(p: &Paths, runs: usize) {
    let (tiny, big) = (
        record_workload(p, "tools-tiny.cbor", &["random", "10"]),
        record_workload(p, "tools-big.cbor", &["random", "5000000"]),
    );
    let big_mib = size(&big) as f64 / (1024.0 * 1024.0);
    // Each command's arguments, TRACE standing for the trace.
    const TRACE: &str = "TRACE";
    let (out, wasm) = (
        p.dir.join("tools-out.cbor"),
        p.dir.join("tools-replay.wasm"),
    );
    let (app, out, wasm) = (p.app.as_os_str(), out.as_os_str(), wasm.as_os_str());
    let commands: [(&str, Vec<&std::ffi::OsStr>); 4] = [
        ("`show`", vec!["show".as_ref(), TRACE.as_ref()]),
        (
            "`convert` to binary",
            vec!["convert".as_ref(), TRACE.as_ref(), out],
        ),
        ("`replay`", vec!["replay".as_ref(), app, TRACE.as_ref()]),
        (
            "`wrap --replay`",
            vec![
                "wrap".as_ref(),
                "--replay".as_ref(),
                TRACE.as_ref(),
                app,
                "-o".as_ref(),
                wasm,
            ],
        ),
    ];
    let make = |args: &[&std::ffi::OsStr], trace: &Path| {
        let mut c = Command::new(&p.wasm_rr);
        c.args(
            args.iter()
                .map(|a| if *a == TRACE { trace.as_os_str() } else { a }),
        );
        c
    };
    let bomb = zstd_bomb(p, &tiny);
    let bomb_kb = size(&bomb) as f64 / 1000.0;
    println!(
        "\n| reading a trace | peak RSS, tiny trace | peak RSS, {big_mib:.1} MiB trace | growth / trace size | time, big trace | peak RSS, zstd bomb ({bomb_kb:.0} KB expanding to 4 GiB): refused |"
    );
    println!("|---|---|---|---|---|---|");
    let mib = |c: Cost| c.rss_kib as f64 / 1024.0;
    for (name, args) in commands {
        let (mut small, mut large) = (Vec::new(), Vec::new());
        for _ in 0..runs.min(3) {
            small.push(measure(&mut make(&args, &tiny)));
            large.push(measure(&mut make(&args, &big)));
        }
        let (small, large) = (median(small), median(large));
        let (refused, status, err) = measure_any(&mut make(&args, &bomb));
        assert!(
            status == Some(2) && err.contains("the trace is refused"),
            "{name} on the bomb: {status:?} {err}"
        );
        println!(
            "| {name} | {:.1} MiB | {:.1} MiB | {:.2}x | {:.2} s | {:.1} MiB in {:.2} s |",
            mib(small),
            mib(large),
            (mib(large) - mib(small)) / big_mib,
            large.time.as_secs_f64(),
            mib(refused),
            refused.time.as_secs_f64()
        );
    }
    eprintln!("bench: trace tools done");
}

/// `wasm-rr view` on a trace of about 1,000,000 events (500,000 random numbers and as many
/// monotonic clock readings): the time and memory to write the page, its size, and the time
/// headless Chromium (`WASM_RR_CHROMIUM`, else `chromium`) takes to render it, by the page's own
/// measure (from the start of navigation to the chart drawn, `data-render-ms`).
fn view_table(p: &Paths, runs: usize) {
    let trace = record_workload(p, "view-1m.cbor", &["mixed", "500000"]);
    let page = p.dir.join("view-1m.html");
    let mut writes = Vec::new();
    let mut said = String::new();
    for _ in 0..runs.min(3) {
        let (cost, status, err) = measure_any(
            Command::new(&p.wasm_rr)
                .arg("view")
                .arg(&trace)
                .arg("-o")
                .arg(&page),
        );
        assert_eq!(status, Some(0), "wasm-rr view: {err}");
        writes.push(cost);
        said = err;
    }
    let write = median(writes);
    // "wasm-rr: wrote PAGE (N events, …"
    let events = said
        .split(" (")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap_or("?")
        .to_string();
    let chromium = std::env::var_os("WASM_RR_CHROMIUM").unwrap_or_else(|| "chromium".into());
    let mut renders = Vec::new();
    for _ in 0..runs.min(3) {
        let profile = tempfile::tempdir().unwrap();
        let out = Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--window-size=1400,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("--dump-dom")
            .arg(format!("file://{}", page.display()))
            .stderr(Stdio::null())
            .output();
        let Ok(out) = out else { break };
        let dom = String::from_utf8_lossy(&out.stdout);
        let ms = dom
            .split(" data-render-ms=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .and_then(|s| s.parse::<f64>().ok());
        match ms {
            Some(ms) => renders.push(ms),
            None => panic!(
                "the page of {events} events did not render: {}",
                &dom[..dom.len().min(300)]
            ),
        }
    }
    renders.sort_by(f64::total_cmp);
    let render = renders
        .get(renders.len() / 2)
        .map_or("no chromium".to_string(), |ms| {
            format!("{:.2} s", ms / 1000.0)
        });
    println!(
        "\n| `wasm-rr view` | events | page size | time to write | peak RSS | render in Chromium (goal < 3 s) |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| a trace of {:.1} MiB | {events} | {:.1} MiB | {:.2} s | {:.1} MiB | {render} |",
        size(&trace) as f64 / (1024.0 * 1024.0),
        size(&page) as f64 / (1024.0 * 1024.0),
        write.time.as_secs_f64(),
        write.rss_kib as f64 / 1024.0
    );
    eprintln!("bench: view done");
}

/// A trace of the same app as `model` whose one block is a zstd frame of 4 GiB of zeros
/// (about 130 KB on disk): a decompression bomb.
fn zstd_bomb(p: &Paths, model: &Path) -> PathBuf {
    use std::io::Write;
    let data = std::fs::read(model).unwrap();
    let (header, _) = wasm_rr_trace::Reader::new(&data[..]).unwrap();
    let mut bytes = Vec::new();
    wasm_rr_trace::encode_header(&header, &mut bytes);
    let mut z = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..4096 {
        z.write_all(&zeros).unwrap();
    }
    let frame = z.finish().unwrap();
    wasm_rr_trace::block::write_block(wasm_rr_trace::block::Codec::Zstd, 1, &frame, &mut bytes);
    let path = p.dir.join("tools-bomb.cbor");
    std::fs::write(&path, &bytes).unwrap();
    path
}

/// One case of an I/O table: its name, the app's arguments, and how its trace's size in bytes
/// is shown in the last column.
struct Case {
    name: &'static str,
    args: Vec<String>,
    trace_bytes: Box<dyn Fn(f64) -> String>,
}

/// A table of I/O cases of `app`, each run plain on `wasmtime run FLAGS`, recorded on the
/// same with the recording component, and replayed by `wasm-rr replay` (which streams the
/// trace from disk): times as the median of `runs` alternating rounds (the recording is made
/// once before, so that the replay has a trace), ratios against plain, and peak RSS.
fn io_table(p: &Paths, runs: usize, title: &str, app: &Path, flags: &[&str], cases: &[Case]) {
    let traces = p
        .dir
        .join(format!("traces-{}", app.file_stem().unwrap().display()));
    let rec = traces.join("app.recording.wasm");
    let trace_dir = wrap_for_recording(p, app, &rec, &traces, &[]);
    println!(
        "\n| {title} | plain `wasmtime run {}` | record on stock | `wasm-rr replay` | peak RSS plain | record | replay | trace bytes |",
        flags.join(" ")
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (i, case) in cases.iter().enumerate() {
        let trace_file = format!("t{i}.cbor");
        let plain = || {
            let mut c = Command::new("wasmtime");
            c.arg("run").args(flags).arg(app).args(&case.args);
            c
        };
        let record = || {
            let mut c = Command::new("wasmtime");
            c.arg("run")
                .args(flags)
                .args(["--dir", &trace_dir])
                .args(["--env", &format!("WASM_RR_TRACE={trace_file}")])
                .arg(&rec)
                .args(&case.args);
            c
        };
        let replay = || {
            let mut c = Command::new(&p.wasm_rr);
            c.arg("replay").arg(app).arg(traces.join(&trace_file));
            c
        };
        // The recording gives the replay its trace; one run of each warms the compile caches.
        run_ok(&mut record());
        run_ok(&mut plain());
        run_ok(&mut replay());
        let mut costs: [Vec<Cost>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..runs {
            costs[0].push(measure(&mut plain()));
            costs[1].push(measure(&mut record()));
            costs[2].push(measure(&mut replay()));
        }
        let [plain, record, replay] = costs.map(median);
        let trace_len = size(&traces.join(&trace_file)) as f64;
        let ms = |c: Cost| c.time.as_secs_f64() * 1e3;
        let mib = |c: Cost| c.rss_kib as f64 / 1024.0;
        println!(
            "| {} | {:.0} ms | {:.2}x | {:.2}x | {:.1} MiB | {:+.1} MiB | {:+.1} MiB | {} |",
            case.name,
            ms(plain),
            ms(record) / ms(plain),
            ms(replay) / ms(plain),
            mib(plain),
            mib(record) - mib(plain),
            mib(replay) - mib(plain),
            (case.trace_bytes)(trace_len),
        );
    }
}

/// The directory of the file tables (`files` in the scratch directory), with `big.bin`, a 1 GiB
/// file of pseudo-random bytes, made the first time.
fn big_file_dir(p: &Paths) -> PathBuf {
    use std::io::Write;
    let data = p.dir.join("files");
    let big = data.join("big.bin");
    if !big.exists() {
        std::fs::create_dir_all(&data).unwrap();
        let mut f = std::fs::File::create(&big).unwrap();
        let chunk: Vec<u8> = (0..1u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for _ in 0..1024 {
            f.write_all(&chunk).unwrap();
        }
    }
    data
}

/// The WASI 0.3 stream table (`--p3`, or part of a full run): S1 = reading a 1 GiB file through
/// `descriptor.read-via-stream`, S2 = writing 1 GiB into a file through `write-via-stream`
/// (`fixtures/src/bin/p3_copy.rs`, 64 KiB reads and writes). Goal: recording and replaying
/// within plain `wasmtime run`'s peak RSS + 64 MiB (the forwarder pumps one chunk at a time).
fn p3_streams_table(p: &Paths, runs: usize) {
    let data = big_file_dir(p);
    let preopen = format!("{}::data", data.display());
    let per_byte = || -> Box<dyn Fn(f64) -> String> {
        Box::new(|t| format!("{:.4} per byte", t / f64::from(1u32 << 30)))
    };
    io_table(
        p,
        runs,
        "WASI 0.3 streams",
        Path::new(wasm_rr_fixtures_artifacts::P3_COPY),
        &["--dir", &preopen],
        &[
            Case {
                name: "S1: read a 1 GiB file through a stream",
                args: vec!["read".into(), "big.bin".into()],
                trace_bytes: per_byte(),
            },
            Case {
                name: "S2: write 1 GiB into a file through a stream",
                args: vec!["write".into(), "out.bin".into(), (1u32 << 30).to_string()],
                trace_bytes: per_byte(),
            },
        ],
    );
}

/// Runs the TCP server `cmd` (`p3_tcp_server`, which prints `listening on ADDR` and takes `n`
/// connections), connects `n` times one after another (each sends a name, ends its sending
/// side and reads the greeting to its end), and waits for the server to exit: what it cost.
// The child is waited for with `wait4`, which also gives its peak memory.
#[allow(clippy::zombie_processes)]
fn serve_connections(cmd: &mut Command, n: usize) -> Cost {
    use std::io::{BufRead, Read, Write};
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("start the TCP server");
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "{cmd:?} ended before it listened"
        );
        if let Some(addr) = line.trim().strip_prefix("listening on ") {
            break addr.to_string();
        }
    };
    // What it prints next, drained.
    let drain = std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    for _ in 0..n {
        let mut conn = std::net::TcpStream::connect(&addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        conn.write_all(b"bench\n").unwrap();
        conn.shutdown(std::net::Shutdown::Write).unwrap();
        let mut reply = Vec::new();
        conn.read_to_end(&mut reply)
            .unwrap_or_else(|e| panic!("{cmd:?}: no greeting: {e}"));
        assert_eq!(reply, b"hello, bench\n");
    }
    let (cost, code) = wait_cost(&child, start);
    assert_eq!(code, Some(0), "{cmd:?} failed");
    let _ = drain.join();
    cost
}

/// The WASI 0.3 listener table (`--p3`, or part of a full run): `fixtures/src/bin/p3_tcp_server.rs`
/// taking L1 = 100 and L2 = 1,000 connections one after another from `tcp-socket.listen`'s
/// stream, plain and recording on stock `wasmtime run -S inherit-network`, then replayed by its
/// self-replaying component (no flags, no network) and `wasm-rr replay`. Goal: peak RSS flat in
/// the number of connections (a listener's sockets hold nothing in the forwarder's heap).
fn p3_listener_table(p: &Paths, runs: usize) {
    let app = PathBuf::from(wasm_rr_fixtures_artifacts::P3_TCP_SERVER);
    let recording = p.dir.join("p3-server.recording.wasm");
    run_ok(&mut wrap_command(p, &app, &recording));
    println!(
        "\n| WASI 0.3 TCP server | plain `wasmtime run -S inherit-network` | record on stock | self-replaying | `wasm-rr replay` | peak RSS plain | record | self-replaying | `wasm-rr replay` | trace bytes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, n) in [("L1", 100usize), ("L2", 1000)] {
        let traces = p.dir.join(format!("p3-server-{n}"));
        let replaying = p.dir.join(format!("p3-server-{n}.replay.wasm"));
        let trace = traces.join("trace.cbor");
        let preopen = format!("{}::/wasm-rr", traces.display());
        let server = |component: &Path, flags: &[&str]| {
            let mut c = Command::new("wasmtime");
            c.args(["run", "-S", "inherit-network"])
                .args(flags)
                .arg(component)
                .arg(n.to_string());
            c
        };
        let (mut plain, mut record, mut replay, mut embedded) = (vec![], vec![], vec![], vec![]);
        // One round more than measured: the first warms the compile caches.
        std::fs::create_dir_all(&traces).unwrap();
        for round in 0..=runs {
            clear_dir(&traces);
            let costs = (
                serve_connections(&mut server(&app, &[]), n),
                serve_connections(&mut server(&recording, &["--dir", &preopen]), n),
            );
            if round == 0 {
                run_ok(&mut wrap_replay_command(p, &trace, &app, &replaying));
            }
            let replayed = (
                measure(Command::new("wasmtime").arg("run").arg(&replaying)),
                measure(Command::new(&p.wasm_rr).arg("replay").arg(&app).arg(&trace)),
            );
            if round > 0 {
                plain.push(costs.0);
                record.push(costs.1);
                replay.push(replayed.0);
                embedded.push(replayed.1);
            }
        }
        let costs = [
            median(plain),
            median(record),
            median(replay),
            median(embedded),
        ];
        let ms = |c: &Cost| c.time.as_secs_f64() * 1e3;
        let mib = |c: &Cost| c.rss_kib as f64 / 1024.0;
        println!(
            "| {name}: {n} connections | {:.0} ms | {:.2}x | {:.2}x | {:.2}x | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.0} per connection |",
            ms(&costs[0]),
            ms(&costs[1]) / ms(&costs[0]),
            ms(&costs[2]) / ms(&costs[0]),
            ms(&costs[3]) / ms(&costs[0]),
            mib(&costs[0]),
            mib(&costs[1]),
            mib(&costs[2]),
            mib(&costs[3]),
            size(&trace) as f64 / n as f64
        );
    }
}

/// The file-access table: F1 and F2.
fn files_table(p: &Paths, runs: usize) {
    let data = big_file_dir(p);
    std::fs::create_dir_all(data.join("many")).unwrap();
    {
        for i in 0..10_000 {
            std::fs::write(data.join(format!("many/f{i}.txt")), format!("file {i}\n")).unwrap();
        }
    }
    let small: f64 = (0..10_000)
        .map(|i| format!("file {i}\n").len() as f64)
        .sum();
    let preopen = format!("{}::data", data.display());
    io_table(
        p,
        runs,
        "file access",
        Path::new(wasm_rr_fixtures_artifacts::FS_CAT),
        &["--dir", &preopen],
        &[
            Case {
                name: "F1: read a 1 GiB file",
                args: vec!["data/big.bin".into()],
                trace_bytes: Box::new(|t| {
                    format!("{:.4} per byte read", t / f64::from(1u32 << 30))
                }),
            },
            Case {
                name: "F2: stat + read 10,000 small files",
                args: vec!["data/many".into(), "many".into(), "10000".into()],
                trace_bytes: Box::new(move |t| format!("{:.4} per byte read", t / small)),
            },
        ],
    );
}

/// A loopback server for the network table: for every connection, either echoes 16-byte
/// messages (`rounds`) or sends 1 GiB and closes (`download`). Returns its address.
fn network_server(download: bool) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                if download {
                    let chunk: Vec<u8> = (0..1u32 << 20)
                        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                        .collect();
                    for _ in 0..1024 {
                        if stream.write_all(&chunk).is_err() {
                            return;
                        }
                    }
                } else {
                    let mut buf = [0u8; 16];
                    while stream.read_exact(&mut buf).is_ok() {
                        if stream.write_all(&buf).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

/// The network table: N1 and N2.
fn network_table(p: &Paths, runs: usize) {
    io_table(
        p,
        runs,
        "network",
        Path::new(wasm_rr_fixtures_artifacts::NET_OPS),
        &["-S", "inherit-network"],
        &[
            Case {
                name: "N1: 10,000 TCP round trips of 16 bytes",
                args: vec!["rounds".into(), network_server(false), "10000".into()],
                trace_bytes: Box::new(|t| format!("{:.0} per round trip", t / 10_000.0)),
            },
            Case {
                name: "N2: a 1 GiB TCP download",
                args: vec!["download".into(), network_server(true)],
                trace_bytes: Box::new(|t| {
                    format!("{:.4} per byte received", t / f64::from(1u32 << 30))
                }),
            },
        ],
    );
}

/// The HTTP table: H1 and H2.
fn http_table(p: &Paths, runs: usize) {
    let server = http_server::start();
    let gib = 1u64 << 30;
    io_table(
        p,
        runs,
        "HTTP",
        Path::new(wasm_rr_fixtures_artifacts::HTTP_CLIENT),
        &["-S", "http"],
        &[
            Case {
                name: "H1: 1,000 small GETs, one after another",
                args: vec!["gets".into(), server.url("/hello"), "1000".into()],
                // Each exchange's body is "hello", 5 bytes.
                trace_bytes: Box::new(|t| {
                    format!("{:.0} per exchange beyond its 5 B body", t / 1000.0 - 5.0)
                }),
            },
            Case {
                name: "H2: a 1 GiB download",
                args: vec!["download".into(), server.url(&format!("/bytes/{gib}"))],
                trace_bytes: Box::new(move |t| format!("{:.4} per byte received", t / gib as f64)),
            },
        ],
    );
}

/// What `wrk` measured of one server: requests per second and latency percentiles.
#[derive(Clone, Copy)]
struct Load {
    rps: f64,
    p50: Duration,
    p99: Duration,
}

/// A `wrk` duration: `812.00us`, `1.23ms`, `2.00s`.
fn wrk_duration(text: &str) -> Option<Duration> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else {
        return None;
    };
    Some(Duration::from_secs_f64(number.parse::<f64>().ok()? * scale))
}

/// Serves `component` with stock `wasmtime serve --addr 127.0.0.1:0 ARGS` and loads it with
/// `wrk --latency -t1 -c4 -d5s` (one thread, four connections): what wrk measured, how many
/// requests it made, and how many of them were not answered 2xx or 3xx.
fn load_serve(args: &[&str], component: &Path) -> (Load, u64, u64) {
    let mut cmd = Command::new("wasmtime");
    cmd.arg("serve")
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .arg(component);
    load_server(cmd, "Serving HTTP on http://")
}

/// Starts the server `cmd` (listening on port 0), finds its address after `marker` on its
/// stderr, and loads it as [`load_serve`] does; then stops it with SIGINT.
fn load_server(mut cmd: Command, marker: &str) -> (Load, u64, u64) {
    use std::io::BufRead;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server");
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server ended before serving")
            .unwrap();
        if let Some(rest) = line.split(marker).nth(1) {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    // Keep draining stderr, so that the server never blocks on a full pipe.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    let out = Command::new("wrk")
        .args(["--latency", "-t1", "-c4", "-d5s"])
        .arg(format!("http://{addr}/bench"))
        .output()
        .expect("run wrk");
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let _ = child.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|r| r.trim().to_string()))
            .unwrap_or_else(|| panic!("no {prefix:?} in wrk's output:\n{text}"))
    };
    let requests = text
        .lines()
        .find_map(|l| {
            l.split_once(" requests in ")
                .map(|(n, _)| n.trim().parse().ok())
        })
        .flatten()
        .unwrap_or_else(|| panic!("no request count in wrk's output:\n{text}"));
    let failed = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .map_or(0, |n| n.trim().parse().unwrap_or(0));
    let load = Load {
        rps: field("Requests/sec:").parse().expect("requests per second"),
        p50: wrk_duration(&field("50%")).expect("p50"),
        p99: wrk_duration(&field("99%")).expect("p99"),
    };
    (load, requests, failed)
}

/// The median of what `f` reads of each of `v`.
fn median_by(v: &[Load], f: &dyn Fn(&Load) -> f64) -> f64 {
    let mut x: Vec<f64> = v.iter().map(f).collect();
    x.sort_by(f64::total_cmp);
    x[x.len() / 2]
}

/// The serve table (`--serve`, or part of a full run): the wstd HTTP server fixture
/// (`fixtures/src/bin/wstd_server.rs`, one small response per request) under stock `wasmtime
/// serve -Scli`, plain and recording (one trace per request, into a directory), with
/// wasmtime's default flags and with `-O pooling-memory-keep-resident=4194304 -O
/// pooling-table-keep-resident=4194304`, loaded by `wrk` (Debian's; the table is skipped,
/// saying so, without it) with one thread and four connections for 5 s: requests per second
/// and latency p50/p99, medians of `runs` runs, the variants alternating run by run; ratios
/// against plain with the same flags. With the default flags it also loads the recording
/// component wrapped with `--sample 10`, with `--sample 10 --max-traces 1000 --when-full
/// rotate` (a full directory of 1000 traces, listed at every recorded request), and with
/// `--sample 4294967295` (records nothing: the cost of the composition alone); with both, the
/// [bare composition](bare_composition) (the app and one tiny component, nothing of wasm-rr's).
/// Every request must be answered 2xx.
fn serve_table(p: &Paths, runs: usize) {
    if Command::new("wrk").arg("-v").output().is_err() {
        println!(
            "
(the serve table needs wrk on PATH: `apt install wrk`)"
        );
        return;
    }
    let app = Path::new(wasm_rr_fixtures_artifacts::WSTD_SERVER);
    let dir = p.dir.join("serve");
    let traces = dir.join("traces");
    let wrapped = |name: &str, flags: &[&str]| {
        let rec = dir.join(format!("{name}.wasm"));
        (wrap_for_recording(p, app, &rec, &traces, flags), rec)
    };
    let (trace_dir, every) = wrapped("recording", &[]);
    let (_, sampled) = wrapped("sampled", &["--sample", "10"]);
    let (_, rotating) = wrapped(
        "rotating",
        &[
            "--sample",
            "10",
            "--max-traces",
            "1000",
            "--when-full",
            "rotate",
        ],
    );
    let (_, nothing) = wrapped("nothing", &["--sample", "4294967295"]);
    let bare = dir.join("bare.wasm");
    std::fs::write(&bare, bare_composition(app)).unwrap();
    // (`-W concurrency-support=n` is no choice here: wasmtime serve 48 then answers every
    // request 500, "cannot use `run_concurrent` when Config::concurrency_support disabled".
    // Keeping 4 MiB of each linear memory and table resident between instances replaces the
    // pooling allocator's page faults and `madvise` calls with a memset.)
    let keep: &[&str] = &[
        "-O",
        "pooling-memory-keep-resident=4194304",
        "-O",
        "pooling-table-keep-resident=4194304",
    ];
    println!(
        "\n| `wasmtime serve -Scli` (wrk -t1 -c4, 5 s) | requests/s | x plain | p50 | p99 | p50 added | p99 added | traces written / requests |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    // (label, component, the trace directory's files before each run: None empties it)
    type Variant<'a> = (&'a str, &'a Path, Option<usize>);
    let full: &[Variant] = &[
        ("recording", &every, None),
        ("recording --sample 10", &sampled, None),
        (
            "recording --sample 10 --max-traces 1000 --when-full rotate (directory full)",
            &rotating,
            Some(1000),
        ),
        ("composition alone (--sample 4294967295)", &nothing, None),
        (
            "bare composition: the app + one tiny component",
            &bare,
            None,
        ),
    ];
    let resident: &[Variant] = &[full[0], full[4]];
    let flag_sets: [(&str, &[&str], &[Variant]); 2] = [
        ("default flags", &[], full),
        ("keep-resident 4 MiB", keep, resident),
    ];
    let med = median_by;
    let (rps, p50, p99) = (
        |l: &Load| l.rps,
        |l: &Load| l.p50.as_secs_f64() * 1e3,
        |l: &Load| l.p99.as_secs_f64() * 1e3,
    );
    for (label, flags, variants) in flag_sets {
        let mut plain = Vec::new();
        let mut loads: Vec<Vec<Load>> = vec![Vec::new(); variants.len()];
        let mut written = vec![(0u64, 0u64); variants.len()];
        let mut failed = 0;
        for _ in 0..runs {
            let (load, _, plain_failed) = load_serve(&[&["-Scli"], flags].concat(), app);
            plain.push(load);
            failed += plain_failed;
            for (i, (_, component, preset)) in variants.iter().enumerate() {
                for e in std::fs::read_dir(&traces).unwrap() {
                    std::fs::remove_file(e.unwrap().path()).unwrap();
                }
                for k in 0..preset.unwrap_or(0) {
                    let name = format!("req-{k:020}-00000000.cbor");
                    std::fs::write(traces.join(name), [0u8; 4096]).unwrap();
                }
                let (load, requests, variant_failed) = load_serve(
                    &[&["-Scli", "--dir", &trace_dir], flags].concat(),
                    component,
                );
                loads[i].push(load);
                // (A rotating directory stays full: its column says how full, at most.)
                let files = std::fs::read_dir(&traces).unwrap().count() as u64;
                written[i].0 = match preset {
                    Some(_) => written[i].0.max(files),
                    None => written[i].0 + files,
                };
                written[i].1 += requests;
                failed += variant_failed;
            }
        }
        assert_eq!(
            failed, 0,
            "{label}: {failed} requests were not answered 2xx"
        );
        let plain_rps = med(&plain, &rps);
        println!(
            "| plain, {label} | {plain_rps:.0} | 1.00x | {:.2} ms | {:.2} ms | | | |",
            med(&plain, &p50),
            med(&plain, &p99)
        );
        for (i, (name, _, preset)) in variants.iter().enumerate() {
            let v = &loads[i];
            let traces = match preset {
                Some(_) => format!("{} in the directory, at most", written[i].0),
                None => format!("{} / {}", written[i].0, written[i].1),
            };
            println!(
                "| {name}, {label} | {:.0} | {:.2}x | {:.2} ms | {:.2} ms | {:+.2} ms | {:+.2} ms | {traces} |",
                med(v, &rps),
                med(v, &rps) / plain_rps,
                med(v, &p50),
                med(v, &p99),
                med(v, &p50) - med(&plain, &p50),
                med(v, &p99) - med(&plain, &p99),
            );
        }
    }
}

/// The WASI 0.3 serve table (`--p3`, `--p3-serve`, or part of a full run): the `wasip3`
/// service fixture `p3_echo_service` (each request: its method, path and body read, one
/// random draw, a short body written through a stream) under stock `wasmtime serve -Scli`
/// with its default flags (which reuse an instance for up to 128 requests, 16 at once),
/// plain and recording (one trace per instance), and recorded by `wasm-rr serve` on the
/// embedded wasmtime (the same reuse), loaded by `wrk` with one thread and four
/// connections for 5 s: requests per second and latency p50/p99, medians of `runs` runs,
/// alternating; the traces written, the requests they hold, and their bytes per request.
/// Every request must be answered 2xx, and every answered request must be in a trace.
fn p3_serve_table(p: &Paths, runs: usize) {
    if Command::new("wrk").arg("-v").output().is_err() {
        println!(
            "
(the WASI 0.3 serve table needs wrk on PATH: `apt install wrk`)"
        );
        return;
    }
    let app = Path::new(wasm_rr_fixtures_artifacts::P3_ECHO_SERVICE);
    let dir = p.dir.join("p3-serve");
    let traces = dir.join("traces");
    let rec = dir.join("recording.wasm");
    let trace_dir = wrap_for_recording(p, app, &rec, &traces, &[]);
    let (mut plain, mut recorded, mut embedded) = (Vec::new(), Vec::new(), Vec::new());
    let mut failed = 0;
    // Per recording way: the requests wrk made, those in the traces, the traces, their bytes.
    let (mut stock, mut ours) = (Served::default(), Served::default());
    for _ in 0..runs {
        let (load, _, plain_failed) = load_serve(&["-Scli"], app);
        plain.push(load);
        failed += plain_failed;
        clear_dir(&traces);
        let (load, made, rec_failed) = load_serve(&["-Scli", "--dir", &trace_dir], &rec);
        recorded.push(load);
        failed += rec_failed;
        stock.count(p, &traces, made);
        clear_dir(&traces);
        let mut cmd = Command::new(&p.wasm_rr);
        cmd.args(["serve", "--addr", "127.0.0.1:0", "-t"])
            .arg(&traces)
            .arg(app);
        let (load, made, rec_failed) = load_server(cmd, "serving HTTP on http://");
        embedded.push(load);
        failed += rec_failed;
        ours.count(p, &traces, made);
    }
    assert_eq!(failed, 0, "{failed} requests were not answered 2xx");
    let med = median_by;
    let (rps, p50, p99) = (
        |l: &Load| l.rps,
        |l: &Load| l.p50.as_secs_f64() * 1e3,
        |l: &Load| l.p99.as_secs_f64() * 1e3,
    );
    println!(
        "\n| WASI 0.3 service, `wasmtime serve -Scli` (wrk -t1 -c4, 5 s) | requests/s | x plain | p50 | p99 | traces (instances) | requests in them / answered | trace bytes per request |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let plain_rps = med(&plain, &rps);
    println!(
        "| plain | {plain_rps:.0} | 1.00x | {:.2} ms | {:.2} ms | | | |",
        med(&plain, &p50),
        med(&plain, &p99)
    );
    for (what, loads, served) in [
        ("recording", &recorded, &stock),
        (
            "`wasm-rr serve` (embedded wasmtime 48.0.8)",
            &embedded,
            &ours,
        ),
    ] {
        println!(
            "| {what} | {:.0} | {:.2}x | {:.2} ms | {:.2} ms | {} | {} / {} | {:.0} |",
            med(loads, &rps),
            med(loads, &rps) / plain_rps,
            med(loads, &p50),
            med(loads, &p99),
            served.files,
            served.in_traces,
            served.requests,
            served.bytes as f64 / served.in_traces.max(1) as f64
        );
    }
}

/// What the recordings of a service's runs hold: the requests wrk made, the answered requests
/// their traces hold, the traces and their bytes.
#[derive(Default)]
struct Served {
    requests: u64,
    in_traces: u64,
    files: u64,
    bytes: u64,
}

impl Served {
    /// Counts the traces in `traces` (`show --requests --json` of each) of a run in which wrk
    /// made `made` requests.
    fn count(&mut self, p: &Paths, traces: &Path, made: u64) {
        self.requests += made;
        for e in std::fs::read_dir(traces).unwrap() {
            let path = e.unwrap().path();
            self.files += 1;
            self.bytes += size(&path);
            let out = Command::new(&p.wasm_rr)
                .args(["show", "--requests", "--json"])
                .arg(&path)
                .output()
                .unwrap();
            let listed: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|_| panic!("show --requests {}", path.display()));
            self.in_traces += listed["requests"]
                .as_array()
                .map_or(0, |r| r.iter().filter(|r| r["status"] == 200).count())
                as u64;
        }
    }
}

/// Removes every file in `dir`.
fn clear_dir(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        std::fs::remove_file(e.unwrap().path()).unwrap();
    }
}

/// The app with one tiny component composed in, and nothing of wasm-rr's: wasm-rr's replay
/// stubs (`interposer/replay-stubs`, `no_std`, one linear memory) answer the app's
/// `wasi:cli/environment` import (no variables, no arguments), to measure what one more
/// component instance costs `wasmtime serve` per request.
fn bare_composition(app: &Path) -> Vec<u8> {
    use wac_graph::types::Package;
    use wac_graph::{CompositionGraph, EncodeOptions};
    let stubs_bytes = include_bytes!(env!("WASM_RR_REPLAY_STUBS"));
    let mut graph = CompositionGraph::new();
    let app_pkg = Package::from_file("bench:app", None, app, graph.types_mut()).expect("the app");
    let stubs_pkg =
        Package::from_bytes("bench:stubs", None, stubs_bytes.to_vec(), graph.types_mut())
            .expect("the replay stubs");
    let name_of = |graph: &CompositionGraph, pkg: &Package, imports: bool, prefix: &str| {
        let world = &graph.types()[pkg.ty()];
        let names = if imports {
            &world.imports
        } else {
            &world.exports
        };
        names
            .keys()
            .find(|k| k.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix}"))
            .clone()
    };
    let import = name_of(&graph, &app_pkg, true, "wasi:cli/environment@");
    let export = name_of(&graph, &stubs_pkg, false, "wasi:cli/environment@");
    let handler = name_of(&graph, &app_pkg, false, "wasi:http/incoming-handler@");
    let app_id = graph.register_package(app_pkg).unwrap();
    let stubs_id = graph.register_package(stubs_pkg).unwrap();
    let app_node = graph.instantiate(app_id);
    let stubs_node = graph.instantiate(stubs_id);
    let environment = graph.alias_instance_export(stubs_node, &export).unwrap();
    graph
        .set_instantiation_argument(app_node, &import, environment)
        .unwrap();
    let exported = graph.alias_instance_export(app_node, &handler).unwrap();
    graph.export(exported, &handler).unwrap();
    graph.encode(EncodeOptions::default()).expect("encoding")
}

/// The toolchain table: every toolchain's fixture, recorded on stock `wasmtime run` and
/// replayed on each runtime.
fn toolchains_table(p: &Paths, runs: usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let wasmtime2 = root.join("target/tools/wasmtime-49/wasmtime_cli/wasmtime");
    let node = root.join("scripts/replay-node");
    let dir = p.dir.join("toolchains");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("input.txt"), "the input file\n").unwrap();
    let server = http_server::start();
    let preopen = format!("{}::data", data.display());
    let files: Vec<String> = vec!["--dir".into(), preopen];
    let http: Vec<String> = vec!["-S".into(), "http".into()];
    use wasm_rr_fixtures_artifacts as f;
    // (toolchain, fixture, wasmtime flags, arguments, replays on Node.js)
    type Row<'a> = (&'a str, &'a str, &'a Vec<String>, Vec<String>, bool);
    let cases: Vec<Row> = vec![
        ("Rust std", f::FS_OPS, &files, vec!["data".into()], true),
        (
            "C, wasi-libc, adapter 50",
            f::C_GUEST_V50,
            &files,
            vec!["data".into()],
            true,
        ),
        (
            "Python, componentize-py",
            f::PYTHON_APP,
            &files,
            vec!["x".into()],
            true,
        ),
        (
            "JavaScript, componentize-qjs --sync",
            f::JS_APP_SYNC,
            &files,
            vec!["x".into()],
            true,
        ),
        (
            "JavaScript, componentize-qjs (async ABI)",
            f::JS_APP_ASYNC,
            &files,
            vec!["x".into()],
            false,
        ),
        (
            "JavaScript, componentize-js (fetch)",
            f::COMPONENTIZE_JS_APP,
            &http,
            vec![server.url("/hello")],
            true,
        ),
        (
            "Rust, wstd (2 POSTs)",
            f::WSTD_CLIENT,
            &http,
            vec![server.url("/echo"), server.url("/echo")],
            true,
        ),
        (
            "Rust, waki (GET)",
            f::WAKI_CLIENT,
            &http,
            vec![server.url("/hello")],
            true,
        ),
    ];
    println!(
        "\n| toolchain | plain `wasmtime run` | record on stock | self-replaying on wasmtime 48 | on wasmtime 49 | on Node.js (incl. jco transpile) |"
    );
    println!("|---|---|---|---|---|---|");
    for (i, (name, app, flags, args, on_node)) in cases.iter().enumerate() {
        let traces = dir.join(format!("traces-{i}"));
        let rec = dir.join(format!("rec-{i}.wasm"));
        let replay = dir.join(format!("replay-{i}.wasm"));
        let trace_dir = wrap_for_recording(p, Path::new(app), &rec, &traces, &[]);
        let plain = || {
            let mut c = Command::new("wasmtime");
            c.arg("run").args(*flags).arg(app).args(args);
            c
        };
        let record = || {
            let mut c = Command::new("wasmtime");
            c.arg("run")
                .args(*flags)
                .args(["--dir", &trace_dir])
                .arg(&rec)
                .args(args);
            c
        };
        run_ok(&mut record());
        run_ok(
            Command::new(&p.wasm_rr)
                .args(["wrap", "--replay"])
                .arg(traces.join("trace.cbor"))
                .arg(app)
                .arg("-o")
                .arg(&replay),
        );
        let on = |program: &Path, run_arg: bool| {
            let mut c = Command::new(program);
            if run_arg {
                c.arg("run");
            }
            c.arg(&replay);
            c
        };
        let mut costs: [Vec<Cost>; 5] = Default::default();
        for _ in 0..runs {
            costs[0].push(measure(&mut plain()));
            costs[1].push(measure(&mut record()));
            costs[2].push(measure(&mut on(Path::new("wasmtime"), true)));
            if wasmtime2.exists() {
                costs[3].push(measure(&mut on(&wasmtime2, true)));
            }
            if *on_node {
                costs[4].push(measure(&mut on(&node, false)));
            }
        }
        let ms = |v: &Vec<Cost>| {
            if v.is_empty() {
                "-".to_string()
            } else {
                format!("{:.0} ms", median(v.clone()).time.as_secs_f64() * 1e3)
            }
        };
        let plain_ms = median(costs[0].clone()).time.as_secs_f64();
        let record_x = median(costs[1].clone()).time.as_secs_f64() / plain_ms;
        println!(
            "| {name} | {:.0} ms | {record_x:.2}x | {} | {} | {} |",
            plain_ms * 1e3,
            ms(&costs[2]),
            ms(&costs[3]),
            ms(&costs[4]),
        );
    }
}

fn wasmtime_version(program: &Path) -> String {
    Command::new(program)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "?".into())
}
