//! End to end through the `wasm-rr` CLI and its embedded wasmtime: record, replay, convert,
//! show, and every refusal with its exact message.

mod common;

use common::*;
use wasm_rr_trace::{Request, Trace, cli, clocks, random, streams};

use common::record_embedded as record;

#[test]
fn record_then_replay_with_the_default_trace_is_byte_identical_twice() {
    let dir = scratch();
    let app = fixture("read_stdin");
    let recorded = record(
        dir.path(),
        &app,
        &[],
        &["some", "arguments"],
        Some(b"abc\n"),
    );
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert!(dir.path().join("wasm-rr-trace.cbor").exists());
    assert!(recorded.stderr().contains("wasm-rr: recorded "));
    for _ in 0..2 {
        let replayed = replay_embedded(dir.path(), &app, None);
        assert_eq!(replayed.code, recorded.code);
        assert_eq!(replayed.stdout(), "read 4 bytes\nABC\n");
        assert_eq!(replayed.stdout, recorded.stdout);
        assert_eq!(replayed.stderr(), recorded.guest_stderr());
    }
}

#[test]
fn record_json_with_dir_and_env_then_replay() {
    let dir = scratch();
    let app = fixture("print_args");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let recorded = record(
        dir.path(),
        &app,
        &[
            "-t",
            "good-run.json",
            "--env",
            "MODE=prod",
            "--dir",
            &format!("{}::/data", data.display()),
        ],
        &["--config", "prod"],
        None,
    );
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    let text = std::fs::read_to_string(dir.path().join("good-run.json")).unwrap();
    assert!(
        text.contains(
            "{\"call\":{\"cli\":{\"get-arguments\":{}}},\"answer\":[\"print_args.wasm\",\"--config\",\"prod\"]}"
        ),
        "{text}"
    );
    let replayed = run(
        wasm_rr()
            .current_dir(dir.path())
            .args(["replay"])
            .arg(&app)
            .arg("good-run.json"),
        None,
    );
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
    assert_eq!(replayed.stdout, recorded.stdout);
    assert!(replayed.stdout().contains("env MODE=prod\n"));
}

#[test]
fn exit_code_on_the_embedded_host() {
    let dir = scratch();
    let app = fixture("exit_code");
    let recorded = record(dir.path(), &app, &[], &[], None);
    assert_eq!(recorded.code, Some(3));
    let replayed = replay_embedded(dir.path(), &app, None);
    assert_eq!(replayed.code, Some(3));
    assert_eq!(replayed.stdout(), "exiting with 3\n");
    assert_eq!(replayed.stderr(), "this goes to stderr\n");
}

#[test]
fn convert_round_trips_without_loss() {
    let dir = scratch();
    let app = fixture("print_random");
    assert_eq!(record(dir.path(), &app, &[], &[], None).code, Some(0));
    let cbor = dir.path().join("wasm-rr-trace.cbor");
    let json = dir.path().join("trace.json");
    let back = dir.path().join("back.cbor");
    let r = run(wasm_rr().arg("convert").arg(&cbor).arg(&json), None);
    assert_eq!(r.code, Some(0), "{}", r.stderr());
    let r = run(wasm_rr().arg("convert").arg(&json).arg(&back), None);
    assert_eq!(r.code, Some(0), "{}", r.stderr());
    // The same header and events (the blocks may be cut elsewhere), and so the same JSON.
    assert_eq!(load(&back), load(&cbor));
    let json2 = dir.path().join("trace2.json");
    let r = run(wasm_rr().arg("convert").arg(&back).arg(&json2), None);
    assert_eq!(r.code, Some(0), "{}", r.stderr());
    assert_eq!(
        std::fs::read(&json2).unwrap(),
        std::fs::read(&json).unwrap()
    );
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(
        text.starts_with("{\n\"header\": {\n  \"wasm-rr-trace\": 11,"),
        "{text}"
    );
    // The JSON form replays like the CBOR one.
    let replayed = run(wasm_rr().arg("replay").arg(&app).arg(&json), None);
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
}

#[test]
fn show_lists_events() {
    let dir = scratch();
    let app = fixture("print_random");
    assert_eq!(record(dir.path(), &app, &[], &[], None).code, Some(0));
    let r = run(
        wasm_rr()
            .arg("show")
            .arg(dir.path().join("wasm-rr-trace.cbor")),
        None,
    );
    assert_eq!(r.code, Some(0));
    let out = r.stdout();
    assert!(
        out.starts_with("trace format 11, recorded by wasm-rr "),
        "{out}"
    );
    assert!(
        out.contains(" wasi:random/random.get-random-u64() -> "),
        "{out}"
    );
}

