//! End to end on the stock `wasmtime` CLI: wrap, record with `wasmtime run --dir …::/wasm-rr`,
//! build the self-replaying component, replay it with no stdin, env, args or flags.

mod common;

use common::*;
use wasm_rr_trace::{Request, StreamId, cli, clocks, random, streams};

/// Records `name` and replays it twice; both replays must match the recording byte for byte
/// (stdout, stderr and exit status).
fn round_trip(
    name: &str,
    flags: &[&str],
    args: &[&str],
    stdin: Option<&[u8]>,
) -> (Run, wasm_rr_trace::Trace) {
    let dir = scratch();
    let app = fixture(name);
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, flags, args, stdin);
    assert_replays(dir.path(), &app, &trace, &recorded, 2);
    (recorded, load(&trace))
}

#[test]
fn print_time_replays_the_recorded_clock() {
    let (run, trace) = round_trip("print_time", &[], &[], None);
    assert_eq!(run.code, Some(0));
    let Some((_, now)) = trace
        .events
        .iter()
        .find_map(|e| e.get::<clocks::WallClockNow>())
    else {
        panic!("no wall-clock reading in {:?}", trace.events);
    };
    assert!(
        run.stdout().starts_with(&format!(
            "wall clock: {}.{:09}\n",
            now.seconds, now.nanoseconds
        )),
        "{}",
        run.stdout()
    );
    assert!(
        trace.events.iter().any(
            |e| matches!(e.get::<clocks::SubscribeDuration>(), Some((c, _)) if c.when == 20_000_000)
        ),
        "the 20 ms sleep is logged: {:?}",
        trace.events
    );
}

#[test]
fn print_random_replays_every_random_interface() {
    let (run, trace) = round_trip("print_random", &[], &[], None);
    let value = trace
        .events
        .iter()
        .find_map(|e| Some(e.get::<random::GetRandomU64>()?.1.0))
        .expect("a random-u64 event");
    assert!(run.stdout().starts_with(&format!("random u64: {value}\n")));
    for wanted in [
        "get-random-bytes",
        "get-insecure-random-u64",
        "get-insecure-random-bytes",
        "insecure-seed",
    ] {
        assert!(
            trace.to_json().contains(&format!("\"{wanted}\"")),
            "no {wanted} event"
        );
    }
}

#[test]
fn print_args_replays_arguments_and_environment_without_them() {
    let (run, trace) = round_trip(
        "print_args",
        &["--env", "GREETING=hello", "--env", "WASM_RR_SECRET=hidden"],
        &["one", "two words"],
        None,
    );
    let out = run.stdout();
    assert!(out.contains("arg 1: one\narg 2: two words\n"), "{out}");
    assert!(out.contains("env GREETING=hello\n"), "{out}");
    assert!(
        !out.contains("WASM_RR"),
        "the guest must not see WASM_RR_* variables: {out}"
    );
    assert!(
        trace.events.contains(
            &cli::GetEnvironment {}.into_event(vec![("GREETING".into(), "hello".into())])
        ),
        "{:?}",
        trace.events
    );
}

#[test]
fn read_stdin_replays_input_it_is_not_given() {
    let input = b"first line\nsecond line\n";
    let (run, trace) = round_trip("read_stdin", &[], &[], Some(input));
    assert_eq!(run.stdout(), "read 23 bytes\nFIRST LINE\nSECOND LINE\n");
    assert_eq!(run.stderr(), "done reading\n");
    let reads: Vec<_> = trace
        .events
        .iter()
        .filter_map(|e| e.get::<streams::Read>())
        .filter(|(r, _)| r.stream == StreamId::STDIN)
        .map(|(_, result)| result.clone())
        .collect();
    let data: Vec<u8> = reads
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .flat_map(|b| b.0.clone())
        .collect();
    assert_eq!(data, input);
    assert_eq!(
        reads.last(),
        Some(&Err(wasm_rr_trace::StreamError::Closed)),
        "end of input is logged"
    );
}

#[test]
fn exit_code_is_replayed() {
    let (run, trace) = round_trip("exit_code", &[], &["7"], None);
    assert_eq!(run.code, Some(7));
    assert_eq!(run.stderr(), "this goes to stderr\n");
    assert_eq!(
        trace.events.last(),
        Some(&cli::ExitWithCode { code: 7 }.into_event(()))
    );
    let (run, trace) = round_trip("exit_code", &[], &["7", "std"], None);
    assert_eq!(run.code, Some(1));
    assert_eq!(
        trace.events.last(),
        Some(
            &cli::Exit {
                status: wasm_rr_trace::Status::Err
            }
            .into_event(())
        )
    );
}

