//! Record/replay overhead against plain `wasmtime run`, trace size and wrap time.
//!
//! `cargo bench -p wasm-rr --bench overhead [-- CALLS]` (default 1,000,000 calls). The workload
//! is `fixtures/src/bin/random_loop.rs`: CALLS calls of `wasi:random/random.get-random-u64`.
//! Every figure is the best of 3 whole-process runs (compilation included), as a user sees it.
//! Needs `wasmtime` 48.0.8 on PATH (`scripts/setup`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 3;

fn best_of(mut make: impl FnMut() -> Command) -> Duration {
    (0..RUNS)
        .map(|_| {
            let mut cmd = make();
            cmd.stdout(Stdio::null()).stderr(Stdio::piped());
            let start = Instant::now();
            let out = cmd.output().expect("run benchmark command");
            let took = start.elapsed();
            assert!(
                out.status.success(),
                "{cmd:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            took
        })
        .min()
        .unwrap()
}

fn cmd(program: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Command {
    let mut c = Command::new(program);
    for a in args {
        c.arg(a);
    }
    c
}

fn row(name: &str, t: Duration, base: Duration) {
    println!(
        "{name:<58} {:>9.1} ms {:>7.2}x",
        t.as_secs_f64() * 1e3,
        t.as_secs_f64() / base.as_secs_f64()
    );
}

fn main() {
    let calls = std::env::args()
        .skip(1)
        .find(|a| a.parse::<u64>().is_ok())
        .unwrap_or_else(|| "1000000".into());
    let wasm_rr = env!("CARGO_BIN_EXE_wasm-rr");
    let app = wasm_rr_fixtures_artifacts::RANDOM_LOOP;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rec = d.join("rec.wasm");
    let rep = d.join("rep.wasm");
    let traces = d.join("traces");
    std::fs::create_dir(&traces).unwrap();
    let preopen = format!("{}::/wasm-rr", traces.display());
    let fast = ["-S", "p3=n", "-W", "concurrency-support=n"];

    let wrap_record = best_of(|| cmd(wasm_rr, &[&"wrap", &app, &"-o", &rec]));

    println!("workload: {calls} calls of get-random-u64 (fixtures/src/bin/random_loop.rs)");
    println!("{:<58} {:>12} {:>8}", "", "best of 3", "ratio");
    let plain = best_of(|| cmd("wasmtime", &[&"run", &app, &calls]));
    row("plain `wasmtime run`", plain, plain);
    let plain_fast = best_of(|| {
        let mut c = cmd("wasmtime", &[&"run"]);
        c.args(fast).arg(app).arg(&calls);
        c
    });
    row(
        "plain `wasmtime run -S p3=n -W concurrency-support=n`",
        plain_fast,
        plain,
    );
    let stock = best_of(|| cmd("wasmtime", &[&"run", &"--dir", &preopen, &rec, &calls]));
    row("record on stock `wasmtime run`", stock, plain);
    let stock_fast = best_of(|| {
        let mut c = cmd("wasmtime", &[&"run", &"--dir", &preopen]);
        c.args(fast).arg(&rec).arg(&calls);
        c
    });
    row(
        "record on stock wasmtime, -S p3=n -W concurrency-support=n",
        stock_fast,
        plain_fast,
    );
    let trace = traces.join("trace.cbor");
    let embedded = best_of(|| {
        cmd(
            wasm_rr,
            &[
                &"record",
                &app,
                &"-t",
                &d.join("embedded.cbor"),
                &"--",
                &calls,
            ],
        )
    });
    row(
        "`wasm-rr record` (embedded, wraps + records)",
        embedded,
        plain,
    );

    let wrap_replay = best_of(|| cmd(wasm_rr, &[&"wrap", &"--replay", &trace, &app, &"-o", &rep]));
    let replay_stock = best_of(|| cmd("wasmtime", &[&"run", &rep]));
    row(
        "self-replaying component on stock `wasmtime run`",
        replay_stock,
        plain,
    );
    let replay_fast = best_of(|| {
        let mut c = cmd("wasmtime", &[&"run"]);
        c.args(fast).arg(&rep);
        c
    });
    row(
        "self-replaying, -S p3=n -W concurrency-support=n",
        replay_fast,
        plain_fast,
    );
    let replay_embedded = best_of(|| cmd(wasm_rr, &[&"replay", &app, &trace]));
    row(
        "`wasm-rr replay` (embedded, wraps + replays)",
        replay_embedded,
        plain,
    );

    let bytes = std::fs::metadata(&trace).unwrap().len();
    let events = wasm_rr_trace::Trace::from_cbor(&std::fs::read(&trace).unwrap())
        .unwrap()
        .events
        .len();
    println!();
    println!(
        "trace: {bytes} bytes, {events} events, {:.1} bytes/event",
        bytes as f64 / events as f64
    );
    println!(
        "wrap (record): {:.1} ms; wrap --replay ({} MB trace): {:.1} ms; sizes: app {} KB, recording {} KB, self-replaying {} KB",
        wrap_record.as_secs_f64() * 1e3,
        bytes / 1_000_000,
        wrap_replay.as_secs_f64() * 1e3,
        size(Path::new(app)),
        size(&rec),
        size(&rep)
    );
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len() / 1000
}
