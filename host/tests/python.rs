//! A Python program built with componentize-py (which imports `wasi:sockets` and
//! `wasi:filesystem` even when the program opens no socket) records on the stock `wasmtime` CLI
//! and replays byte for byte; componentize-py's extra export passes through.

mod common;

use common::*;

#[test]
fn python_guest_records_and_replays_byte_identical() {
    let dir = scratch();
    let app = fixture("python_app");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("input.txt"), "read by Python\n").unwrap();
    let preopen = format!("{}::data", data.display());
    let (recorded, trace) = record_on_wasmtime(
        dir.path(),
        &app,
        &["--dir", &preopen, "--env", "COLOR=blue"],
        &["one", "two"],
        Some(b"from stdin\n"),
    );
    assert_eq!(recorded.code, Some(0), "{}", recorded.stderr());
    let out = recorded.stdout();
    for line in [
        "args ['app.recording.wasm', 'one', 'two']\n",
        "env [('COLOR', 'blue')]\n",
        "cwd /\n",
        "file read by Python\n",
        "stdin from stdin\n",
    ] {
        assert!(out.contains(line), "no {line:?} in:\n{out}");
    }
    let header = load(&trace).header;
    assert!(
        header
            .guest_imports
            .iter()
            .any(|i| i.starts_with("wasi:sockets/tcp@")),
        "{:?}",
        header.guest_imports
    );
    std::fs::remove_dir_all(&data).unwrap();
    assert_eq!(replay_on_wasmtime(dir.path(), &app, &trace), recorded);
    // componentize-py's `exports` export is still there.
    let replaying = std::fs::read(dir.path().join("app.replay.wasm")).unwrap();
    let (_, exports) = wasm_rr_composer::component_world(&replaying).unwrap();
    assert!(exports.iter().any(|e| e == "exports"), "{exports:?}");
}