#[test]
fn header_identifies_the_component() {
    let (_, trace) = round_trip("print_random", &[], &[], None);
    let app = std::fs::read(fixture("print_random")).unwrap();
    assert_eq!(
        trace.header.component_sha256,
        wasm_rr_trace::sha256_hex(&app)
    );
    assert_eq!(trace.header.wasi, "0.2.12");
    assert_eq!(trace.header.wasm_rr, env!("CARGO_PKG_VERSION"));
    assert!(
        trace
            .header
            .guest_imports
            .iter()
            .any(|i| i.starts_with("wasi:random/random@0.2.")),
        "{:?}",
        trace.header.guest_imports
    );
}

#[test]
fn self_replaying_component_imports_only_io_and_stdio() {
    let dir = scratch();
    let app = fixture("print_random");
    let (_, trace) = record_on_wasmtime(dir.path(), &app, &[], &[], None);
    let replaying = dir.path().join("replay.wasm");
    wrap(&app, &replaying, Some(&trace));
    let (imports, exports) =
        wasm_rr_composer::component_world(&std::fs::read(&replaying).unwrap()).unwrap();
    let mut imports = imports;
    imports.sort();
    assert_eq!(
        imports,
        [
            "wasi:cli/exit@0.2.12",
            "wasi:cli/stderr@0.2.12",
            "wasi:cli/stdout@0.2.12",
            "wasi:io/error@0.2.12",
            "wasi:io/poll@0.2.12",
            "wasi:io/streams@0.2.12",
        ]
    );
    assert!(exports.iter().any(|e| e.starts_with("wasi:cli/run@0.2.")));
}

#[test]
fn recording_without_the_preopen_stops_at_start_naming_the_flag() {
    let dir = scratch();
    let recording = dir.path().join("rec.wasm");
    wrap(&fixture("print_time"), &recording, None);
    let r = run(wasmtime().arg(&recording), None);
    assert_eq!(r.code, Some(1));
    assert_eq!(r.stdout(), "", "the guest must not run");
    assert_eq!(
        r.stderr(),
        "wasm-rr: no directory is preopened at /wasm-rr for the trace; add `--dir <host-dir>::/wasm-rr` to `wasmtime run`\n"
    );
}

#[test]
fn wasm_rr_trace_names_another_file_and_is_hidden() {
    let dir = scratch();
    let (run, default) = record_on_wasmtime(
        dir.path(),
        &fixture("print_args"),
        &["--env", "WASM_RR_TRACE=other.cbor"],
        &[],
        None,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr());
    assert!(!default.exists());
    let other = dir.path().join("traces/other.cbor");
    assert!(load(&other).events.len() > 2);
    assert!(!run.stdout().contains("WASM_RR_TRACE"), "{}", run.stdout());
}

#[test]
fn time_bomb_recorded_at_1337_explodes_again_in_replay() {
    // 2026-11-21 13:37:00 UTC.
    let at_1337 = 1_795_268_220u64;
    assert_eq!((at_1337 / 3600 % 24, at_1337 / 60 % 60), (13, 37));
    let dir = scratch();
    let app = fixture("time_bomb");
    let trace = dir.path().join("bug-at-1337.json");
    let recorded = run(
        wasm_rr()
            .args(["record", "--wall-clock", &at_1337.to_string(), "-t"])
            .arg(&trace)
            .arg(&app),
        None,
    );
    assert_eq!(recorded.code, Some(134), "{}", recorded.stderr());
    assert_eq!(recorded.stdout(), "checking the time: 13:37\n");
    assert!(recorded.stderr().contains("time bomb: it is 13:37"));
    // Nothing is lost at the trap: the panic message's write, its bytes and the flush are the
    // last events.
    let json = std::fs::read_to_string(&trace).unwrap();
    let t = wasm_rr_trace::Trace::from_json(&json).unwrap();
    let last = &t.events[t.events.len() - 3..];
    assert!(
        matches!(last[0].get::<streams::Write>(), Some((w, _)) if w.stream == StreamId::STDERR)
            && matches!(last[1].get::<streams::Wrote>(), Some((w, _)) if w.stream == StreamId::STDERR)
            && matches!(last[2].get::<streams::Flush>(), Some((f, _)) if f.stream == StreamId::STDERR),
        "{:?}",
        t.events
    );
    let stderr: Vec<u8> = t
        .events
        .iter()
        .filter_map(|e| e.get::<streams::Wrote>())
        .filter(|(w, _)| w.stream == StreamId::STDERR)
        .flat_map(|(w, _)| w.data.0.clone())
        .collect();
    assert!(
        String::from_utf8_lossy(&stderr).contains("time bomb: it is 13:37"),
        "{}",
        String::from_utf8_lossy(&stderr)
    );

    // Replayed "any time" later, on the embedded host and on stock wasmtime.
    let replayed = run(wasm_rr().arg("replay").arg(&app).arg(&trace), None);
    assert_eq!(replayed.code, Some(134));
    assert_eq!(replayed.stdout, recorded.stdout);
    assert!(replayed.stderr().contains("panicked"));
    assert!(replayed.stderr().contains("time bomb: it is 13:37"));
    let stock = replay_on_wasmtime(dir.path(), &app, &trace);
    assert_eq!(stock.code, Some(134));
    assert_eq!(stock.stdout, recorded.stdout);
    assert!(stock.stderr().contains("time bomb: it is 13:37"));
}