#[test]
fn wrong_component_is_refused() {
    let dir = scratch();
    assert_eq!(
        record(dir.path(), &fixture("print_time"), &[], &[], None).code,
        Some(0)
    );
    let other = fixture("print_random");
    let r = run(
        wasm_rr().current_dir(dir.path()).arg("replay").arg(&other),
        None,
    );
    assert_eq!(r.code, Some(2));
    let trace = load(&dir.path().join("wasm-rr-trace.cbor"));
    let app_sha = wasm_rr_trace::sha256_hex(&std::fs::read(&other).unwrap());
    assert_eq!(
        r.stderr(),
        format!(
            "wasm-rr: error: cannot replay wasm-rr-trace.cbor with {}: the trace was recorded from a different component (sha256 {}), not this one (sha256 {app_sha})\n",
            other.display(),
            trace.header.component_sha256
        )
    );
    assert_eq!(r.stdout(), "");
}

#[test]
fn truncated_trace_replays_up_to_the_cut_then_reports_divergence() {
    let dir = scratch();
    let app = fixture("print_random");
    // As the recorder wrote it: one block per flush.
    let recorded = record(dir.path(), &app, &["--no-compress"], &[], None);
    assert_eq!(recorded.code, Some(0));
    let full = std::fs::read(dir.path().join("wasm-rr-trace.cbor")).unwrap();
    let whole = load(&dir.path().join("wasm-rr-trace.cbor"));
    let cut = dir.path().join("cut.cbor");
    std::fs::write(&cut, &full[..full.len() - 3]).unwrap();
    let kept = load(&cut);
    assert!(!kept.events.is_empty() && kept.events.len() < whole.events.len());
    assert_eq!(kept.events[..], whole.events[..kept.events.len()]);
    let r = run(wasm_rr().arg("replay").arg(&app).arg(&cut), None);
    assert_eq!(r.code, Some(1), "{}", r.stderr());
    let err = r.stderr();
    assert!(
        err.contains(" bytes are not a whole block (the recording was cut off) and were ignored\n"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "wasm-rr: replay diverged at event {}\n",
            kept.events.len()
        )),
        "{err}"
    );
    assert!(err.contains("wasm-rr: replay diverged at event "), "{err}");
    assert!(
        err.contains("  expected: the end of the trace (the recorded run stopped here without exiting: it trapped or was killed, or the trace was cut)\n"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    // A trace cut inside its header is no trace at all.
    std::fs::write(&cut, &full[..10]).unwrap();
    let r = run(wasm_rr().arg("replay").arg(&app).arg(&cut), None);
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr(),
        format!(
            "wasm-rr: error: {}: not a wasm-rr trace (bad header: the header is cut off)\n",
            cut.display()
        )
    );
}

#[test]
fn corrupt_trace_is_a_clear_error() {
    let dir = scratch();
    let app = fixture("print_random");
    assert_eq!(record(dir.path(), &app, &[], &[], None).code, Some(0));
    let trace = load(&dir.path().join("wasm-rr-trace.cbor"));
    let mut bytes = Vec::new();
    wasm_rr_trace::encode_header(&trace.header, &mut bytes);
    let mut blocks = wasm_rr_trace::BlockWriter::new(None);
    blocks.push(&trace.events[0]);
    blocks.finish_block(&mut bytes);
    let offset = bytes.len();
    blocks.push(&trace.events[1]);
    blocks.finish_block(&mut bytes);
    // One flipped bit in the second block's data.
    *bytes.last_mut().unwrap() ^= 0x10;
    let bad = dir.path().join("bad.cbor");
    std::fs::write(&bad, &bytes).unwrap();
    for cmd in [
        &["replay", app.to_str().unwrap()][..],
        &["convert"][..],
        &["show"][..],
    ] {
        let mut c = wasm_rr();
        c.args(cmd).arg(&bad);
        if cmd == ["convert"] {
            c.arg(dir.path().join("out.json"));
        }
        let r = run(&mut c, None);
        assert_eq!(r.code, Some(2), "{cmd:?}");
        assert!(
            r.stderr().starts_with(&format!(
                "wasm-rr: error: {}: the trace is corrupt: block 1 at byte {offset}: its checksum does not match",
                bad.display()
            )),
            "{cmd:?}: {}",
            r.stderr()
        );
        assert_eq!(r.stderr().lines().count(), 1, "{}", r.stderr());
    }
    assert!(!dir.path().join("out.json").exists());
}

