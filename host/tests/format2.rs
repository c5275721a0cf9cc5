//! Traces of format 2, recorded by wasm-rr 0.2, still replay: a trace of `wasi_apis` (every
//! intercepted function; `trace/tests/format2/wasi_apis.cbor`, with the component it was
//! recorded from and what it printed, in `fixtures/format2/`) replays on the embedded host and as
//! a self-replaying component on stock wasmtime, and `wasm-rr convert` upgrades it.

mod common;

use common::*;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn app() -> PathBuf {
    root().join("fixtures/format2/wasi_apis.wasm")
}

fn trace() -> PathBuf {
    root().join("trace/tests/format2/wasi_apis.cbor")
}

/// What the recording printed (the guest's own output).
fn recorded() -> Run {
    Run {
        stdout: std::fs::read(root().join("fixtures/format2/wasi_apis.stdout")).unwrap(),
        stderr: std::fs::read(root().join("fixtures/format2/wasi_apis.stderr")).unwrap(),
        code: Some(0),
    }
}

#[test]
fn a_format_2_trace_replays_on_the_embedded_host() {
    let dir = scratch();
    let replayed = replay_embedded(dir.path(), &app(), Some(&trace()));
    assert_eq!(replayed, recorded(), "{}", replayed.stderr());
}

#[test]
fn a_format_2_trace_replays_as_a_self_replaying_component() {
    let dir = scratch();
    assert_replays(dir.path(), &app(), &trace(), &recorded(), 2);
}

#[test]
fn convert_upgrades_a_format_2_trace() {
    let dir = scratch();
    let upgraded = dir.path().join("upgraded.cbor");
    let r = run(wasm_rr().arg("convert").arg(trace()).arg(&upgraded), None);
    assert_eq!(r.code, Some(0), "{}", r.stderr());
    let (old, new) = (load(&trace()), load(&upgraded));
    assert_eq!(old.header.format, 2);
    assert_eq!(new.header.format, wasm_rr_trace::FORMAT_VERSION);
    assert_eq!(new.events, old.events);
    let replayed = replay_embedded(dir.path(), &app(), Some(&upgraded));
    assert_eq!(replayed, recorded(), "{}", replayed.stderr());
    let shown = run(wasm_rr().arg("show").arg(trace()), None).stdout();
    assert!(
        shown.starts_with("trace format 2, recorded by wasm-rr 0.2.0\n"),
        "{shown}"
    );
}