#[test]
fn mixed_wasi_versions_are_all_intercepted_and_other_exports_pass_through() {
    let dir = scratch();
    let wat = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/wat/mixed_versions.wat"
    );
    let app = dir.path().join("mixed_versions.wasm");
    std::fs::write(&app, wat::parse_file(wat).unwrap()).unwrap();
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, &[], &[], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    let t = load(&trace);
    assert_eq!(
        t.header.guest_imports,
        [
            "wasi:random/random@0.2.0",
            "wasi:clocks/monotonic-clock@0.2.3",
            "wasi:random/insecure@0.2.12"
        ]
    );
    let calls: Vec<String> = t.events.iter().map(|e| e.call.to_string()).collect();
    assert_eq!(
        calls,
        [
            "wasi:random/random.get-random-u64()",
            "wasi:clocks/monotonic-clock.now()",
            "wasi:random/insecure.get-insecure-random-u64()",
            "wasi:cli/run.run returned ok"
        ]
    );
    assert_eq!(replay_on_wasmtime(dir.path(), &app, &trace), recorded);

    // The export beside `wasi:cli/run` is passed through, by both wrapped components.
    for wrapped in ["app.recording.wasm", "app.replay.wasm"] {
        let bytes = std::fs::read(dir.path().join(wrapped)).unwrap();
        let (_, exports) = wasm_rr_composer::component_world(&bytes).unwrap();
        assert_eq!(
            exports,
            ["wasi:cli/run@0.2.3", "example:extra/answers"],
            "{wrapped}"
        );
    }
}

#[test]
fn every_intercepted_function_replays() {
    let input = b"0123456789abcdefghijklmnopqrstuvwxyz\n";
    let (run, trace) = round_trip("wasi_apis", &["--env", "K=V"], &["x"], Some(input));
    assert_eq!(run.code, Some(0), "{}", run.stderr());
    let out = run.stdout();
    assert!(out.contains("poll (1 ms, 1 h): [0]\n"), "{out}");
    assert!(out.contains("1 h ready: false\n"), "{out}");
    assert!(out.contains("stdin blocking-read 5: Ok(["), "{out}");
    assert!(out.contains("stdin end: \"closed\"\n"), "{out}");
    assert_eq!(run.stderr(), "to stderr\n");
    let json = trace.to_json();
    for event in [
        "get-arguments",
        "get-environment",
        "initial-cwd",
        "get-terminal-stdin",
        "get-terminal-stdout",
        "get-terminal-stderr",
        "wall-clock-now",
        "wall-clock-resolution",
        "monotonic-clock-now",
        "monotonic-clock-resolution",
        "subscribe-instant",
        "subscribe-duration",
        "poll",
        "pollable-ready",
        "pollable-block",
        "get-random-bytes",
        "get-random-u64",
        "get-insecure-random-bytes",
        "get-insecure-random-u64",
        "insecure-seed",
        "read",
        "skip",
        "check-write",
        "write",
        "flush",
        "run-returned",
    ] {
        assert!(
            json.contains(&format!("\"{event}\"")),
            "no {event} event in {json}"
        );
    }
    for op in [
        "write",
        "blocking-write-and-flush",
        "write-zeroes",
        "blocking-write-zeroes-and-flush",
    ] {
        assert!(
            json.contains(&format!("\"op\":\"{op}\"")),
            "no {op} write in {json}"
        );
    }
}