#[test]
fn divergence_reports_index_expected_actual_and_recent_events() {
    let dir = scratch();
    let app = fixture("random_loop");
    assert_eq!(record(dir.path(), &app, &[], &["3"], None).code, Some(0));
    let mut trace = load(&dir.path().join("wasm-rr-trace.cbor"));
    let second = trace
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.is::<random::GetRandomU64>())
        .nth(1)
        .unwrap()
        .0;
    trace.events[second] = clocks::MonotonicClockNow {}.into_event(42);
    let r = replay_edited(dir.path(), &app, &trace);
    assert_eq!(r.code, Some(1));
    let err = r.stderr();
    let expected_head = format!(
        "wasm-rr: replay diverged at event {second}\n  expected: wasi:clocks/monotonic-clock.now()\n  actual:   wasi:random/random.get-random-u64()\n  last events:\n"
    );
    assert!(err.starts_with(&expected_head), "{err}");
    assert!(
        err.contains(&format!(
            "    #{} wasi:random/random.get-random-u64() -> ",
            second - 1
        )),
        "{err}"
    );
}

#[test]
fn bad_inputs_give_one_line_errors() {
    let dir = scratch();
    let missing = dir.path().join("missing.wasm");
    let r = run(
        wasm_rr().arg("wrap").arg(&missing).args(["-o", "x.wasm"]),
        None,
    );
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr().starts_with(&format!(
            "wasm-rr: error: cannot read {}: ",
            missing.display()
        )),
        "{}",
        r.stderr()
    );

    let not_wasm = dir.path().join("not.wasm");
    std::fs::write(&not_wasm, b"hello").unwrap();
    let r = run(
        wasm_rr().arg("wrap").arg(&not_wasm).args(["-o", "x.wasm"]),
        None,
    );
    assert_eq!(
        r.stderr(),
        format!(
            "wasm-rr: error: cannot wrap {}: it is not a valid WebAssembly component: it does not start with the WebAssembly component header\n",
            not_wasm.display()
        )
    );

    let r = run(
        wasm_rr()
            .current_dir(dir.path())
            .arg("replay")
            .arg(fixture("print_time")),
        None,
    );
    assert_eq!(
        r.stderr(),
        "wasm-rr: error: no trace given, and neither wasm-rr-trace.cbor nor wasm-rr-trace.json is in this directory\n"
    );

    let trace = dir.path().join("t.cbor");
    std::fs::write(&trace, b"").unwrap();
    let r = run(wasm_rr().arg("convert").arg(&trace).arg("t.txt"), None);
    assert_eq!(
        r.stderr(),
        "wasm-rr: error: cannot tell the format of t.txt from its extension (use .cbor or .json)\n"
    );
    let r = run(wasm_rr().arg("show").arg(&trace), None);
    assert_eq!(
        r.stderr(),
        format!("wasm-rr: error: {}: the trace is empty\n", trace.display())
    );

    // The recording policy: only for recording components, and only sizes that mean something.
    let app = fixture("print_time");
    let out = dir.path().join("out.wasm");
    let r = run(
        wasm_rr()
            .arg("wrap")
            .arg(&app)
            .args(["--replay", "t.cbor", "--sample", "10", "-o"])
            .arg(&out),
        None,
    );
    assert_eq!(
        (r.code, r.stderr()),
        (Some(2), "wasm-rr: error: --sample, --max-traces, --max-trace-bytes, --when-full and --output-bytes are for recording components, not with --replay\n".to_string())
    );
    for (flags, error) in [
        (
            ["--max-trace-bytes", "2 parsecs"],
            "error: invalid value '2 parsecs' for '--max-trace-bytes <SIZE>': ",
        ),
        (
            ["--sample", "0"],
            "error: invalid value '0' for '--sample <N>': 0 is not in 1..=4294967295",
        ),
    ] {
        let r = run(
            wasm_rr()
                .arg("wrap")
                .arg(&app)
                .args(flags)
                .arg("-o")
                .arg(&out),
            None,
        );
        assert_eq!(r.code, Some(2));
        assert!(r.stderr().starts_with(error), "{}", r.stderr());
    }
    assert!(!out.exists());
}

