//! WASI 0.3 components (built with the `wasip3` crate on `wasm32-wasip2`, so they import
//! `wasi:*@0.3.2` beside the standard library's `@0.2.6`): their 0.3 imports go through the
//! generic path, their async `wasi:cli/run@0.3.2` through a run wrapper made at wrap time.

mod common;

use common::*;
use std::path::Path;

/// The lines of `wasm-rr show TRACE` that are events of `interface` (`wasi:random/random`).
fn events_of(trace: &Path, interface: &str) -> Vec<String> {
    let shown = run(wasm_rr().arg("show").arg(trace), None);
    assert_eq!(shown.code, Some(0), "{}", shown.stderr());
    shown
        .stdout()
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(_, rest)| rest.to_string()))
        .filter(|l| l.starts_with(&format!("{interface}.")))
        .collect()
}

/// The number printed after `label` on a line of `out` (`random u64: 123`).
fn printed<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{out}"))
}

#[test]
fn a_wasi_p3_command_records_on_stock_wasmtime_and_replays_byte_identical() {
    let dir = scratch();
    let app = fixture("p3_command");
    let (recorded, trace) = record_on_wasmtime(
        dir.path(),
        &app,
        &["--env", "P3_GREETING=hello"],
        &["one", "two"],
        None,
    );
    assert_printed(
        &recorded,
        &[
            "args: [\"app.recording.wasm\", \"one\", \"two\"]\n",
            "env: [(\"P3_GREETING\", \"hello\")]\n",
            "(at least 20 ms: true)\n",
        ],
        "the recording",
    );
    let out = recorded.stdout();
    // The trace holds the 0.3 calls, with what the host answered.
    assert_eq!(
        events_of(&trace, "wasi:random/random"),
        [
            format!(
                "wasi:random/random.get-random-u64() -> {}",
                printed(&out, "random u64: ")
            ),
            format!(
                "wasi:random/random.get-random-bytes(8) -> {}",
                printed(&out, "random bytes: ")
            ),
        ]
    );
    let clocks = events_of(&trace, "wasi:clocks/monotonic-clock");
    assert_eq!(clocks.len(), 3, "{clocks:?}");
    assert_eq!(clocks[1], "wasi:clocks/monotonic-clock.wait-for(20000000)");
    assert_eq!(
        events_of(&trace, "wasi:cli/environment")[0],
        "wasi:cli/environment.get-arguments() -> [\"app.recording.wasm\", \"one\", \"two\"]"
    );
    // Twice on stock wasmtime with no flags, env or args; then on the embedded one.
    assert_replays(dir.path(), &app, &trace, &recorded, 2);
    let embedded = replay_embedded(dir.path(), &app, Some(&trace));
    assert_eq!(embedded, recorded, "wasm-rr replay: {}", embedded.stderr());
    // The self-replaying component imports no WASI 0.3 interface.
    let (imports, _) = world_of(&dir.path().join("app.replay.wasm"));
    assert!(imports.iter().all(|i| !i.contains("@0.3")), "{imports:?}");
}

#[test]
fn wasm_rr_record_and_replay_run_a_wasi_p3_command_on_the_embedded_wasmtime() {
    let dir = scratch();
    let app = fixture("p3_command");
    let recorded = record_embedded(dir.path(), &app, &["--env", "P3_X=1"], &["x"], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    let out = recorded.stdout();
    assert!(
        out.starts_with("args: [\"p3_command.wasm\", \"x\"]\nenv: [(\"P3_X\", \"1\")]\n"),
        "{out}"
    );
    assert!(
        recorded
            .stderr()
            .contains("wasm-rr: recorded 43 events to wasm-rr-trace.cbor (exit status 0)"),
        "{}",
        recorded.stderr()
    );
    for _ in 0..2 {
        let replayed = replay_embedded(dir.path(), &app, None);
        assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
        assert_eq!(replayed.stdout, recorded.stdout);
    }
}

#[test]
fn the_order_in_which_concurrent_waits_finished_when_recording_is_replayed() {
    let dir = scratch();
    let app = fixture("p3_race");
    let (recorded, trace) = record_on_wasmtime(dir.path(), &app, &[], &[], None);
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    // The trace holds each wait where it finished, between the lines printed after it.
    let shown = run(wasm_rr().arg("show").arg(&trace), None).stdout();
    let order: Vec<&str> = shown
        .lines()
        .filter_map(|l| {
            if l.contains("wait-for(60000000)") || l.contains("wrote \"slow") {
                Some("slow")
            } else if l.contains("wait-for(10000000)") || l.contains("wrote \"fast") {
                Some("fast")
            } else {
                None
            }
        })
        .collect();
    let first = printed(&recorded.stdout(), "first: ")
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let second = if first == "slow" { "fast" } else { "slow" };
    assert_eq!(order, [first.as_str(), &first, second, second], "{shown}");
    assert_replays(dir.path(), &app, &trace, &recorded, 2);
}

#[test]
fn a_wasi_p3_stream_is_refused_in_one_line_naming_the_function() {
    let dir = scratch();
    let app = fixture("p3_stdout_stream");
    let out = dir.path().join("out.wasm");
    let r = try_wrap(&app, &out, None);
    assert_eq!(r.code, Some(2), "{}", r.stderr());
    assert_eq!(
        r.stderr(),
        format!(
            "wasm-rr: error: cannot wrap {}: it imports `wasi:cli/stdout@0.3.2`, which this version of wasm-rr cannot record: `write-via-stream` takes or returns a stream, which is not recorded generically yet\n",
            app.display()
        )
    );
    assert!(!out.exists());
}