#[test]
fn broken_wasi_rules_trap_alike_in_recording_and_replay() {
    for (mode, message) in [
        (
            "big-write",
            "wasm-rr: the guest broke a WASI rule: blocking-write-and-flush was given 5000 bytes; WASI allows at most 4096\n",
        ),
        (
            "empty-poll",
            "wasm-rr: the guest broke a WASI rule: poll was called with an empty list\n",
        ),
    ] {
        let dir = scratch();
        let app = fixture("misuse");
        let (recorded, trace) = record_on_wasmtime(dir.path(), &app, &[], &[mode], None);
        assert_eq!(recorded.code, Some(134), "{mode}: {}", recorded.stderr());
        assert!(
            recorded.stderr().starts_with(message),
            "{mode}: {}",
            recorded.stderr()
        );
        // Everything before the trap is in the trace.
        let t = load(&trace);
        assert!(
            t.events.iter().any(|e| e.is::<random::GetRandomU64>()),
            "{mode}"
        );
        let replayed = replay_on_wasmtime(dir.path(), &app, &trace);
        assert_eq!(replayed.code, Some(134), "{mode}");
        assert_eq!(replayed.stdout, recorded.stdout, "{mode}");
        assert!(
            replayed.stderr().starts_with(message),
            "{mode}: {}",
            replayed.stderr()
        );
    }
    let (run, _) = round_trip("misuse", &[], &["orphan-pollable"], Some(b"input"));
    assert_eq!(run.code, Some(0), "{}", run.stderr());
    assert!(run.stdout().ends_with("waited on an orphan pollable\n"));
}

#[test]
fn a_component_that_exports_nothing_is_refused() {
    let dir = scratch();
    let app = dir.path().join("library.wasm");
    std::fs::write(&app, wat::parse_str("(component)").unwrap()).unwrap();
    let r = run(
        wasm_rr()
            .arg("wrap")
            .arg(&app)
            .arg("-o")
            .arg(dir.path().join("out.wasm")),
        None,
    );
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr(),
        format!(
            "wasm-rr: error: cannot wrap {}: it exports no function: neither `wasi:cli/run`, `wasi:http/incoming-handler` nor a library's functions, so nothing could run it\n",
            app.display()
        )
    );
}

/// Wraps `app` for recording with `wrap_flags` into `dir`; returns a function that runs it on
/// stock wasmtime writing the trace `name` into `dir/traces`.
fn recording_with(dir: &std::path::Path, app: &str, wrap_flags: &[&str]) -> impl Fn(&str) -> Run {
    let (recording, traces) = wrap_for_recording(dir, &fixture(app), wrap_flags);
    move |name: &str| {
        let env = format!("WASM_RR_TRACE={name}");
        run_recording(&recording, &traces, &["--env", &env], &["x"])
    }
}

/// The names of `dir`'s entries, sorted.
fn files_in(dir: &std::path::Path) -> Vec<String> {
    dir_entries(dir)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_sampled_out_run_passes_through_and_writes_no_trace() {
    let dir = scratch();
    let record = recording_with(dir.path(), "print_args", &["--sample", "4294967295"]);
    let r = record("t.cbor");
    assert_eq!(r.code, Some(0), "{}", r.stderr());
    // The app sees what it would see without wasm-rr, and says nothing about it.
    assert!(r.stdout().contains("x"), "{}", r.stdout());
    assert_eq!(r.stderr(), "");
    assert!(files_in(&dir.path().join("traces")).is_empty());
}

#[test]
fn a_byte_cap_on_the_trace_directory_pauses_recording_until_there_is_room() {
    let dir = scratch();
    let traces = dir.path().join("traces");
    let record = recording_with(dir.path(), "print_args", &["--max-trace-bytes", "1"]);
    let first = record("t1.cbor");
    assert_eq!(first.stderr(), "");
    let size = std::fs::metadata(traces.join("t1.cbor")).unwrap().len();
    let second = record("t2.cbor");
    assert_eq!(second.code, Some(0));
    assert_eq!(second.stdout(), first.stdout());
    assert_eq!(
        second.stderr(),
        format!(
            "wasm-rr: warning: the trace directory /wasm-rr is full (1 trace, {size} bytes; --max-trace-bytes 1): new runs and requests pass through unrecorded until traces are taken away (said once until then)\n"
        )
    );
    assert_eq!(record("t3.cbor").stderr(), "", "said once");
    assert_eq!(files_in(&traces), [".wasm-rr-full", "t1.cbor"]);
    // Room again: the next run is recorded, and a later fill would be said again.
    std::fs::remove_file(traces.join("t1.cbor")).unwrap();
    assert_eq!(record("t4.cbor").stderr(), "");
    assert_eq!(files_in(&traces), ["t4.cbor"]);
    assert!(load(&traces.join("t4.cbor")).events.len() > 2);
}