#[test]
fn trace_json_is_the_same_data_model() {
    let dir = scratch();
    let app = fixture("print_time");
    assert_eq!(
        record(dir.path(), &app, &["--format", "json"], &[], None).code,
        Some(0)
    );
    let text = std::fs::read_to_string(dir.path().join("wasm-rr-trace.json")).unwrap();
    let trace = Trace::from_json(&text).unwrap();
    assert!(trace.events.last().unwrap().is::<cli::RunReturned>());
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["header"]["wasi"], "0.2.12");
    assert!(value["events"].as_array().unwrap().len() == trace.events.len());
}

#[test]
fn output_divergence_is_detected_by_length_and_hash() {
    let dir = scratch();
    let app = fixture("print_args");
    assert_eq!(record(dir.path(), &app, &[], &["a"], None).code, Some(0));
    let mut trace = load(&dir.path().join("wasm-rr-trace.cbor"));
    let (index, hash) = trace
        .events
        .iter_mut()
        .enumerate()
        .find_map(|(i, e)| Some((i, &mut e.get_mut::<streams::Write>()?.0.hash)))
        .unwrap();
    let real = hash.0;
    hash.0 ^= 1;
    let edited = dir.path().join("edited.cbor");
    std::fs::write(&edited, trace.to_bytes(None)).unwrap();
    let r = run(wasm_rr().arg("replay").arg(&app).arg(&edited), None);
    assert_eq!(r.code, Some(1));
    let len = "arg 0: print_args.wasm\n".len();
    assert!(
        r.stderr().starts_with(&format!(
            "wasm-rr: replay diverged at event {index}\n  expected: wasi:io/streams.output-stream.write(stdout, len={len}, hash={:016x})\n  actual:   wasi:io/streams.output-stream.write(stdout, len={len}, hash={real:016x})\n",
            real ^ 1
        )),
        "{}",
        r.stderr()
    );
    assert_eq!(r.stdout(), "", "no output after the divergence");
}

#[test]
fn large_stdin_reads_record_and_replay() {
    let dir = scratch();
    let app = fixture("read_stdin");
    let input: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let recorded = record(dir.path(), &app, &[], &[], Some(&input));
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert!(recorded.stdout().starts_with("read 200000 bytes\n"));
    let replayed = replay_embedded(dir.path(), &app, None);
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
    assert_eq!(replayed.stdout, recorded.stdout);
}

#[test]
fn record_refuses_wasm_rr_variables_for_the_guest() {
    let dir = scratch();
    let r = record(
        dir.path(),
        &fixture("print_args"),
        &["--env", "WASM_RR_TRACE=x.cbor"],
        &[],
        None,
    );
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr(),
        "wasm-rr: error: --env WASM_RR_TRACE=x.cbor: WASM_RR_* variables configure the recorder; name the trace with -t\n"
    );
}

#[test]
fn show_into_a_closed_pipe_is_not_an_error() {
    let dir = scratch();
    let app = fixture("random_loop");
    assert_eq!(
        record(dir.path(), &app, &[], &["50000"], None).code,
        Some(0)
    );
    let mut child = wasm_rr()
        .arg("show")
        .arg(dir.path().join("wasm-rr-trace.cbor"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end at once: 50,000 lines cannot fit in the pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn interrupted_recording_keeps_the_trace_so_far() {
    use std::io::{BufRead, BufReader};
    let dir = scratch();
    let app = fixture("prompt");
    let mut child = wasm_rr()
        .current_dir(dir.path())
        .arg("record")
        .arg(&app)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the app has printed `ready`, and then `waiting` on stderr (by when the trace
    // file holds the first write), and blocks on its stdin; then press Ctrl-C.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    line.clear();
    stderr.read_line(&mut line).unwrap();
    assert_eq!(line, "waiting\n");
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    // Keep the app's stdin open (`wait_with_output` would close it, and the app would go on).
    let stdin = child.stdin.take();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let stderr = rest;
    drop(stdin);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.starts_with("wasm-rr: interrupted; kept the "),
        "{stderr}"
    );
    let trace = load(&dir.path().join("wasm-rr-trace.cbor"));
    assert!(
        trace.events.iter().any(|e| e.is::<streams::Write>()),
        "{:?}",
        trace.events
    );
    // Replaying it prints `ready` again, then stops where the recording was interrupted.
    let r = replay_embedded(dir.path(), &app, None);
    assert_eq!(r.stdout(), "ready\n");
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr()
            .contains("expected: the end of the trace (the recorded run stopped here")
    );
}
