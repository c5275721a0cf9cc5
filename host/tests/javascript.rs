//! JavaScript on QuickJS (componentize-qjs 0.4.5), built twice: on the component model's async
//! ABI (its default build) and with `--sync`. Both record on the stock `wasmtime` CLI with its
//! default flags and on the embedded host, and replay byte for byte; componentize-qjs's `init`
//! export (its Wizer snapshot entry) passes through.

mod common;

use common::*;

fn round_trip(name: &str) {
    let dir = scratch();
    let app = fixture(name);
    let (recorded, trace) = record_on_wasmtime(
        dir.path(),
        &app,
        &["--env", "LANG=js"],
        &["arg1"],
        Some(b"typed\n"),
    );
    assert_printed(
        &recorded,
        &[
            "args [\"app.recording.wasm\",\"arg1\"]\n",
            "env [[\"LANG\",\"js\"]]\n",
            "stdin typed\n",
            "Date.now ",
            "Math.random 0.",
        ],
        name,
    );
    assert_replays(dir.path(), &app, &trace, &recorded, 2);
    let (_, exports) = world_of(&dir.path().join("app.replay.wasm"));
    assert!(exports.iter().any(|e| e == "init"), "{exports:?}");
}

#[test]
fn js_on_the_async_abi_records_and_replays_on_default_flags() {
    round_trip("js_app_async");
}

#[test]
fn js_sync_build_records_and_replays() {
    round_trip("js_app_sync");
}

#[test]
fn wrap_says_an_async_abi_guest_needs_the_default_flags() {
    let dir = scratch();
    for (name, note) in [("js_app_async", true), ("js_app_sync", false)] {
        let out = dir.path().join(format!("{name}.wasm"));
        let r = run(
            wasm_rr().arg("wrap").arg(fixture(name)).arg("-o").arg(&out),
            None,
        );
        assert_eq!(r.code, Some(0), "{}", r.stderr());
        assert_eq!(
            r.stderr().contains("uses the component model's async ABI: run it with wasmtime's default settings (not `-S p3=n -W concurrency-support=n`, which cannot run it)"),
            note,
            "{name}: {}",
            r.stderr()
        );
    }
}

#[test]
fn the_embedded_host_runs_async_abi_guests() {
    let dir = scratch();
    let app = fixture("js_app_async");
    let recorded = record_embedded(dir.path(), &app, &[], &["x"], Some(b"in\n"));
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    assert!(recorded.stdout().contains("stdin in\n"));
    let replayed = replay_embedded(dir.path(), &app, None);
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr());
    assert_eq!(replayed.stdout, recorded.stdout);
}
